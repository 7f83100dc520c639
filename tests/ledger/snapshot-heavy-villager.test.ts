/**
 * A villager with more entries than a slice holds (edge/ledger/snapshot-slices.ts): the entries
 * are cut across slices, none over the slice's rows, and the ledger ends exactly as the whole
 * snapshot applied at once makes it (balances, entries and their balance_after, the debt and its
 * repayment); interrupted between any two slices, every balance is the sum of its entries, the
 * villager holds a prefix of its history, and applying again ends the same.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { findBalanceMismatches, redeemAtExit } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { inTransaction, type Db } from '../../edge/ledger/db.ts';
import { applySnapshot, type Snapshot } from '../../edge/ledger/snapshot.ts';
import { applySnapshotInSlices } from '../../edge/ledger/snapshot-slices.ts';
import { tempLedger } from './helpers.ts';

const rules = { creditFloor: 0 };
const AT = '2026-12-01T08:00:00.000Z';
const clock = () => new Date(AT);

/** `heavy` entries for `h` (awards, a penalty every seventh), between two light villagers, interleaved with them. */
function village(heavy: number): Snapshot {
  const snap: Snapshot = { villagers: ['a', 'h', 'b'].map((id) => ({ id, name: `村民${id}`, village: '前进村', status: 'active' as const })), entries: [] };
  for (let i = 0; i < heavy; i++) {
    const penalty = i % 7 === 3;
    snap.entries.push({ id: `h${i}`, villager: 'h', kind: penalty ? 'penalty' : 'award', points: penalty ? -4 : 1 + (i % 3), reference: null, reason: '扫地', created_at: AT });
    if (i % 50 === 0) snap.entries.push({ id: `a${i}`, villager: 'a', kind: 'award', points: 2, reference: null, reason: null, created_at: AT });
  }
  for (let i = 0; i < 5; i++) snap.entries.push({ id: `b${i}`, villager: 'b', kind: 'award', points: 3, reference: null, reason: null, created_at: AT });
  return snap;
}

/** `h` known here already, with 6 points of debt (a sale of 6 with nothing on hand), in each ledger alike. */
function withDebt(db: Db): void {
  addVillager(db, { id: 'h', name: '村民h', village: '前进村' }, clock);
  inTransaction(db, 'a sale', () => redeemAtExit(db, { id: 'sale-h', villagerId: 'h', points: 6, origin: 'store', reference: 'session:sale-h' }, rules, AT));
}

/** Everything a snapshot writes, in a form two ledgers can be compared by. */
function ledgerOf(db: Db) {
  return {
    villagers: db.prepare('SELECT id, name, village, status, balance, debt, updated_at FROM villagers ORDER BY id').all(),
    entries: db.prepare('SELECT id, villager_id, kind, points, balance_after, reference, reason, origin, created_at FROM entries ORDER BY villager_id, seq').all(),
  };
}
const ledgerRows = (db: Db) => db.prepare("SELECT (SELECT COUNT(*) FROM entries WHERE origin = 'ledger') + (SELECT COUNT(*) FROM villagers)").pluck().get() as number;
const bySize = (rows: number) => ({ sliceRows: rows, sliceMs: Number.POSITIVE_INFINITY, clock });

let t: ReturnType<typeof tempLedger>;
let whole: ReturnType<typeof tempLedger>;
beforeEach(() => { t = tempLedger(); whole = tempLedger(); });
afterEach(() => { t.cleanup(); whole.cleanup(); });

