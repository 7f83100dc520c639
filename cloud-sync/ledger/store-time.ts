/**
 * A store's time as the ledger takes it. A store stamps its rows by its own clock; one stamped
 * beyond the ledger's receive time plus the allowed clock skew was written while that clock ran
 * ahead, and when it was really made is unknown, only that it was not after it arrived: its time
 * is the receive time. So a store clock far in the future cannot put its rows after decisions
 * made since (store-status.ts, the roll-up's product names: governance/rollup.ts), nor its sales into
 * a month to come (the roll-up's months, participation and sales, and the public board's month
 * totals, which cap an entry's and a session's own stamp the same way when they read it:
 * `madeAtSql`, `storeTime`), nor date a villager's purchase in the future (the passbook and the
 * villager's own history: governance/villager-routes.ts, governance/routes.ts), nor show staff
 * an alarm raised in the future (store-alarms.ts), nor show the village's other stores an entry
 * made in the future (the `entries` event, rows.ts, and the snapshots: tables.ts
 * `villageSnapshot`, snapshot-pages.ts).
 */
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';
import type { SqlDb } from './sql.ts';

/** `now` as a Date or, from a caller that parsed it once for many rows (store-alarms.ts), as ms. */
const msOf = (now: Date | number): number => (typeof now === 'number' ? now : now.getTime());

/** Whether `stamp` lies beyond `now` plus `skewMs` (or is no time at all). */
export const beyondSkew = (stamp: string, now: Date | number, skewMs: number): boolean => !(Date.parse(stamp) <= msOf(now) + skewMs);

/** `stamp`, or `now` (ISO) when it lies beyond the skew. */
export const storeTime = (stamp: string, now: Date | number, skewMs: number): string => (beyondSkew(stamp, now, skewMs) ? new Date(msOf(now)).toISOString() : stamp);

/**
 * Whether an entry's time is its receipt, in SQL (`e`: the entries table's alias with its dot,
 * or ''): a store's, stamped beyond the ledger's receipt plus the allowed clock skew, as
 * `storeTime` takes it. The skew is the ledger's default, the one its rows' times were taken
 * with. Entries made at the ledger (no `origin_store`) and stores' stamps of the past (a store
 * offline for days) are not. Compared as text, as a period's bounds are: a stamp has the ledger's
 * ISO form, and `strftime`/`to_char` write that form. The passbook and the phone page's history
 * mark such an entry's date.
 */
export const storeClockAheadSql = (db: Pick<SqlDb, 'dialect'>, e: string): string => {
  const limit = db.dialect === 'sqlite'
    ? `strftime('%Y-%m-%dT%H:%M:%fZ', ${e}received_at, '+${DEFAULT_SKEW_MS / 1000} seconds')`
    : `to_char((${e}received_at)::timestamptz AT TIME ZONE 'UTC' + interval '${DEFAULT_SKEW_MS} milliseconds', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  // the cheap comparisons first: the limit is computed only for a store's stamp later than its receipt
  return `(${e}origin_store IS NOT NULL AND ${e}created_at > ${e}received_at AND ${e}created_at > ${limit})`;
};

/**
 * When an entry was made, in SQL (`e` as `storeClockAheadSql`): its `created_at`, but a store's
 * stamped beyond the ledger's receipt plus the allowed clock skew is its receipt, as `storeTime`.
 */
export const madeAtSql = (db: Pick<SqlDb, 'dialect'>, e: string): string =>
  `(CASE WHEN ${storeClockAheadSql(db, e)} THEN ${e}received_at ELSE ${e}created_at END)`;

/** `storeClockAheadSql` as a column the two dialects both return (1 or 0; read with `Number(…) === 1`). */
export const storeClockAheadFlagSql = (db: Pick<SqlDb, 'dialect'>, e: string): string => `(CASE WHEN ${storeClockAheadSql(db, e)} THEN 1 ELSE 0 END)`;
