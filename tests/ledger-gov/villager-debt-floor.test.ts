/**
 * A deduction that finds the villager at the store's credit floor charges 0 points and is all
 * debt. The store sends it up as an `entry` row of 0 points with its `debt`, and the ledger
 * records the debt (source `entry:<id>`), without an entry and without an event for the stream
 * (cloud-sync/ledger/debts.ts, docs/sync-offline.md "Debt at the ledger"). Here the rows a real
 * store ledger writes (edge/ledger/entries.ts) go to the village ledger as the sync sends them:
 * at every step the ledger owes what the store holds owed, each row counted once however often
 * and under whatever row id it comes, and another store's entry of that id adds nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRowBatches, applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { villagerDebt } from '../../cloud-sync/ledger/debts.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { markOutboxAcked, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { signer } from './store-clock-fixture.ts';

const AT = '2026-11-20T04:00:00.000Z';
const now = new Date('2026-11-20T04:01:00.000Z');
const rules = { creditFloor: 0, store: 'east' };

describe(`a deduction at the store's credit floor, at the ledger (${ledgerDbKind})`, () => {
  let ledger: Awaited<ReturnType<typeof tempLedgerDb>> | undefined;
  let store: Db | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (store) closeLedger(store);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await ledger?.drop();
    ledger = store = dir = undefined;
  });

  it('is owed at the ledger as at the store: 30 at the floor, counted once, repaid by an award to 0', async () => {
    ledger = await tempLedgerDb();
    const db = ledger.db;
    await addVillage(db, 'va', '前进村', AT);
    await db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1)", [AT]);
    for (const s of ['east', 'west']) await registerStore(db, 'va', s, `${s}-key`, 'unused here');
    dir = mkdtempSync(path.join(tmpdir(), 'debt-floor-'));
    const st = openLedger(path.join(dir, 'ledger.sqlite'));
    store = st;
    applySnapshot(st, { villagers: [{ id: 'zhang', name: '张三', village: 'va', status: 'active' }], entries: [] }, rules);
    /** The store's unacknowledged rows as the sync sends them, then acknowledged. */
    const drain = (): Row[] => {
      const rows = pendingOutbox(st, 1000).map((r) => ({ id: `east:${r.seq}`, seq: r.seq, topic: r.topic, payload: r.payload, created_at: r.createdAt }));
      markOutboxAcked(st, rows.at(-1)?.seq ?? 0, AT);
      return rows;
    };
    const owedHere = () => getVillager(st, 'zhang')!.debt;

    // the balance at the floor (0): a penalty of 30 charges nothing, all of it owed at the store
    expect(applyEntry(st, { id: 'pen-floor', villagerId: 'zhang', kind: 'penalty', points: -30, reason: '损坏货架', origin: 'admin' }, rules))
      .toMatchObject({ status: 'applied', debtAdded: 30, entry: { points: 0 } });
    expect(owedHere()).toBe(30);
    const sent = drain();
    expect(sent.map((r) => r.payload)).toEqual([expect.objectContaining({ id: 'pen-floor', kind: 'penalty', points: 0, debt: 30 })]);
    const res = await applyStoreRows(db, 'va', 'east', sent, signer, now);
    expect(res).toMatchObject({ ackIds: sent.map((r) => r.id), duplicates: 0, unapplied: [], clashes: [], events: [] });
    expect(await villagerDebt(db, 'va', 'zhang')).toEqual({ debt: 30, stores: [{ store: 'east', debt: 30 }] });
    // no entry of 0 at the ledger: the balance, the passbook and the stream are as they were
    expect(await db.query('SELECT id FROM entries')).toEqual([]);

    // sent twice (an ack lost), and again under a new row id (rows moved after a rollback): counted once
    expect((await applyStoreRows(db, 'va', 'east', sent, signer, now)).duplicates).toBe(1);
    const moved = sent.map((r) => ({ ...r, id: 'east:50', seq: 50 }));
    expect(await applyStoreRows(db, 'va', 'east', moved, signer, now)).toMatchObject({ unapplied: [], clashes: [], events: [] });
    // another store's entry under that id is another entry: a clash, its debt not counted
    const west = { ...sent[0]!, id: 'west:1', seq: 1, payload: { ...(sent[0]!.payload as object), debt: 99 } };
    expect((await applyStoreRows(db, 'va', 'west', [west], signer, now)).clashes).toEqual(['pen-floor']);
    expect(await villagerDebt(db, 'va', 'zhang')).toEqual({ debt: 30, stores: [{ store: 'east', debt: 30 }] });

    // an award of 30 from the ledger: the store repays all it holds owed, and says so
    expect(applyEntry(st, { id: 'aw-1', villagerId: 'zhang', kind: 'award', points: 30, origin: 'ledger', createdAt: AT }, rules))
      .toMatchObject({ status: 'applied', debtRepaid: { points: -30, reference: 'debt:aw-1' } });
    expect(owedHere()).toBe(0);
    const repaid = drain();
    expect(repaid.map((r) => r.payload)).toEqual([expect.objectContaining({ id: 'aw-1#debt@east', kind: 'redemption', points: -30 })]);
    await applyStoreRows(db, 'va', 'east', repaid, signer, now);
    expect(await villagerDebt(db, 'va', 'zhang')).toEqual({ debt: 0, stores: [] });
  });
});

