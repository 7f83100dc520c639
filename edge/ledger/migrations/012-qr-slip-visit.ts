/**
 * Schema version 12: the visit a QR slip was used up for. The villager whose unlock ran out
 * may show the same slip again while that visit is still entering (the door never opened for
 * it), and it stays used up for that visit. Slips used before this version have no visit: they
 * stay used up, as they were.
 */
export const version = 12;

export const sql = /* sql */ `
ALTER TABLE qr_tokens_used ADD COLUMN session_id TEXT;
CREATE INDEX qr_tokens_used_session ON qr_tokens_used (session_id) WHERE session_id IS NOT NULL;
`;