describe('a villager with more entries than a slice', () => {
  it('10,000 entries: cut across several slices, none over the slice rows; the ledger ends as the whole snapshot makes it, its debt repaid once', async () => {
    const snap = village(10_000);
    withDebt(t.db);
    withDebt(whole.db);
    // Rows written by each slice, read before the next one (and before the last, which writes the catalogue and the seq).
    const sizes: number[] = [];
    let seen = ledgerRows(t.db);
    const r = await applySnapshotInSlices(t.db, snap, rules, {
      ...bySize(2000),
      turn: async () => {
        const now = ledgerRows(t.db);
        sizes.push(now - seen);
        seen = now;
      },
    });
    applySnapshot(whole.db, snap, rules, clock);
    expect(sizes.slice(1).filter((n) => n > 0).length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2000);
    expect(r).toMatchObject({ applied: snap.entries.length, duplicates: 0, debtRepaid: 1 });
    expect(ledgerOf(t.db)).toEqual(ledgerOf(whole.db));
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('interrupted between any two slices: every balance the sum of its entries, `h` a prefix of its history; applied again, the ledger of the whole snapshot', async () => {
    const snap = village(75);
    withDebt(whole.db);
    applySnapshot(whole.db, snap, rules, clock);
    const hIds = snap.entries.filter((e) => e.villager === 'h').map((e) => e.id);
    let finished = false;
    let partly = 0; // interruptions that found `h` cut: some of its entries in, not all
    for (let stopAt = 1; !finished; stopAt++) {
      const db = tempLedger();
      try {
        withDebt(db.db);
        let turns = 0;
        const stop = new Error('killed');
        const r = await applySnapshotInSlices(db.db, snap, rules, { ...bySize(20), turn: async () => { if (++turns === stopAt) throw stop; } }).catch((e: unknown) => e);
        finished = r !== stop;
        if (!finished) {
          expect(findBalanceMismatches(db.db)).toEqual([]);
          const held = (db.db.prepare("SELECT id FROM entries WHERE villager_id = 'h' AND origin = 'ledger' ORDER BY seq").pluck().all() as string[]);
          expect(held).toEqual(hIds.slice(0, held.length));
          if (held.length > 0 && held.length < hIds.length) partly++;
          await applySnapshotInSlices(db.db, snap, rules, bySize(20));
        }
        expect(ledgerOf(db.db)).toEqual(ledgerOf(whole.db));
      } finally {
        db.cleanup();
      }
      expect(stopAt).toBeLessThan(20);
    }
    expect(partly).toBeGreaterThanOrEqual(2);
  });

  it('its history ending in deductions after its last earning, interrupted between that earning and its end: applied again, the debt is repaid once from that earning, as the whole snapshot repays it', async () => {
    const snap = village(75);
    // 45 penalties after `h`'s last award, over the slices after it (20 rows each).
    for (let i = 0; i < 45; i++) snap.entries.push({ id: `hp${i}`, villager: 'h', kind: 'penalty', points: -1, reference: null, reason: '乱堆', created_at: AT });
    withDebt(whole.db);
    applySnapshot(whole.db, snap, rules, clock);
    const repaid = (db: Db) => db.prepare("SELECT COUNT(*) FROM entries WHERE villager_id = 'h' AND reference LIKE 'debt:%'").pluck().get() as number;
    expect(repaid(whole.db)).toBe(1);
    const lastEarning = snap.entries.filter((e) => e.villager === 'h' && e.points > 0).at(-1)!.id;
    let finished = false;
    let after = 0; // interruptions that found `h` past its last earning, not at its end
    for (let stopAt = 1; !finished; stopAt++) {
      const db = tempLedger();
      try {
        withDebt(db.db);
        let turns = 0;
        const stop = new Error('killed');
        const r = await applySnapshotInSlices(db.db, snap, rules, { ...bySize(20), turn: async () => { if (++turns === stopAt) throw stop; } }).catch((e: unknown) => e);
        finished = r !== stop;
        if (!finished) {
          const held = db.db.prepare("SELECT id FROM entries WHERE villager_id = 'h' AND origin = 'ledger' ORDER BY seq").pluck().all() as string[];
          if (held.includes(lastEarning) && held.length < snap.entries.filter((e) => e.villager === 'h').length) after++;
          // Applied again (the store restarted and asked again), twice: nothing is applied twice.
          await applySnapshotInSlices(db.db, snap, rules, bySize(20));
          await applySnapshotInSlices(db.db, snap, rules, bySize(20));
        }
        expect(ledgerOf(db.db)).toEqual(ledgerOf(whole.db));
        expect(repaid(db.db)).toBe(1);
        expect(findBalanceMismatches(db.db)).toEqual([]);
      } finally {
        db.cleanup();
      }
      expect(stopAt).toBeLessThan(30);
    }
    expect(after).toBeGreaterThanOrEqual(2);
  });
});
