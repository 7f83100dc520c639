/**
 * Schema version 15: indexes behind the refund forms' list (`refundablePurchases`: /review's
 * refunds, a villager's purchases) and the refund route's count (`refundable`). Without them the
 * list walked every purchase the store ever settled, and for each one its villager's entries and
 * every review line, then sorted them all for a page of 20: on a store a year old (50,000
 * purchases) /review took seconds, inside the event loop the shelf scales are read on.
 *
 * - `store_sessions_purchases`, `store_sessions_villager_purchases`: the settled purchases newest
 *   first (all, or one villager's), so a page is read in order from its cursor and stops at 20;
 *   partial, so restocks and cancelled visits are not in them.
 * - `entries_refunds`: the refunds of a purchase by its reference; partial, refunds are few.
 * - `review_lines_session`: a session's review lines (their charges count in what it cost).
 */
export const version = 15;

export const sql = /* sql */ `
CREATE INDEX store_sessions_purchases ON store_sessions (opened_at, id) WHERE status = 'settled' AND kind = 'shopping';
CREATE INDEX store_sessions_villager_purchases ON store_sessions (villager_id, opened_at, id) WHERE status = 'settled' AND kind = 'shopping';
CREATE INDEX entries_refunds ON entries (reference) WHERE kind = 'refund';
CREATE INDEX review_lines_session ON review_lines (session_id);
`;
