/**
 * After `store-edge restore` the outbox hands out seqs again that rows of the old timeline had.
 * An ack for such an old row (applied late from the ledger's broker session, or a recorded ack
 * published again) named only `<store>:<seq>` and marked the new row of that seq acknowledged:
 * the sale never reached the ledger. The ack now names each row with a digest of its payload,
 * and the store marks a row only when its own payload has that digest; once it has had such acks,
 * one without digests (a recorded ack of an older ledger) is refused.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox, enqueueOutbox, markOutboxAcked, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { privateEd25519, rowDigest, signControl } from '../../cloud-sync/protocol/sign.ts';
import type { Ack } from '../../cloud-sync/protocol/payloads.ts';
import { ackedSeqs } from '../../cloud-sync/agent/rows.ts';
import { settleRollback } from '../../cloud-sync/agent/rollback.ts';
import { ackDigestsSeen, noteAckDigests, outboxRolledBackAt, setOutboxRolledBack } from '../../edge/ledger/sync-state.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import { tempLedger } from '../ledger/helpers.ts';

const at = () => new Date().toISOString();
const redeem = (s: TestStore, id: string, points: number) => applyEntry(s.db, { id, villagerId: 'zhang', kind: 'redemption', points: -points, reason: '超市兑换 / store purchase', origin: 'store' }, { creditFloor: 0 });
const rowsOf = (s: TestStore) => JSON.stringify(s.db.prepare('SELECT seq, acked_at IS NOT NULL AS acked, payload FROM outbox ORDER BY seq').all());

describe(`acks after a restore (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  async function storeWithSale(): Promise<{ s: TestStore; copy: string }> {
    const s = await rig.addStore();
    await waitFor('online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhang', kind: 'award', points: 100, reason: 'x', created_at: at() });
    await waitFor('award at the store', () => getVillager(s.db, 'zhang')?.balance === 100);
    redeem(s, uid('sess-0-'), 5);
    await waitFor('sess-0 acked', () => countOutbox(s.db).pending === 0);
    return { s, copy: (await backupLedger(s.db, path.join(s.dir, 'backups'), new Date())).file };
  }

  /** The new sale is still pending at the store, and reaches the ledger once it is back: zhang's balance there is `balance`. */
  async function newSaleReachesLedger(s: TestStore, balance: number): Promise<void> {
    expect(countOutbox(s.db).pending, rowsOf(s)).toBe(1);
    rig.startLedger();
    await waitFor('sess-C at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === balance, 15_000).catch(() => undefined);
    expect(await balanceOf(rig.ledgerDb, 'zhang'), rowsOf(s)).toBe(balance);
  }

  async function restore(s: TestStore, copy: string, discardUnsent: boolean): Promise<void> {
    await s.stop();
    const file = s.db.name;
    closeLedger(s.db);
    restoreCopy(copy, file, new Date(), { discardUnsent });
    s.db = openLedger(file);
  }

  it('rows of the old timeline queued at the broker, applied after the restore, do not swallow a new sale under the same seq', async () => {
    const { s, copy } = await storeWithSale();
    await rig.stopLedger(); // its broker session keeps what arrives
    const sentBefore = s.agent.counters.sent;
    redeem(s, uid('sess-A-'), 10);
    await waitFor('sess-A handed to the broker', () => s.agent.counters.sent > sentBefore);
    await restore(s, copy, true); // sess-A is at the broker already; only that row is given up here
    redeem(s, uid('sess-C-'), 40); // takes sess-A's seq
    await s.restart();
    await waitFor('store online', () => s.agent.state().connected);
    rig.startLedger();
    // Both sales reach the ledger: 100 - 5 - 10 - 40 = 45.
    await waitFor('sess-C at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 45, 15_000).catch(() => undefined);
    expect(await balanceOf(rig.ledgerDb, 'zhang'), rowsOf(s)).toBe(45);
    await waitFor('drained', () => countOutbox(s.db).pending === 0);
  }, 60_000);

  it('recorded acks published again after a restore do not mark a new, unsent row acknowledged', async () => {
    const acks: Buffer[] = [];
    const { s, copy } = await storeWithSale();
    const spy = new SyncMqtt({ url: rig.broker.url, clientId: uid('spy-'), persistentSession: false });
    const up = new Promise<void>((res) => spy.once('connect', () => res()));
    spy.on('message', (_t, p) => acks.push(Buffer.from(p)));
    spy.start([storeTopic({ village: rig.village, store: s.id }, 'down/ack')]);
    await up;
    redeem(s, uid('sess-A-'), 10);
    await waitFor('sess-A at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 85);
    await waitFor('drained and its ack recorded', () => countOutbox(s.db).pending === 0 && acks.length >= 1);
    await rig.stopLedger();
    await restore(s, copy, false);
    redeem(s, uid('sess-C-'), 40); // takes the seq sess-A had
    await s.restart();
    await waitFor('store online', () => s.agent.state().connected);
    const m = await publisher(rig);
    for (const a of acks) await m.publish(storeTopic({ village: rig.village, store: s.id }, 'down/ack'), a);
    await new Promise((res) => setTimeout(res, 500));
    await m.stop();
    await spy.stop();
    await newSaleReachesLedger(s, 45);
  }, 60_000);

  it("a recorded ack from a ledger older than digests, published again after a restore, marks nothing once the ledger's acks have had digests, even restored from a copy older than the first of them", async () => {
    const s = await rig.addStore();
    await waitFor('online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhang', kind: 'award', points: 100, reason: 'x', created_at: at() });
    await waitFor('award at the store', () => getVillager(s.db, 'zhang')?.balance === 100);
    // Taken before this store had any ack (as a copy from before the ledger sent digests).
    const copy = (await backupLedger(s.db, path.join(s.dir, 'backups'), new Date())).file;
    const acks: Ack[] = [];
    const spy = new SyncMqtt({ url: rig.broker.url, clientId: uid('spy-'), persistentSession: false });
    const up = new Promise<void>((res) => spy.once('connect', () => res()));
    spy.on('message', (_t, p) => acks.push(JSON.parse(p.toString()) as Ack));
    spy.start([storeTopic({ village: rig.village, store: s.id }, 'down/ack')]);
    await up;
    redeem(s, uid('sess-A-'), 10);
    await waitFor('drained and its ack recorded', () => countOutbox(s.db).pending === 0 && acks.length >= 1);
    await spy.stop();
    await rig.stopLedger();
    await restore(s, copy, false);
    expect(ackDigestsSeen(s.db)).toBe(true); // carried over from the replaced file
    redeem(s, uid('sess-C-'), 40); // takes the seq sess-A had
    await s.restart();
    await waitFor('store online', () => s.agent.state().connected);
    // What a ledger without digests signed for sess-A: the ids alone.
    const key = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    const scope = { village: rig.village, store: s.id };
    const m = await publisher(rig);
    const before = s.agent.refusals.get('replayed');
    for (const { ids, contiguous_seq: c } of acks) await m.publish(storeTopic(scope, 'down/ack'), JSON.stringify(signControl({ ids, contiguous_seq: c }, scope, key)));
    await waitFor('the old acks refused', () => s.agent.refusals.get('replayed') >= before + acks.length);
    await m.stop();
    await newSaleReachesLedger(s, 50);
  }, 60_000);
});

