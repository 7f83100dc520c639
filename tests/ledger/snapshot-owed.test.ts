/**
 * The repayment a villager cut across slices still owes after an interrupted apply
 * (edge/ledger/snapshot-owed.ts), against what writes that villager's entries before the next
 * apply: the rest of its history arriving on the stream (deltas after a restart), a live award,
 * a sale at the store that makes new debt, a ledger award not in the snapshot. Each ends with the
 * balance and debt of the uninterrupted apply with the same entries, its debt repaid once, and
 * no record left behind.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { applyEntry, findBalanceMismatches, redeemAtExit } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { inTransaction, type Db } from '../../edge/ledger/db.ts';
import { getMeta, setMeta } from '../../edge/ledger/meta.ts';
import { applySnapshot, type Snapshot } from '../../edge/ledger/snapshot.ts';
import { applySnapshotInSlices } from '../../edge/ledger/snapshot-slices.ts';
import { tempLedger } from './helpers.ts';

const rules = { creditFloor: 0 };
const AT = '2026-12-01T08:00:00.000Z';
const clock = () => new Date(AT);
const bySize = (rows: number) => ({ sliceRows: rows, sliceMs: Number.POSITIVE_INFINITY, clock });

/** `h`: 40 awards, then 45 penalties (its last earning, `h39`, 45 entries before its end); `b` after it. */
function village(): Snapshot {
  const snap: Snapshot = { villagers: ['h', 'b'].map((id) => ({ id, name: `村民${id}`, village: '前进村', status: 'active' as const })), entries: [] };
  for (let i = 0; i < 40; i++) snap.entries.push({ id: `h${i}`, villager: 'h', kind: 'award', points: 2, reference: null, reason: '扫地', created_at: AT });
  for (let i = 0; i < 45; i++) snap.entries.push({ id: `hp${i}`, villager: 'h', kind: 'penalty', points: -1, reference: null, reason: '乱堆', created_at: AT });
  for (let i = 0; i < 5; i++) snap.entries.push({ id: `b${i}`, villager: 'b', kind: 'award', points: 3, reference: null, reason: null, created_at: AT });
  return snap;
}
const LAST_EARNING = 'h39';

/** `h` known here with 6 points of debt (a sale of 6 with nothing on hand). */
function withDebt(db: Db): void {
  addVillager(db, { id: 'h', name: '村民h', village: '前进村' }, clock);
  inTransaction(db, 'a sale', () => redeemAtExit(db, { id: 'sale-h', villagerId: 'h', points: 6, origin: 'store', reference: 'session:sale-h' }, rules, AT));
}

const owedRecord = (db: Db) => getMeta(db, 'snapshot.repay_owed') ?? '';
const villagerH = (db: Db) => db.prepare("SELECT balance, debt FROM villagers WHERE id = 'h'").get() as { balance: number; debt: number };
const repayments = (db: Db) => db.prepare("SELECT id, points FROM entries WHERE villager_id = 'h' AND reference LIKE 'debt:%' ORDER BY seq").all() as { id: string; points: number }[];
const ledgerOf = (db: Db) => ({
  villagers: db.prepare('SELECT id, balance, debt FROM villagers ORDER BY id').all(),
  entries: db.prepare('SELECT id, villager_id, kind, points, balance_after, reference FROM entries ORDER BY villager_id, seq').all(),
});

/**
 * Applies `snap` in slices of 20 rows; `between` runs once, at the first turn that finds the
 * record naming `h`'s last earning (written, its repayment still owed): the point a power cut
 * leaves it at. `interrupt`: the apply stops there, as killed.
 */
async function applyUntilOwed(db: Db, snap: Snapshot, interrupt: boolean, between: () => void = () => {}): Promise<void> {
  const stop = new Error('killed');
  let ran = false;
  const r = await applySnapshotInSlices(db, snap, rules, {
    ...bySize(20),
    turn: async () => {
      if (ran || !owedRecord(db).includes(`"${LAST_EARNING}"`)) return;
      ran = true;
      between();
      if (interrupt) throw stop;
    },
  }).catch((e: unknown) => e);
  expect(ran).toBe(true);
  if (interrupt) expect(r).toBe(stop);
  else expect(r).not.toBeInstanceOf(Error);
}