/**
 * A floor deduction (`pen-7`: 0 points, debt 30) and a charged entry under the same id, in every
 * order the ledger can take them: in two calls, in one call (two batches), in one batch. From the
 * same store the charged one is that deduction paid in points (a store restored from an older
 * copy, the operator's retry `points penalty --id pen-7`): the entry is applied and the floor
 * debt no longer counts, whichever came first (a floor debt after the entry is reported, the
 * store then owing what the ledger charged). From another store it is a clash: the first to come
 * stands, the other is reported and not counted.
 */
describe(`a floor debt and a charged entry of one id, at the ledger (${ledgerDbKind})`, () => {
  let ledger: Awaited<ReturnType<typeof tempLedgerDb>> | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });
  const entryRow = (store: string, seq: number, points: number, debt?: number): Row => ({
    id: `${store}:${seq}`, seq, topic: 'entry', created_at: AT,
    payload: { id: 'pen-7', villager: 'zhang', kind: 'penalty', points, reason: '损坏货架', created_at: AT, ...(debt === undefined ? {} : { debt }) },
  });
  const floor = (store: string, seq: number) => ({ store, rows: [entryRow(store, seq, 0, 30)] });
  const charged = (store: string, seq: number, points = -30, debt?: number) => ({ store, rows: [entryRow(store, seq, points, debt)] });
  type Batch = { store: string; rows: Row[] };
  /** Each call's batches applied in one transaction; what each batch reported, and the ledger's state after all. */
  async function run(calls: Batch[][]) {
    ledger = await tempLedgerDb();
    const db = ledger.db;
    await addVillage(db, 'va', '前进村', AT);
    await db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1)", [AT]);
    for (const s of ['east', 'west']) await registerStore(db, 'va', s, `${s}-key`, 'unused here');
    const reports: { store: string; clashes: string[]; events: number }[] = [];
    for (const call of calls) {
      const res = await applyRowBatches(db, call.map((b) => ({ village: 'va', ...b })), signer, now);
      res.forEach((r, i) => reports.push({ store: call[i]!.store, clashes: r.clashes, events: r.events.length }));
    }
    const entries = (await db.query<{ origin_store: string; points: number | string }>("SELECT origin_store, points FROM entries WHERE id = 'pen-7'"))
      .map((e) => ({ store: e.origin_store, points: Number(e.points) }));
    return { reports, entries, debt: await villagerDebt(db, 'va', 'zhang') };
  }
  const paid = { entries: [{ store: 'east', points: -30 }], debt: { debt: 0, stores: [] } };

  describe('from the same store: the entry counts, the floor debt no longer', () => {
    it('floor debt first, then the entry (two calls)', async () => {
      expect(await run([[floor('east', 1)], [charged('east', 2)]])).toEqual({ ...paid, reports: [
        { store: 'east', clashes: [], events: 0 }, { store: 'east', clashes: [], events: 1 }] });
    });
    it('floor debt first, then the entry charging part of it (the rest owed)', async () => {
      expect(await run([[floor('east', 1)], [charged('east', 2, -10, 20)]])).toMatchObject({
        entries: [{ store: 'east', points: -10 }], debt: { debt: 20, stores: [{ store: 'east', debt: 20 }] } });
    });
    it('the entry first, then the floor debt (two calls): the floor debt reported, not counted', async () => {
      expect(await run([[charged('east', 1)], [floor('east', 2)]])).toEqual({ ...paid, reports: [
        { store: 'east', clashes: [], events: 1 }, { store: 'east', clashes: ['pen-7'], events: 0 }] });
    });
    it('floor debt first, then the entry, in one call', async () => {
      expect(await run([[floor('east', 1), charged('east', 2)]])).toEqual({ ...paid, reports: [
        { store: 'east', clashes: [], events: 0 }, { store: 'east', clashes: [], events: 1 }] });
    });
    it('the entry first, then the floor debt, in one call', async () => {
      expect(await run([[charged('east', 1), floor('east', 2)]])).toEqual({ ...paid, reports: [
        { store: 'east', clashes: [], events: 1 }, { store: 'east', clashes: ['pen-7'], events: 0 }] });
    });
    it('both in one batch, in either order', async () => {
      expect(await run([[{ store: 'east', rows: [...floor('east', 1).rows, ...charged('east', 2).rows] }]]))
        .toEqual({ ...paid, reports: [{ store: 'east', clashes: [], events: 1 }] });
      await ledger?.drop();
      expect(await run([[{ store: 'east', rows: [...charged('east', 1).rows, ...floor('east', 2).rows] }]]))
        .toEqual({ ...paid, reports: [{ store: 'east', clashes: ['pen-7'], events: 1 }] });
    });
    it('the floor debt sent again after the entry paid it adds nothing', async () => {
      const moved = { store: 'east', rows: [{ ...floor('east', 1).rows[0]!, id: 'east:9', seq: 9 }] };
      expect(await run([[floor('east', 1)], [charged('east', 2)], [moved]])).toMatchObject({ ...paid });
    });
  });

  describe('an award under a floor debt\'s id (the store restored, the id used again) does not pay it', () => {
    const award = (store: string, seq: number) => {
      const row = entryRow(store, seq, 30);
      return { store, rows: [{ ...row, payload: { ...(row.payload as Record<string, unknown>), kind: 'award' } }] };
    };
    it('in one call: the award is applied beside it, the debt stands', async () => {
      expect(await run([[floor('east', 1), award('east', 2)]])).toEqual({ entries: [{ store: 'east', points: 30 }], debt: { debt: 30, stores: [{ store: 'east', debt: 30 }] }, reports: [
        { store: 'east', clashes: [], events: 0 }, { store: 'east', clashes: [], events: 1 }] });
    });
    it('the award first, then the floor debt of its id: the floor debt is the clash, as after any entry', async () => {
      expect(await run([[award('east', 1)], [floor('east', 2)]])).toMatchObject({ entries: [{ store: 'east', points: 30 }], debt: { debt: 0, stores: [] } });
      await ledger?.drop();
      expect(await run([[award('east', 1), floor('east', 2)]])).toMatchObject({ entries: [{ store: 'east', points: 30 }], debt: { debt: 0, stores: [] } });
    });
    it('in a later call: the award is applied beside it, the debt stands', async () => {
      expect(await run([[floor('east', 1)], [award('east', 2)]])).toMatchObject({ entries: [{ store: 'east', points: 30 }], debt: { debt: 30, stores: [{ store: 'east', debt: 30 }] } });
    });
  });

  describe('from another store: a clash, the first to come stands', () => {
    const owed = { entries: [], debt: { debt: 30, stores: [{ store: 'east', debt: 30 }] } };
    const charges = { entries: [{ store: 'west', points: -30 }], debt: { debt: 0, stores: [] } };
    it("east's floor debt first, then west's entry (two calls)", async () => {
      expect(await run([[floor('east', 1)], [charged('west', 1)]])).toEqual({ ...owed, reports: [
        { store: 'east', clashes: [], events: 0 }, { store: 'west', clashes: ['pen-7'], events: 0 }] });
    });
    it("west's entry first, then east's floor debt (two calls)", async () => {
      expect(await run([[charged('west', 1)], [floor('east', 1)]])).toEqual({ ...charges, reports: [
        { store: 'west', clashes: [], events: 1 }, { store: 'east', clashes: ['pen-7'], events: 0 }] });
    });
    it("east's floor debt first, then west's entry, in one call", async () => {
      expect(await run([[floor('east', 1), charged('west', 1)]])).toEqual({ ...owed, reports: [
        { store: 'east', clashes: [], events: 0 }, { store: 'west', clashes: ['pen-7'], events: 0 }] });
    });
    it("west's entry first, then east's floor debt, in one call", async () => {
      expect(await run([[charged('west', 1), floor('east', 1)]])).toEqual({ ...charges, reports: [
        { store: 'west', clashes: [], events: 1 }, { store: 'east', clashes: ['pen-7'], events: 0 }] });
    });
  });
});
