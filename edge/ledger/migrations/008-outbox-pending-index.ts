/**
 * Schema version 8: an index of the outbox rows not yet acknowledged. The outbox keeps every
 * row it ever sent (the village ledger may ask for acknowledged rows again), so a store a year
 * old holds hundreds of thousands of acknowledged rows; without this index every drain tick
 * (`pendingOutbox`, `pendingOutboxAfter`), every heartbeat (`lastAckedSeq`, the pending count)
 * and every offline-limit check walked all of them to find the few still pending. Partial, so
 * it holds only the pending rows and costs nothing once they are acknowledged.
 */
export const version = 8;

export const sql = /* sql */ `
CREATE INDEX outbox_unacked ON outbox (seq) WHERE acked_at IS NULL;
`;