let t: ReturnType<typeof tempLedger>;
let ref: ReturnType<typeof tempLedger>;
beforeEach(() => { t = tempLedger(); ref = tempLedger(); withDebt(t.db); withDebt(ref.db); });
afterEach(() => { t.cleanup(); ref.cleanup(); });

describe('an interrupted apply that owes a repayment, and what writes the villager before the next apply', () => {
  it('the rest of its history arrives on the stream (deltas after the restart): repaid once, from its last earning, when its last entry is in, as the whole snapshot repays it', async () => {
    const snap = village();
    applySnapshot(ref.db, snap, rules, clock);
    await applyUntilOwed(t.db, snap, true);
    // The store caught up by deltas: every event after its seq, one entry each (those it holds skipped).
    for (const v of snap.villagers) applySnapshot(t.db, { villagers: [v], entries: [] }, rules, clock);
    for (const e of snap.entries) applySnapshot(t.db, { villagers: [], entries: [e] }, rules, clock);
    expect(ledgerOf(t.db)).toEqual(ledgerOf(ref.db));
    expect(repayments(t.db)).toEqual([{ id: `${LAST_EARNING}#debt`, points: -6 }]);
    expect(owedRecord(t.db)).toBe('');
    // The snapshot asked for again all the same: nothing more.
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    expect(ledgerOf(t.db)).toEqual(ledgerOf(ref.db));
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('a record left by an older version (`{ villager: earning id }`): the next apply repays from it once, as the whole snapshot repays it', async () => {
    const snap = village();
    applySnapshot(ref.db, snap, rules, clock);
    await applyUntilOwed(t.db, snap, true);
    setMeta(t.db, 'snapshot.repay_owed', JSON.stringify({ h: LAST_EARNING }));
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    expect(ledgerOf(t.db)).toEqual(ledgerOf(ref.db));
    expect(owedRecord(t.db)).toBe('');
  });

  it('an award at the store before the next apply: the ledger of the uninterrupted apply with that award at the same point, repaid once', async () => {
    const snap = village();
    const award = (db: Db) => () => { applyEntry(db, { id: 'live-award', villagerId: 'h', kind: 'award', points: 5, origin: 'store' }, rules, clock); };
    await applyUntilOwed(ref.db, snap, false, award(ref.db));
    await applyUntilOwed(t.db, snap, true, award(t.db));
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    expect(ledgerOf(t.db)).toEqual(ledgerOf(ref.db));
    expect(repayments(t.db).length).toBe(1);
    expect(owedRecord(t.db)).toBe('');
  });

  it('a sale at the store that makes new debt before the next apply: the ledger of the uninterrupted apply with that sale at the same point; the old record repays nothing it should not', async () => {
    const snap = village();
    const sale = (db: Db) => () => { inTransaction(db, 'a sale', () => redeemAtExit(db, { id: 'sale-2', villagerId: 'h', points: 200, origin: 'store', reference: 'session:sale-2' }, rules, AT)); };
    await applyUntilOwed(ref.db, snap, false, sale(ref.db));
    await applyUntilOwed(t.db, snap, true, sale(t.db));
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    expect(ledgerOf(t.db)).toEqual(ledgerOf(ref.db));
    // The sale took the balance to the floor; the penalties after it took it below: nothing to repay from.
    expect(villagerH(t.db).balance).toBeLessThan(0);
    expect(repayments(t.db)).toEqual([]);
    expect(owedRecord(t.db)).toBe('');
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('a ledger award not in the snapshot arrives on the stream before the next apply: it repays the debt (the record spent), once; balance and debt as the whole snapshot then that award', async () => {
    const snap = village();
    const event = { id: 'later-award', villager: 'h', kind: 'award' as const, points: 5, reference: null, reason: null, created_at: AT };
    applySnapshot(ref.db, snap, rules, clock);
    applySnapshot(ref.db, { villagers: [], entries: [event] }, rules, clock);
    await applyUntilOwed(t.db, snap, true);
    applySnapshot(t.db, { villagers: [], entries: [event] }, rules, clock);
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    await applySnapshotInSlices(t.db, snap, rules, bySize(20));
    expect(villagerH(t.db)).toEqual(villagerH(ref.db));
    expect(repayments(t.db)).toEqual([{ id: 'later-award#debt', points: -6 }]);
    expect(owedRecord(t.db)).toBe('');
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });
});
