/**
 * A store's time as the ledger takes it. A store stamps its rows by its own clock; one stamped
 * beyond the ledger's receive time plus the allowed clock skew was written while that clock ran
 * ahead, and when it was really made is unknown, only that it was not after it arrived: its time
 * is the receive time. So a store clock far in the future cannot put its rows after decisions
 * made since (store-status.ts, the roll-up's product names: governance/rollup.ts), nor its sales into
 * a month to come (the roll-up's months, participation and sales, which cap an entry's and a
 * session's own stamp the same way when they read it).
 */

/** Whether `stamp` lies beyond `now` plus `skewMs` (or is no time at all). */
export const beyondSkew = (stamp: string, now: Date, skewMs: number): boolean => !(Date.parse(stamp) <= now.getTime() + skewMs);

/** `stamp`, or `now` (ISO) when it lies beyond the skew. */
export const storeTime = (stamp: string, now: Date, skewMs: number): string => (beyondSkew(stamp, now, skewMs) ? now.toISOString() : stamp);
