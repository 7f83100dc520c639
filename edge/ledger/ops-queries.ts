/** Small reads for the operations views (/readyz, doctor). */
import type { Db } from './db.ts';

/** A trivial read: the ledger file is open and answers. */
export function pingLedger(db: Db): void {
  db.prepare('SELECT 1').get();
}

/** The newest time the ledger has written (entries, door decisions, job runs), ISO; null when empty. */
export function newestLedgerTime(db: Db): string | null {
  const r = db.prepare(`SELECT max(t) AS t FROM (
    SELECT max(created_at) AS t FROM entries UNION ALL SELECT max(at) FROM entry_events UNION ALL SELECT max(last_finished_at) FROM job_runs)`).get() as { t: string | null };
  return r.t;
}

/** The ledger's schema version (PRAGMA user_version). */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
