/**
 * A large snapshot applied in slices of whole villagers (edge/ledger/snapshot-slices.ts): the
 * same ledger as applied whole; refused before anything is written; interrupted after any
 * slice and applied again, level; sales at the store between slices.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { findBalanceMismatches, redeemAtExit } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { inTransaction, type Db } from '../../edge/ledger/db.ts';
import { applySnapshot, type Snapshot } from '../../edge/ledger/snapshot.ts';
import { applySnapshotInSlices, isSmallSnapshot } from '../../edge/ledger/snapshot-slices.ts';
import { isEdgeError, ErrorCode } from '../../edge/errors.ts';
import { tempLedger } from './helpers.ts';

const rules = { creditFloor: 0 };
const AT = '2026-12-01T08:00:00.000Z';
const names = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Six villagers, ten entries each, interleaved as the ledger's order has them; `d` also earns and spends. */
function village(): Snapshot {
  const snap: Snapshot = { villagers: names.map((id) => ({ id, name: `村民${id}`, village: '前进村', status: id === 'f' ? 'blocked' : 'active' })), entries: [] };
  for (let i = 0; i < 60; i++) {
    const villager = names[i % names.length]!;
    const penalty = villager === 'd' && i % 4 === 1;
    snap.entries.push({ id: `e${i}`, villager, kind: penalty ? 'penalty' : 'award', points: penalty ? -2 : 1 + (i % 5), reference: null, reason: '扫地', created_at: AT });
  }
  snap.products = [{ sku: 'oil', name: '花生油', price: 60, unit_g: 4600, tolerance_g: 100, active: true, updated_at: AT }];
  return snap;
}
const sumOf = (snap: Snapshot, id: string) => snap.entries.filter((e) => e.villager === id).reduce((a, e) => a + e.points, 0);
const entriesOf = (db: Db, id: string) => db.prepare('SELECT id, points, balance_after FROM entries WHERE villager_id = ? ORDER BY seq').all(id) as { id: string; points: number; balance_after: number }[];
const count = (db: Db, table: string) => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
/** Slices of at most `rows` rows of whole villagers: no time limit, so the test does not depend on the machine's speed. */
const bySize = (rows: number) => ({ sliceRows: rows, sliceMs: Number.POSITIVE_INFINITY });

let t: ReturnType<typeof tempLedger>;
let whole: ReturnType<typeof tempLedger>;
beforeEach(() => { t = tempLedger(); whole = tempLedger(); });
afterEach(() => { t.cleanup(); whole.cleanup(); });

