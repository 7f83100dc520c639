/** Small reads for the operations views (/readyz, doctor). */
import type { Db } from './db.ts';

/** A trivial read: the ledger file is open and answers. */
export function pingLedger(db: Db): void {
  db.prepare('SELECT 1').get();
}