describe('which rows an ack acknowledges at the store', () => {
  it('with digests, only rows whose payload has the digest; without (an older ledger), every row named', () => {
    const l = tempLedger();
    try {
      const a = enqueueOutbox(l.db, 'product', { op: 'upsert', sku: 'oil', name: '油', price: 5 }, at());
      const b = enqueueOutbox(l.db, 'product', { op: 'upsert', sku: 'salt', name: '盐', price: 2 }, at());
      const ids = [`s1:${a}`, `s1:${b}`, 's1:999'];
      expect(ackedSeqs(l.db, 's1', { ids })).toEqual([a, b, 999]);
      // key order does not matter: the digest is over the canonical JSON
      const digests = [rowDigest({ price: 5, sku: 'oil', op: 'upsert', name: '油' }), rowDigest({ op: 'upsert', sku: 'salt', name: '盐', price: 3 }), rowDigest({})];
      expect(ackedSeqs(l.db, 's1', { ids, digests })).toEqual([a]);
      // a digest list that does not match the ids marks nothing
      expect(ackedSeqs(l.db, 's1', { ids, digests: digests.slice(1) })).toEqual([]);
      // once the ledger's acks have had digests, one without is refused (undefined), not read by id
      noteAckDigests(l.db);
      expect(ackedSeqs(l.db, 's1', { ids })).toBeUndefined();
      expect(ackedSeqs(l.db, 's1', { ids, digests })).toEqual([a]);
    } finally {
      l.cleanup();
    }
  });
});

describe("a beat at or below the restore's mark", () => {
  it('clears the mark only when fresh: after a greeting, old rows applied late still move the rows written since', () => {
    const l = tempLedger();
    try {
      const row = (sku: string) => enqueueOutbox(l.db, 'product', { op: 'upsert', sku, name: sku, price: 1 }, at());
      row('a');
      const mark = row('b');
      markOutboxAcked(l.db, mark, at());
      setOutboxRolledBack(l.db, mark); // restored: the copy's outbox had handed out up to `mark`
      const since = row('c'); // written since, under the seq an old row at the broker may have
      // The ledger's greeting (not fresh) at the mark: nothing moves, the mark stays.
      expect(settleRollback(l.db, mark, false, false)).toBeUndefined();
      expect(outboxRolledBackAt(l.db)).toBe(mark);
      // The old timeline's row of that seq applied late: the beat after it moves the row written since.
      expect(settleRollback(l.db, since, false, false)).toMatchObject({ rows: 1, old: [since] });
      expect(pendingOutbox(l.db).map((r) => r.seq)).toEqual([since + 1]);
      expect(outboxRolledBackAt(l.db)).toBeUndefined();
      // A fresh beat at or below a mark clears it.
      setOutboxRolledBack(l.db, since + 1);
      expect(settleRollback(l.db, since, false, true)).toBeUndefined();
      expect(outboxRolledBackAt(l.db)).toBeUndefined();
    } finally {
      l.cleanup();
    }
  });
});
