/**
 * Deleted face data must leave no bytes that the template key could still open (PIPL; the face
 * rules of ../shared/DESIGN.md). Two things see to it:
 * - the store's connections run with `PRAGMA secure_delete = ON` (./db.ts): SQLite overwrites
 *   a deleted row's bytes, and the pages it frees, with zeros instead of leaving them in place;
 * - after a deletion of face data, `scrubFaceDeletion` checkpoints the WAL (TRUNCATE): the WAL
 *   still holds the pages as they were before the deletion until it is checkpointed and emptied.
 * A reader holding an older snapshot (the gallery loading in slices, a backup being copied)
 * keeps those pages needed: the checkpoint then does not wait for it on the caller's thread (the
 * door's), it is tried again every SCRUB_RETRY_MS until it empties the WAL or the connection
 * closes (closeLedger checkpoints with TRUNCATE too).
 */
import type { Db } from './db.ts';

const SCRUB_RETRY_MS = 250;
const waiting = new WeakSet<Db>();

/** Whether the WAL could be emptied now; otherwise a retry is scheduled. */
export function scrubFaceDeletion(db: Db): boolean {
  if (!db.open || db.readonly || db.memory || db.name === '' || db.name === ':memory:') return true;
  if (!db.inTransaction && checkpointNow(db)) return true;
  if (!waiting.has(db)) {
    waiting.add(db);
    const retry = (): void => {
      if (!db.open || (!db.inTransaction && checkpointNow(db))) {
        waiting.delete(db);
        return;
      }
      setTimeout(retry, SCRUB_RETRY_MS).unref();
    };
    setTimeout(retry, SCRUB_RETRY_MS).unref();
  }
  return false;
}

/** `value`, once `scrubFaceDeletion` ran: for a deletion's result. */
export function scrubbed<T>(db: Db, value: T): T {
  scrubFaceDeletion(db);
  return value;
}

/** One TRUNCATE checkpoint that does not wait for readers (busy_timeout 0 for its time). */
function checkpointNow(db: Db): boolean {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number }>;
    return r === undefined || (r.busy === 0 && r.log <= 0);
  } catch {
    return false; // SQLITE_BUSY or LOCKED: another connection is checkpointing; tried again
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}