describe('a snapshot applied in slices', () => {
  it('ends with the ledger the whole snapshot makes: balances, entries in their order per villager, statuses, catalogue; the last slice runs `last`', async () => {
    const snap = village();
    expect(isSmallSnapshot(snap, 22)).toBe(false);
    const lastRan: number[] = [];
    const r = await applySnapshotInSlices(t.db, snap, rules, { ...bySize(22), last: () => lastRan.push(count(t.db, 'entries')) });
    applySnapshot(whole.db, snap, rules);
    // Ten entries and a registry row per villager: two villagers to a slice of 22 rows, then the last.
    expect(r).toMatchObject({ villagers: 6, applied: 60, duplicates: 0, products: 1, slices: 4 });
    expect(lastRan).toEqual([60]);
    for (const id of names) {
      expect(getVillager(t.db, id)).toMatchObject({ balance: sumOf(snap, id), status: getVillager(whole.db, id)!.status, name: `村民${id}` });
      expect(entriesOf(t.db, id)).toEqual(entriesOf(whole.db, id));
    }
    expect(getVillager(t.db, 'f')!.status).toBe('blocked');
    expect(t.db.prepare("SELECT price FROM products WHERE sku = 'oil'").pluck().get()).toBe(60);
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('refuses the whole snapshot before writing anything: a bad entry at the very end, or an entry for a villager not known here', async () => {
    const bad = village();
    bad.entries.push({ id: 'bad', villager: 'a', kind: 'award', points: -5, reference: null, reason: null, created_at: AT });
    const err = await applySnapshotInSlices(t.db, bad, rules, bySize(20)).catch((e: unknown) => e);
    expect(isEdgeError(err) && err.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(String((err as Error).message)).toContain('#60');
    const stranger = village();
    stranger.entries.push({ id: 'x', villager: 'nobody', kind: 'award', points: 1, reference: null, reason: null, created_at: AT });
    const err2 = await applySnapshotInSlices(t.db, stranger, rules, bySize(20)).catch((e: unknown) => e);
    expect(isEdgeError(err2) && [err2.code, err2.zh]).toEqual([ErrorCode.UNKNOWN_VILLAGER, expect.stringContaining('nobody')]);
    expect([count(t.db, 'villagers'), count(t.db, 'entries'), count(t.db, 'products')]).toEqual([0, 0, 0]);
  });

  it('interrupted after any number of slices: every villager is whole or untouched, `last` has not run; applied again it ends level', async () => {
    const snap = village();
    let finished = false;
    for (let stopAt = 1; !finished; stopAt++) {
      const db = tempLedger();
      try {
        let turns = 0;
        const stop = new Error('killed');
        let lastRan = false;
        const r = await applySnapshotInSlices(db.db, snap, rules, { ...bySize(20), last: () => { lastRan = true; }, turn: async () => { if (++turns === stopAt) throw stop; } }).catch((e: unknown) => e);
        finished = r !== stop;
        if (!finished) {
          expect(lastRan).toBe(false);
          // No villager seen partly applied: each holds all its entries or none.
          for (const id of names) expect([0, 10]).toContain(entriesOf(db.db, id).length);
          const before = count(db.db, 'entries');
          const again = await applySnapshotInSlices(db.db, snap, rules, bySize(20));
          expect(again).toMatchObject({ applied: 60 - before, duplicates: before });
        }
        for (const id of names) expect(getVillager(db.db, id)?.balance).toBe(sumOf(snap, id));
        expect(findBalanceMismatches(db.db)).toEqual([]);
      } finally {
        db.cleanup();
      }
      expect(stopAt).toBeLessThan(20);
    }
  });

  it('sales between slices, for a villager whose slice is done and for one whose slice is not, keep every invariant; a shortfall made before its slice is repaid by it', async () => {
    // `d` is known here already with 5 points; the snapshot brings its ledger entries.
    addVillager(t.db, { id: 'd', name: '村民d', village: '前进村' });
    const snap = village();
    snap.entries.unshift({ id: 'd-old', villager: 'd', kind: 'award', points: 5, reference: null, reason: null, created_at: AT });
    applySnapshot(t.db, { villagers: [], entries: [snap.entries[0]!] }, rules);
    const sale = (id: string, villagerId: string, points: number) => inTransaction(t.db, 'a sale', () => redeemAtExit(t.db, { id, villagerId, points, origin: 'store', reference: `session:${id}` }, rules, AT));
    const sold: Record<string, ReturnType<typeof sale>> = {};
    const aDone = () => entriesOf(t.db, 'a').length === 10;
    await applySnapshotInSlices(t.db, snap, rules, {
      ...bySize(11),
      turn: async () => {
        if (!aDone() || sold.a) return;
        expect(entriesOf(t.db, 'd')).toHaveLength(1); // d's slice not done yet
        sold.a = sale('sale-a', 'a', 7);
        sold.d = sale('sale-d', 'd', 8); // 5 on hand: 5 charged, 3 of debt
      },
    });
    expect(sold.a).toMatchObject({ charged: 7, debt: 0 });
    expect(sold.d).toMatchObject({ charged: 5, debt: 3 });
    expect(getVillager(t.db, 'a')!.balance).toBe(sumOf(snap, 'a') - 7);
    // d: its old 5, the sale's -5, the snapshot's other entries, then the 3 of debt repaid from them.
    expect(getVillager(t.db, 'd')).toMatchObject({ balance: sumOf(snap, 'd') - 5 - 3, debt: 0 });
    for (const id of names) {
      let running = 0;
      for (const e of entriesOf(t.db, id)) expect(e.balance_after).toBe((running += e.points));
    }
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });
});
