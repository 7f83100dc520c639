/**
 * Late entries (补录): an entry made in one village month (UTC+8, the roll-up's months) that the
 * ledger received after that month had ended: a store offline for days sends its rows when it is
 * back. It counts in the month it was made (by the time the passbook shows: a store's stamp, not
 * beyond its receipt plus the allowed skew, ../store-time.ts), so a villager's purchase of the
 * 30th stays on the 30th; but a month the village office had already closed then shows new
 * figures. Wherever a month's figures are read for audit they say so: the month statement lists
 * its late entries apart with both times and the store (statement.ts), the passbook gives a late
 * line's receipt (补录于, villager-routes.ts), and the roll-up's months count them (rollup.ts).
 * `entries.received_at` is the ledger's own clock when it took the entry (kept since schema v1).
 */
import type { SqlDb } from '../sql.ts';
import { madeAtSql } from '../store-time.ts';

/** The village month (`YYYY-MM`, UTC+8) of an ISO time, in SQL. */
export const monthSql = (db: Pick<SqlDb, 'dialect'>, col: string): string =>
  db.dialect === 'sqlite' ? `strftime('%Y-%m', ${col}, '+8 hours')` : `to_char((${col})::timestamptz AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM')`;

/**
 * Whether an entry (`e`: the entries table's alias with its dot, or '') was received in a later
 * village month than the one it counts in, in SQL. An entry dated on its receipt (made at the
 * ledger, or a store's stamped beyond the skew) never is; one stamped a little ahead of its receipt
 * (within the skew, past midnight of the 1st) counts in the later month and is not late either.
 */
export const lateSql = (db: Pick<SqlDb, 'dialect'>, e: string): string =>
  `(${e}origin_store IS NOT NULL AND ${monthSql(db, `${e}received_at`)} > ${monthSql(db, madeAtSql(db, e))})`;

/** `lateSql` as a column both dialects return as 1 or 0 (read with `Number(…) === 1`). */
export const lateFlagSql = (db: Pick<SqlDb, 'dialect'>, e: string): string => `(CASE WHEN ${lateSql(db, e)} THEN 1 ELSE 0 END)`;

/** A late entry as the month statement lists it: both times (made: as counted; received: the ledger's) and the store. */
export interface LateEntry { id: string; villager: string; name: string; kind: string; points: number; store: string; made_at: string; received_at: string }

/** The late entries of `village` counted in `[from, to)` (a village month's bounds), by time made, then ledger order. */
export async function lateEntries(db: SqlDb, village: string, from: string, to: string): Promise<LateEntry[]> {
  const made = madeAtSql(db, 'e.');
  const rows = await db.query<{ id: string; villager_id: string; name: string; kind: string; points: number | string; origin_store: string; made_at: string; received_at: string }>(`
    SELECT e.id, e.villager_id, p.name, e.kind, e.points, e.origin_store, ${made} AS made_at, e.received_at
    FROM entries e JOIN villagers p ON p.id = e.villager_id
    WHERE e.village = $1 AND ${made} >= $2 AND ${made} < $3 AND ${lateSql(db, 'e.')}
    ORDER BY ${made}, e.seq`, [village, from, to]);
  return rows.map((r) => ({ id: r.id, villager: r.villager_id, name: r.name, kind: r.kind, points: Number(r.points), store: r.origin_store, made_at: r.made_at, received_at: r.received_at }));
}
