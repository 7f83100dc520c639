/**
 * The clocks of the two sides: how far ahead of the ledger's clock a store's may run before the
 * ledger stops taking the store's time as it stamps it. A protocol constant: the ledger applies
 * it to what it takes from a store (ledger/store-time.ts), and the store's agent uses it to tell
 * that its own clock runs so far ahead that the ledger refuses it (agent/clock-skew.ts).
 */

/**
 * How far ahead of the ledger's clock a store's may run (5 minutes). It bounds what the ledger
 * takes from a store: a row batch issued later than now plus this is refused (`invalid`), a row,
 * status or alarm list stamped later is taken at its receipt, a reconcile window may end no
 * later; and what it sends: a delta must stay valid at least this long. Fixed, not a setting:
 * the roll-up and the public board read stores' times with it again (`madeAtSql`, the roll-up's
 * session times), so times taken with one bound and read with another would disagree, and a
 * changed bound would move past months. A store whose clock is off has its clock set (its
 * `clock_skew` alarm, `store-edge doctor`); the store's own `sync.clock_skew_s` is its tolerance
 * of the ledger's clock.
 */
export const DEFAULT_SKEW_MS = 300_000;
