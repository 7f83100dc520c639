/**
 * A deduction at a store's credit floor (debts.ts `floorDebtOf`: an entry row of 0 points, its
 * `debt` all it asked) against the entries of its id (docs/sync-offline.md, "Debt at the
 * ledger"). The ledger records such a deduction as a debt only (`villager_debts` `entry:<id>`),
 * no entry; so an entry id is either a floor debt or an entry there, and whichever of the two
 * comes first stands, in the stores' order (the batches', then the rows'), in one call or many:
 *
 * - a deduction (points below 0), of the id of a floor debt of **the same store and villager** in
 *   the village, is that deduction paid in points (the store restored from an older copy, and
 *   the operator's retry of `--id`): the entry is applied and the floor debt no longer counts,
 *   by a row `paid:<id>` of the store at the floor debt's seq, less its debt (read right after
 *   it: `entry:` sorts before `paid:`; the rows are never changed, as a repayment is a row of its
 *   own). The entry's own debt, when it charged only part, is `charged:<id>` at its seq;
 * - any other deduction of that id (another store's, another villager's) is a clash: not applied;
 * - an entry that is no deduction (an award, a refund) is never taken against a floor debt: an
 *   award under a deduction's id must not cancel its debt, nor be refused for it. It is applied
 *   beside it, the debt standing, in one call or many (only deductions' ids and the floor
 *   debts' are looked up);
 * - a floor debt whose id the village holds as an entry (or an entry of this call before it) is
 *   a clash, not counted, also from the store that made the entry: that store now owes, and
 *   charged nothing, where the ledger charged the points;
 * - a floor debt of an id held as another store's floor debt in the village is a clash; the
 *   same store's again (an ack lost, rows moved after a rollback) adds nothing.
 */
import type { SqlDb } from './sql.ts';
import type { DebtRow } from './debts.ts';

/** An entry row of the batches (`batch`: its index), for a villager of the batch's village: a floor deduction when it has `floor` (its debt). */
export interface Deduction<T> { batch: number; village: string; store: string; id: string; villager: string; seq: number; points: number; floor?: number | undefined; of: T }

export interface FloorOutcome<T> {
  /** The floor debts to record, and the `paid:<id>` rows of those now paid (to record only once the paying entry is inserted: `paid`). */
  rows: DebtRow[];
  /** Floor deductions and entries not taken: clashes. */
  clashes: Deduction<T>[];
  /** Entries paying a floor debt of their store, with the `paid:<id>` row that cancels it. */
  paid: Map<T, DebtRow>;
}

type Held = { is: 'entry' } | { is: 'floor'; store: string; villager: string; seq: number; debt: number };

/**
 * The deductions in the stores' order, each against what the ledger holds of its id in its
 * village and what this call took before it. Rare work (a floor debt): one look-up of the
 * villages' debt rows of these ids, by the table's key, and the entries only of ids found there.
 */
export async function floorOutcome<T>(tx: SqlDb, moves: Deduction<T>[]): Promise<FloorOutcome<T>> {
  const out: FloorOutcome<T> = { rows: [], clashes: [], paid: new Map() };
  if (moves.length === 0) return out;
  const k = (village: string, id: string) => `${village}\u0000${id}`;
  const held = new Map<string, Held>();
  // only what can meet a floor debt: deductions and the floor debts themselves (an ordinary award costs no look-up)
  const candidates = moves.filter((m) => m.floor !== undefined || m.points < 0);
  if (candidates.length === 0) return out;
  // A village holding no floor debt (the usual case: a deduction finds the balance at the floor
  // rarely) has nothing an entry could meet: one look at its debt rows (the key's first column)
  // spares every id the look-up by each of its stores below, which a drain of redemptions from
  // many stores would pay for every batch.
  const villages = [...new Set(candidates.map((m) => m.village))];
  const withFloorDebts = new Set((await tx.query<{ village: string }>(
    `SELECT DISTINCT village FROM villager_debts WHERE village IN (${villages.map((_, j) => `$${j + 1}`).join(', ')}) AND substr(source, 1, 6) = 'entry:'`, villages)).map((r) => r.village));
  const pairs = [...new Map(candidates.filter((m) => m.floor !== undefined || withFloorDebts.has(m.village)).map((m) => [k(m.village, m.id), [m.village, m.id] as const])).values()];
  const floorIds = new Set(moves.filter((m) => m.floor !== undefined).map((m) => k(m.village, m.id)));
  for (let i = 0; i < pairs.length; i += 500) {
    const part = pairs.slice(i, i + 500);
    const values = part.map((_, j) => `(CAST($${2 * j + 1} AS TEXT), CAST($${2 * j + 2} AS TEXT))`).join(', ');
    // by the table's key (village, store, source), each store of the village looked up (CROSS JOIN: SQLite keeps that order, and would otherwise read a village's debts)
    const debts = await tx.query<{ village: string; store: string; source: string; villager_id: string; seq: number | string; points: number | string }>(
      `SELECT d.village, d.store, d.source, d.villager_id, d.seq, d.points FROM (VALUES ${values}) AS w CROSS JOIN stores s CROSS JOIN villager_debts d
       WHERE s.village = w.column1 AND d.village = w.column1 AND d.store = s.id AND d.source = w.column2 ORDER BY d.seq`,
      part.flatMap(([village, id]) => [village, `entry:${id}`]));
    // the first row of the id stands (as recordDebts keeps it); an entry's own debt row is told by the entry, below
    for (const d of debts) {
      const at = k(d.village, d.source.slice('entry:'.length));
      if (!held.has(at)) held.set(at, { is: 'floor', store: d.store, villager: d.villager_id, seq: Number(d.seq), debt: Number(d.points) });
    }
    const look = [...new Set(part.filter(([village, id]) => held.has(k(village, id)) || floorIds.has(k(village, id))).map(([, id]) => id))];
    if (look.length === 0) continue;
    for (const e of await tx.query<{ village: string; id: string }>(`SELECT village, id FROM entries WHERE id IN (${look.map((_, j) => `$${j + 1}`).join(', ')})`, look)) {
      if (part.some(([village, id]) => village === e.village && id === e.id)) held.set(k(e.village, e.id), { is: 'entry' });
    }
  }
  const inOrder = [...moves].sort((a, b) => a.batch - b.batch || a.seq - b.seq);
  for (const m of inOrder) {
    const h = held.get(k(m.village, m.id));
    if (m.floor !== undefined) {
      if (h === undefined) {
        held.set(k(m.village, m.id), { is: 'floor', store: m.store, villager: m.villager, seq: m.seq, debt: m.floor });
        out.rows.push({ village: m.village, store: m.store, source: `entry:${m.id}`, villager: m.villager, seq: m.seq, points: m.floor });
      } else if (h.is === 'entry' || h.store !== m.store) out.clashes.push(m);
      continue;
    }
    if (m.points >= 0) {
      // no deduction: beside any floor debt of its id; a floor debt after it meets the entry
      if (h === undefined) held.set(k(m.village, m.id), { is: 'entry' });
      continue;
    }
    if (h?.is === 'floor') {
      if (h.store !== m.store || h.villager !== m.villager) {
        out.clashes.push(m);
        continue;
      }
      out.paid.set(m.of, { village: m.village, store: m.store, source: `paid:${m.id}`, villager: h.villager, seq: h.seq, points: -h.debt });
    }
    held.set(k(m.village, m.id), { is: 'entry' });
  }
  return out;
}
