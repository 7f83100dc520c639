/**
 * Schema version 4: the scheduled jobs' last runs. `next_due_at` is the run the schedule
 * expected next; a daemon that starts after that time (a power cut over the night) knows the
 * run was missed and runs it at once.
 */
export const version = 4;

export const sql = /* sql */ `
CREATE TABLE job_runs (
  job             TEXT PRIMARY KEY CHECK (length(job) BETWEEN 1 AND 64),
  last_started_at TEXT,
  last_finished_at TEXT,
  last_outcome    TEXT CHECK (last_outcome IN ('ok', 'failed')),
  last_detail     TEXT,
  last_duration_ms INTEGER,
  next_due_at     TEXT
) STRICT;
`;
