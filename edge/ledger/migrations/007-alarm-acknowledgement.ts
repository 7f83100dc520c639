/**
 * Schema version 7: an alarm can be acknowledged by a maintainer (who, when, a note). The
 * acknowledgement belongs to the occurrence: it stays until the condition clears, and a new
 * occurrence (a new row after a clear, or one re-raised while active) starts unacknowledged.
 */
export const version = 7;

export const sql = /* sql */ `
ALTER TABLE alarms ADD COLUMN acknowledged_at TEXT;
ALTER TABLE alarms ADD COLUMN acknowledged_by TEXT CHECK (acknowledged_by IS NULL OR length(acknowledged_by) BETWEEN 1 AND 64);
ALTER TABLE alarms ADD COLUMN ack_note TEXT CHECK (ack_note IS NULL OR length(ack_note) <= 500);
`;
