/**
 * Schema version 5: alarms (lock not confirmed, scale fault, camera gone, disk nearly full,
 * outbox growing, clock jump, job failed, reconciliation mismatch). One row per occurrence:
 * raised, seen again while active (deduplicated: `seen` counts the repeats), cleared when the
 * condition is resolved. At most one active row per (kind, subject).
 */
export const version = 5;

export const sql = /* sql */ `
CREATE TABLE alarms (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  subject      TEXT NOT NULL CHECK (length(subject) BETWEEN 0 AND 200),
  severity     TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
  detail       TEXT NOT NULL,
  raised_at    TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  seen         INTEGER NOT NULL DEFAULT 1,
  cleared_at   TEXT,
  cleared_by   TEXT
) STRICT;
CREATE UNIQUE INDEX alarms_active ON alarms (kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX alarms_raised ON alarms (raised_at);
`;
