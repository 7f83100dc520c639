/**
 * Schema version 13: the visit a QR slip was used up for. A slip is used up only when the door
 * opens for it, so it is given back with a visit cancelled because its door never opened (the
 * entering time ran out), and the villager whose unlock ran out may show the same slip again
 * while that visit is still entering. Slips used before this version have no visit: they stay
 * used up, as they were.
 */
export const version = 13;

export const sql = /* sql */ `
ALTER TABLE qr_tokens_used ADD COLUMN session_id TEXT;
CREATE INDEX qr_tokens_used_session ON qr_tokens_used (session_id) WHERE session_id IS NOT NULL;
`;
