/**
 * Hostile input: unsigned, forged, replayed, expired and invalid messages are refused and
 * counted by reason, and a fuzz of malformed or mutated messages on every subscribed topic
 * (both the store's and the ledger's) crashes nothing, is refused and counted one by one,
 * and changes no ledger.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getVillager } from '../../edge/ledger/villagers.ts';
import type { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { newKeyPair, privateEd25519, signControl, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { storeTopic, villageEventsTopic, type StoreLeaf } from '../../cloud-sync/protocol/topics.ts';
import type { Envelope } from '../../cloud-sync/protocol/payloads.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();
const later = (ms: number) => new Date(Date.now() + ms).toISOString();

const entryCount = (s: TestStore) => s.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;

describe(`refused messages (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  let s: TestStore;
  let m: SyncMqtt;
  beforeEach(async () => {
    rig = await startRig();
    s = await rig.addStore();
    await waitFor('store online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhao', name: '赵六', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-1', villager: 'zhao', kind: 'award', points: 20, created_at: at() });
    await waitFor('award applied', () => getVillager(s.db, 'zhao')?.balance === 20);
    m = await publisher(rig);
  });
  afterEach(async () => {
    await m.stop();
    await rig.close();
  });

  it('unsigned, forged, replayed, expired and invalid awards are each refused and counted', async () => {
    const key = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    const award = (over: Partial<Envelope> = {}, signWith = key): Envelope => signEnvelope({
      v: 1, id: uid('e'), kind: 'entry', village: rig.village, seq: 3, issued_at: at(), expires_at: later(60_000),
      body: { id: uid('aw-'), villager: 'zhao', kind: 'award', points: 1000, created_at: at() }, ...over,
    }, signWith);
    const { sig: _sig, ...unsigned } = award();
    const forgedByOther = award({}, privateEd25519('ledger-1', newKeyPair().privatePem));
    const tampered = { ...award(), body: { id: 'aw-t', villager: 'zhao', kind: 'award', points: 99999, created_at: at() } };
    const replayed = award({ seq: 1 });
    const expired = award({ issued_at: new Date(Date.now() - 2 * 86_400_000).toISOString(), expires_at: new Date(Date.now() - 86_400_000).toISOString() });
    const topic = villageEventsTopic(rig.village);
    for (const msg of [unsigned, forgedByOther, tampered, replayed, expired]) await m.publish(topic, JSON.stringify(msg));
    await m.publish(topic, '{"v":1,');
    await m.publish(topic, JSON.stringify({ ...award(), kind: 'payout' }));
    await waitFor('all seven refused', () => s.agent.refusals.total() === 7);
    expect(s.agent.refusals.toJSON()).toEqual({ unsigned: 1, forged: 2, replayed: 1, expired: 1, invalid: 2 });
    expect(getVillager(s.db, 'zhao')?.balance).toBe(20);
  });

  it('acks and beats that are unsigned, forged or signed for another store are refused; the row stays until the real ack', async () => {
    await rig.stopLedger();
    applyEntry(s.db, { id: 'red-ack', villagerId: 'zhao', kind: 'redemption', points: -5, origin: 'store' }, { creditFloor: 0 });
    const seq = countOutbox(s.db).pending > 0 ? (s.db.prepare('SELECT MAX(seq) FROM outbox').pluck().get() as number) : 0;
    expect(seq).toBeGreaterThan(0);
    const key = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    const here = { village: rig.village, store: s.id };
    const ack = { ids: [`${s.id}:${seq}`], contiguous_seq: seq };
    const beat = { village_seq: 0, contiguous_seq: seq, reason: 'heartbeat' as const };
    const bad = [
      ['down/ack', ack],
      ['down/ack', signControl(ack, here, privateEd25519('ledger-1', newKeyPair().privatePem))],
      ['down/ack', signControl(ack, { village: rig.village, store: 'another-store' }, key)],
      ['down/beat', beat],
      ['down/beat', { ...signControl(beat, here, key), contiguous_seq: seq + 100 }],
    ] as const;
    const before = s.agent.refusals.toJSON();
    for (const [leaf, msg] of bad) await m.publish(storeTopic(here, leaf), JSON.stringify(msg));
    await waitFor('all five refused', () => s.agent.refusals.total() - Object.values(before).reduce((a, b) => a + b, 0) === bad.length);
    expect(s.agent.refusals.get('unsigned') - before.unsigned).toBe(2);
    expect(s.agent.refusals.get('forged') - before.forged).toBe(3);
    expect(countOutbox(s.db).pending).toBe(1);
    rig.startLedger();
    await waitFor('the real ack', () => countOutbox(s.db).pending === 0);
    expect(await balanceOf(rig.ledgerDb, 'zhao')).toBe(15);
  });

  it('the ledger refuses rows from a store it does not know, unsigned rows, and rows signed with another key', async () => {
    const row = { id: 'ghost:1', seq: 1, topic: 'entry' as const, payload: { id: 'gr-1', villager: 'zhao', kind: 'redemption', points: -5, created_at: at() }, created_at: at() };
    const env = (store: string, signWith = privateEd25519('store', newKeyPair().privatePem)) => signEnvelope({ v: 1, id: uid('b'), kind: 'rows', village: rig.village, store, seq: 1, issued_at: at(), expires_at: later(60_000), body: { rows: [{ ...row, id: `${store}:1` }] } }, signWith);
    await m.publish(storeTopic({ village: rig.village, store: 'ghost' }, 'up/rows'), JSON.stringify(env('ghost')));
    await m.publish(storeTopic({ village: rig.village, store: s.id }, 'up/rows'), JSON.stringify(env(s.id)));
    const { sig: _sig, ...unsigned } = env(s.id, loadOrCreateStoreKey(s.dir, 'store'));
    await m.publish(storeTopic({ village: rig.village, store: s.id }, 'up/rows'), JSON.stringify(unsigned));
    await waitFor('three refused', () => rig.ledger.refusals.total() === 3);
    expect(rig.ledger.refusals.toJSON()).toMatchObject({ forged: 2, unsigned: 1 });
    expect(await balanceOf(rig.ledgerDb, 'zhao')).toBe(20);
  });

  it('fuzz: malformed and mutated messages on every subscribed topic are each refused and counted, and change nothing', async () => {
    const key = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    const [applied] = await rig.ledgerDb.query<{ envelope: string }>('SELECT envelope FROM events WHERE village = $1 ORDER BY seq LIMIT 1', [rig.village]);
    const base: Record<string, Envelope> = {
      events: JSON.parse(applied!.envelope) as Envelope,
      snapshot: signEnvelope({ v: 1, id: 'snap', kind: 'snapshot', village: rig.village, store: 'someone-else', seq: 99, issued_at: at(), expires_at: later(60_000), body: { villagers: [], entries: [] } }, key),
      rows: signEnvelope({ v: 1, id: 'rows', kind: 'rows', village: rig.village, store: s.id, seq: 1, issued_at: at(), expires_at: later(60_000), body: { rows: [{ id: `${s.id}:1`, seq: 1, topic: 'entry', payload: { id: 'fz', villager: 'zhao', kind: 'redemption', points: -1, created_at: at() }, created_at: at() }] } }, loadOrCreateStoreKey(s.dir, 'other')),
    };
    const mutated = (b: Envelope) => fc.tuple(fc.constantFrom(...Object.keys(b)), fc.jsonValue())
      .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify((b as Record<string, unknown>)[k]))
      .map(([k, v]) => Buffer.from(JSON.stringify({ ...b, [k]: v })));
    const garbage = fc.oneof(
      fc.string({ maxLength: 200 }).map((t) => Buffer.from(t)),
      fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    );
    const storeSide: Array<[string, fc.Arbitrary<Buffer>]> = [
      [villageEventsTopic(rig.village), fc.oneof(garbage, mutated(base.events!))],
      [storeTopic({ village: rig.village, store: s.id }, 'down/snapshot'), fc.oneof(garbage, mutated(base.snapshot!))],
      [storeTopic({ village: rig.village, store: s.id }, 'down/ack'), garbage],
      [storeTopic({ village: rig.village, store: s.id }, 'down/deltas'), garbage],
      [storeTopic({ village: rig.village, store: s.id }, 'down/beat'), garbage],
    ];
    const ledgerLeaves: StoreLeaf[] = ['up/rows', 'up/snapshot-request', 'status', 'heartbeat', 'alarms'];
    // an empty `alarms` payload is a retained list being removed, not a message: nothing to refuse
    const ledgerSide: Array<[string, fc.Arbitrary<Buffer>]> = ledgerLeaves.map((leaf) => [storeTopic({ village: rig.village, store: s.id }, leaf), leaf === 'up/rows' ? fc.oneof(garbage, mutated(base.rows!)) : leaf === 'alarms' ? garbage.filter((b) => b.length > 0) : garbage]);
    const PER_TOPIC = 500;
    const storeBefore = { refused: s.agent.refusals.total(), entries: entryCount(s), balance: getVillager(s.db, 'zhao')?.balance };
    const ledgerBefore = { refused: rig.ledger.refusals.total(), balance: await balanceOf(rig.ledgerDb, 'zhao'), rows: rig.ledger.counters.rows };
    let seed = 1;
    for (const [topic, arb] of [...storeSide, ...ledgerSide]) {
      for (const payload of fc.sample(arb, { numRuns: PER_TOPIC, seed: seed++ })) await m.publish(topic, payload);
    }
    // one oversized message, refused before parsing
    await m.publish(villageEventsTopic(rig.village), Buffer.alloc(8 * 1024 * 1024 + 1, 0x20));
    await waitFor('every store-side message refused', () => s.agent.refusals.total() - storeBefore.refused === storeSide.length * PER_TOPIC + 1, 120_000);
    await waitFor('every ledger-side message refused', () => rig.ledger.refusals.total() - ledgerBefore.refused === ledgerSide.length * PER_TOPIC, 120_000);
    expect({ entries: entryCount(s), balance: getVillager(s.db, 'zhao')?.balance }).toEqual({ entries: storeBefore.entries, balance: storeBefore.balance });
    expect(await balanceOf(rig.ledgerDb, 'zhao')).toBe(ledgerBefore.balance);
    expect(rig.ledger.counters.rows).toBe(ledgerBefore.rows);
    expect(s.agent.state().connected).toBe(true);
  }, 180_000);
});
