/**
 * A snapshot larger than one message goes in parts. A snapshot carries every entry the village
 * ever had, and stores refuse a message over 8 MiB: a village of 300 villagers reaches that in
 * about half a year, after which a new store (or a resync) could never be brought level. Now the
 * ledger sends such a snapshot in signed parts under one seq and the store applies it once it
 * holds them all; a snapshot that fits one message goes whole, as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { checkers, MAX_PAYLOAD_BYTES, type Envelope, type SnapshotBody } from '../../cloud-sync/protocol/payloads.ts';
import { catchUpStore, splitSnapshot } from '../../cloud-sync/ledger/catchup.ts';
import { putCatalogueProduct } from '../../cloud-sync/ledger/catalogue.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { SnapshotParts } from '../../cloud-sync/agent/snapshot-parts.ts';
import { CatchUp } from '../../cloud-sync/agent/catch-up.ts';
import { getProduct } from '../../edge/ledger/products.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { inboundSeq } from '../../edge/ledger/sync-state.ts';
import { addVillage, balanceOf, upsertVillager, villageSeq } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, tempLedgerDb, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

/** `n` awards to each villager, written straight into the ledger's table (as months of them would be). */
async function manyEntries(db: SqlDb, village: string, villagers: string[], n: number, reason: string): Promise<void> {
  const at = new Date().toISOString();
  const rows: unknown[][] = [];
  for (const v of villagers) for (let k = 0; k < n; k++) rows.push([`${v}-aw-${k}`, village, v, 'award', 1, reason, at, at]);
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const values = chunk.map((_, j) => `(${Array.from({ length: 8 }, (_, c) => `$${j * 8 + c + 1}`).join(', ')})`).join(', ');
    await db.run(`INSERT INTO entries (id, village, villager_id, kind, points, reason, created_at, received_at) VALUES ${values}`, chunk.flat());
  }
}

