/** The scheduled jobs' last runs (table job_runs, schema version 4). */
import type { Db } from './db.ts';

export interface JobRunRow {
  job: string;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_outcome: 'ok' | 'failed' | null;
  last_detail: string | null;
  last_duration_ms: number | null;
  next_due_at: string | null;
}

export function getJobRun(db: Db, job: string): JobRunRow | undefined {
  return db.prepare('SELECT * FROM job_runs WHERE job = ?').get(job) as JobRunRow | undefined;
}

export function listJobRuns(db: Db): JobRunRow[] {
  return db.prepare('SELECT * FROM job_runs ORDER BY job').all() as JobRunRow[];
}

/** The run the schedule expects next (null: none, the job is off). */
export function setNextDue(db: Db, job: string, nextDueAt: string | null): void {
  db.prepare('INSERT INTO job_runs (job, next_due_at) VALUES (?, ?) ON CONFLICT (job) DO UPDATE SET next_due_at = excluded.next_due_at').run(job, nextDueAt);
}

export function recordJobStart(db: Db, job: string, at: string): void {
  db.prepare('INSERT INTO job_runs (job, last_started_at) VALUES (?, ?) ON CONFLICT (job) DO UPDATE SET last_started_at = excluded.last_started_at').run(job, at);
}

export function recordJobEnd(db: Db, job: string, end: { at: string; outcome: 'ok' | 'failed'; detail: string; durationMs: number; nextDueAt: string | null }): void {
  db.prepare(`INSERT INTO job_runs (job, last_finished_at, last_outcome, last_detail, last_duration_ms, next_due_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (job) DO UPDATE SET last_finished_at = excluded.last_finished_at, last_outcome = excluded.last_outcome,
      last_detail = excluded.last_detail, last_duration_ms = excluded.last_duration_ms, next_due_at = excluded.next_due_at`)
    .run(job, end.at, end.outcome, end.detail, Math.round(end.durationMs), end.nextDueAt);
}
