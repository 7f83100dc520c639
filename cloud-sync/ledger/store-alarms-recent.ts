/**
 * The latest cleared alarms of each store (the `recent` of the village and town alarm views,
 * storeAlarms in store-alarms.ts), read through an index: each store's newest `recent`, not its
 * whole history. The history is kept `--alarm-keep-days` (365 by default) and a flapping lock
 * clears hundreds a day, so reading every cleared row of the villages asked for and numbering
 * them (ROW_NUMBER() OVER (PARTITION BY village, store …), until v20) grew with the history.
 *
 * Newest first: by the time it cleared, then the time the store raised it, then the store's alarm
 * id, then the occurrence (unique per store), all descending. The first two are the order the
 * view always had; the last two settle ties (a list clears several alarms at once, often raised
 * together), which the window function left to the database: which of them made the limit, and
 * in what order they came, could differ from one read to the next and between SQLite and PostgreSQL.
 */
import type { Dialect } from './sql.ts';

/** v20: the index the query reads, in its order; it holds only the history (cleared rows). */
export const STORE_ALARMS_NEWEST_VERSION = 20;
/**
 * Replaces v10's store_alarms_history (village, store, cleared_at), a prefix of it: nothing else
 * reads that one, and one index less is one less to write per clearing.
 */
export const STORE_ALARMS_NEWEST = /* sql */ `
CREATE INDEX store_alarms_newest ON store_alarms (village, store, cleared_at, raised_at, store_alarm_id, occurrence) WHERE cleared_at IS NOT NULL;
DROP INDEX store_alarms_history;
`;

const NEWEST = (t: string) => `${t}.cleared_at DESC, ${t}.raised_at DESC, ${t}.store_alarm_id DESC, ${t}.occurrence DESC`;

/**
 * Each store of `villages` (its row in `stores`) and its newest `recent` cleared occurrences,
 * ordered by store and then newest first. Parameters: the villages as `$1`…`$villages`, then
 * `recent` (at least 0: SQLite reads a negative LIMIT as none).
 *
 * PostgreSQL: a LATERAL subquery per store, a backward scan of store_alarms_newest that stops
 * after `recent` rows. SQLite has no LATERAL: the newest occurrences per store come from a
 * correlated subquery over the same index (covering: the occurrence is in it), then the rows by
 * their primary key (CROSS JOIN keeps SQLite from reading the villages' rows first).
 *
 * Measured by bench/store-alarms-recent.ts (one village of 50 stores, `recent` 20, the same
 * history in a v19 and a v20 ledger read in turn, 30 reads each; ms, fastest / median, on a
 * 2-core machine busy with other work, so the fastest is the steadier figure; PostgreSQL 15's own
 * time from EXPLAIN ANALYZE in brackets). After, the time no longer grows with the history: what
 * is left is the 1,000 rows' way to the caller.
 *
 *   cleared rows           before (v19, window function)    after (v20, this query)
 *   SQLite      7,000      13.7 / 14.7                       5.2 / 5.5
 *   SQLite     21,000      34.6 / 55.6                       5.6 / 7.1
 *   PostgreSQL  7,000      19.3 / 38.1  (27.1)               7.6 / 13.6  (3.2)
 *   PostgreSQL 21,000      24.1 / 36.9  (56.8)               5.4 / 6.3   (2.2)
 */
export function newestClearedSql(dialect: Dialect, villages: number): string {
  const marks = Array.from({ length: villages }, (_v, i) => `$${i + 1}`).join(', ');
  const limit = `$${villages + 1}`;
  const order = `ORDER BY a.village, a.store, ${NEWEST('a')}`;
  if (dialect === 'postgres') {
    return `SELECT a.* FROM stores s CROSS JOIN LATERAL (
       SELECT b.* FROM store_alarms b WHERE b.village = s.village AND b.store = s.id AND b.cleared_at IS NOT NULL
       ORDER BY ${NEWEST('b')} LIMIT ${limit}) a
     WHERE s.village IN (${marks}) ${order}`;
  }
  // CROSS JOIN: SQLite keeps the tables in the order written (stores first, then each store's rows)
  return `SELECT a.* FROM stores s CROSS JOIN store_alarms a ON a.village = s.village AND a.store = s.id AND a.occurrence IN (
       SELECT b.occurrence FROM store_alarms b WHERE b.village = s.village AND b.store = s.id AND b.cleared_at IS NOT NULL
       ORDER BY ${NEWEST('b')} LIMIT ${limit})
     WHERE s.village IN (${marks}) ${order}`;
}