describe(`a snapshot in parts (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => { await rig?.close(); rig = undefined; });

  it('a village past 8 MiB brings a new store level: every entry, the balances, the catalogue', async () => {
    rig = await startRig();
    const villagers = Array.from({ length: 30 }, (_, i) => `p${i}`);
    for (const id of villagers) await rig.ledger.putVillager({ id, name: `村民${id}`, village: rig.village });
    // 36,000 entries with a long reason: about 12 MB of snapshot, as a village's half year.
    await manyEntries(rig.ledgerDb, rig.village, villagers, 1200, '清扫村内主干道两侧的垃圾并分类投放到指定地点，协助网格员完成防汛巡查和安全隐患排查登记工作'.repeat(2));
    await rig.ledger.publishOnStream(rig.village, 'product', { sku: 'oil', name: '花生油', price: 60, unit_g: 4600, tolerance_g: 100, active: true });
    const s = await rig.addStore();
    await waitFor('the store brought level', async () => inboundSeq(s.db) === await villageSeq(rig!.ledgerDb, rig!.village) && getVillager(s.db, 'p29')?.balance === 1200, 120_000);
    for (const id of villagers) expect(getVillager(s.db, id)?.balance).toBe(await balanceOf(rig.ledgerDb, id));
    expect(getProduct(s.db, 'oil')?.price).toBe(60);
    expect(Object.values(s.agent.state().refused).filter((n) => n > 0)).toEqual([]);
  }, 180_000);

  it('a forged part is refused and counted; the recorded parts published again are refused once, as replayed', async () => {
    rig = await startRig({ ledger: { snapshotBytes: { wholeMax: 1500, part: 600 } } });
    for (const id of ['a', 'b', 'c']) await rig.ledger.putVillager({ id, name: `村民${id}`, village: rig.village });
    await manyEntries(rig.ledgerDb, rig.village, ['a', 'b', 'c'], 10, '扫地');
    const name = uid('s');
    const address = { village: rig.village, store: name };
    // A spy records the parts as the broker carries them.
    const spy = new SyncMqtt({ url: rig.broker.url, clientId: uid('spy-'), persistentSession: false });
    const seen: Buffer[] = [];
    spy.on('message', (_t, p) => seen.push(Buffer.from(p)));
    const up = new Promise<void>((r) => spy.once('connect', () => r()));
    spy.start([storeTopic(address, 'down/snapshot')]);
    await up;
    const s = await rig.addStore(name);
    await waitFor('the store brought level', () => getVillager(s.db, 'c')?.balance === 10 && seen.length >= 2);
    const parts = seen.map((p) => JSON.parse(p.toString()) as Envelope);
    const count = (parts[0]!.body as SnapshotBody).part!.count;
    expect(count).toBeGreaterThan(2);
    for (const p of seen) expect(p.length).toBeLessThan(MAX_PAYLOAD_BYTES);

    const m = await publisher(rig);
    const topic = storeTopic(address, 'down/snapshot');
    const refused = () => s.agent.state().refused;
    // A part with its body changed: its signature no longer holds.
    const forged = structuredClone(parts[1]!);
    (forged.body as SnapshotBody).entries[0]!.points = 1000;
    await m.publish(topic, JSON.stringify(forged));
    await waitFor('the forged part refused', () => (refused().forged ?? 0) >= 1);
    // The whole recorded snapshot again, every part: gathered, then refused once as replayed.
    for (const p of seen.slice(0, count)) await m.publish(topic, p);
    await waitFor('the replayed snapshot refused', () => (refused().replayed ?? 0) >= 1);
    expect(getVillager(s.db, 'a')?.balance).toBe(10);
    await m.stop();
    await spy.stop();
  }, 60_000);
});

describe(`what a store gets, by what it says it accepts (${ledgerDbKind})`, () => {
  it('a store older than the catalogue and the parts (no `accepts`) gets its snapshot whole and without the catalogue', async () => {
    const { db, drop } = await tempLedgerDb();
    try {
      const v = uid('v');
      const signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
      await addVillage(db, v, '村', new Date().toISOString());
      await upsertVillager(db, { id: `${v}-a`, name: '甲', village: v, status: 'active' }, signer, new Date());
      await manyEntries(db, v, [`${v}-a`], 40, '扫地');
      await putCatalogueProduct(db, v, { sku: 'oil', name: '油', price: 5, unit_g: 500, tolerance_g: 10, active: true }, new Date().toISOString());
      const sent: Envelope[] = [];
      const deps = {
        db, signer, clock: () => new Date(), send: async (_t: string, p: string) => { sent.push(JSON.parse(p) as Envelope); },
        counters: { deltas: 0, snapshots: 0 }, maxDeltas: 1000, validForMs: 300_000, snapshotBytes: { wholeMax: 1500, part: 600 },
      };
      await catchUpStore(deps, v, 's1', 0, 'new');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.body).not.toHaveProperty('products');
      expect(sent[0]!.body).not.toHaveProperty('part');
      expect((sent[0]!.body as SnapshotBody).entries).toHaveLength(40);
      sent.length = 0;
      await catchUpStore(deps, v, 's1', 0, 'new', ['catalogue', 'parts', 'something-newer']);
      expect(sent.length).toBeGreaterThan(2);
      expect(sent.flatMap((e) => (e.body as SnapshotBody).products ?? [])).toEqual([expect.objectContaining({ sku: 'oil' })]);
      // A snapshot sent unasked later (a store behind for long) follows what the store last said.
      sent.length = 0;
      await catchUpStore(deps, v, 's1', 0, 'gap');
      expect(sent.length).toBeGreaterThan(2);
    } finally {
      await drop();
    }
  });
});

describe('splitting and joining a snapshot', () => {
  const body: SnapshotBody = {
    villagers: [{ id: 'a', name: '甲', village: 'v', status: 'active' }, { id: 'b', name: '乙', village: 'v', status: 'blocked' }],
    entries: Array.from({ length: 40 }, (_, i) => ({ id: `e${i}`, villager: i % 2 ? 'a' : 'b', kind: 'award' as const, points: i + 1, reference: null, reason: '扫地', created_at: '2026-12-01T08:00:00.000Z' })),
    products: [{ sku: 'oil', name: '油', price: 5, unit_g: 500, tolerance_g: 10, active: true, updated_at: '2026-12-01T08:00:00.000Z' }],
  };
  const asParts = (bodies: SnapshotBody[], of = 'snap-1', seq = 7): Envelope[] => bodies.map((b, index) => ({
    v: 1, id: `${of}:${index}`, key_id: 'ledger-1', kind: 'snapshot', village: 'v', store: 's', seq, issued_at: '2026-12-01T08:00:00.000Z', expires_at: '2026-12-08T08:00:00.000Z', body: { ...b, part: { of, index, count: bodies.length } },
  }));

  it('whole when it fits; else parts under the size, in any order, joined to the same body', () => {
    expect(splitSnapshot(body, { wholeMax: 1e6, part: 100 })).toEqual([body]);
    const bodies = splitSnapshot(body, { wholeMax: 1000, part: 500 });
    expect(bodies.length).toBeGreaterThan(3);
    for (const b of bodies) expect(JSON.stringify(b).length).toBeLessThan(700);
    const envs = asParts(bodies);
    for (const e of envs) expect(checkers.snapshot.Check(e.body)).toBe(true);
    const g = new SnapshotParts();
    const [first, ...rest] = envs;
    for (const e of rest.reverse()) expect(g.add(e).kind).toBe('held');
    expect(g.add(rest[0]!)).toEqual({ kind: 'held', duplicate: true });
    const whole = g.add(first!);
    expect(whole.kind).toBe('whole');
    const joined = (whole as { envelope: Envelope }).envelope;
    expect(joined).toMatchObject({ id: 'snap-1', seq: 7 });
    expect(joined.body).toEqual({ ...body, entries: body.entries });
    expect(g.holding).toBe(0);
  });

  it('a part that does not fit its snapshot is invalid; a snapshot never completed is pushed out by newer ones', () => {
    const g = new SnapshotParts();
    const envs = asParts(splitSnapshot(body, { wholeMax: 1000, part: 500 }));
    g.add(envs[0]!);
    expect(g.add({ ...envs[1]!, seq: 8 }).kind).toBe('invalid');
    g.add(asParts(splitSnapshot(body, { wholeMax: 1000, part: 500 }), 'snap-2')[0]!);
    g.add(asParts(splitSnapshot(body, { wholeMax: 1000, part: 500 }), 'snap-3')[0]!);
    expect(g.holding).toBe(2);
    // snap-1 was dropped: its remaining parts start it over and never complete it alone.
    for (const e of envs.slice(1)) expect(g.add(e).kind).toBe('held');
  });

  it('while parts arrive, the store waits for them rather than asking again from the start (parts slower than retransmit_ms)', () => {
    let now = 0;
    const asked: string[] = [];
    const c = new CatchUp({ clock: () => new Date(now), retransmitMs: 100, partWaitMs: 500, horizonMs: 1000, inboundSeq: () => 0, heldCount: () => 0, ask: (r) => asked.push(r.reason), check: () => {}, counters: { asked: 0, checked: 0, dropped: 0 } });
    c.onConnect();
    expect(asked).toEqual(['new']);
    // A part every 300 ms, three times retransmit_ms: a slow line.
    for (let part = 1; part <= 10; part++) {
      now = part * 300;
      c.onOutcome({ kind: 'part', seq: 5 }, 'snapshot');
      for (const after of [100, 200, 299]) {
        now = part * 300 + after;
        c.tick();
      }
    }
    expect(asked).toEqual(['new']);
    // The parts stop (one was lost): asked again once partWaitMs has passed since the last.
    now = 3000 + 499;
    c.tick();
    expect(asked).toEqual(['new']);
    now = 3000 + 500;
    c.tick();
    expect(asked).toEqual(['new', 'gap']);
  });
});
