/**
 * Deleted face data must leave no bytes that the template key could still open (PIPL; the face
 * rules of ../shared/DESIGN.md). Two things see to it:
 * - the store's connections run with `PRAGMA secure_delete = ON` (./db.ts): SQLite overwrites
 *   a deleted row's bytes, and the pages it frees, with zeros instead of leaving them in place;
 * - after a deletion of face data, `scrubFaceDeletion` checkpoints the WAL and empties it: the
 *   WAL still holds the pages as they were before the deletion until then.
 * The checkpoint never waits for a reader (busy_timeout 0 for its time). It is a PASSIVE one
 * first (copies what no reader still needs; returns `log` frames in the WAL and `checkpointed`
 * frames copied); only when every frame is copied does a TRUNCATE follow, which then has nothing
 * left to copy and only resets the WAL. A reader holding an older snapshot (the gallery loading
 * in slices, a backup being copied, another process) keeps frames needed: the scrub is then
 * tried again after each of SCRUB_RETRY_DELAYS_MS (backoff), and once they are spent a warning
 * is given (`onScrubGivenUp`) and it waits for the next deletion's scrub, the daily retention
 * job (./retention.ts) or the clean shutdown's checkpoint (closeLedger), whichever comes first.
 * A process about to exit (the command line) uses `scrubBeforeExit`: bounded, synchronous.
 */
import type { Db } from './db.ts';

/** Waits before each retry; about 8 s in all, then a warning. */
export const SCRUB_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000];

export interface ScrubGivenUp { file: string; retries: number }
type GivenUp = (info: ScrubGivenUp, message: string) => void;

const waiting = new WeakSet<Db>();
const givenUpHooks = new WeakMap<Db, GivenUp>();
const delaysOf = new WeakMap<Db, readonly number[]>();

export const scrubGivenUpText = (file: string): string =>
  `deleted face data may still be in ${file}-wal: a reader holds an older snapshot; emptied at the next deletion, the daily retention job or shutdown / 已删除的人脸数据可能仍在 ${file}-wal 中：有读取方持有旧快照；将在下次删除、每日保留任务或关闭时清空`;

/** Where a given-up scrub is told (the daemon's log); `delaysMs` replaces SCRUB_RETRY_DELAYS_MS for this connection. */
export function onScrubGivenUp(db: Db, hook: GivenUp, delaysMs?: readonly number[]): void {
  givenUpHooks.set(db, hook);
  if (delaysMs) delaysOf.set(db, delaysMs);
}

const skip = (db: Db): boolean => !db.open || db.readonly || db.memory || db.name === '' || db.name === ':memory:';

/** Whether the WAL could be emptied now; otherwise retries are scheduled (a bounded number). */
export function scrubFaceDeletion(db: Db): boolean {
  if (skip(db)) return true;
  if (!db.inTransaction && checkpointNow(db)) return true;
  if (!waiting.has(db)) {
    waiting.add(db);
    const delays = delaysOf.get(db) ?? SCRUB_RETRY_DELAYS_MS;
    let attempt = 0;
    const retry = (): void => {
      if (!db.open || (!db.inTransaction && checkpointNow(db))) {
        waiting.delete(db);
        return;
      }
      attempt += 1;
      if (attempt < delays.length) {
        setTimeout(retry, delays[attempt]).unref();
        return;
      }
      waiting.delete(db);
      const hook = givenUpHooks.get(db) ?? ((_info: ScrubGivenUp, m: string) => console.error(m));
      hook({ file: db.name, retries: attempt }, scrubGivenUpText(db.name));
    };
    setTimeout(retry, delays[0]).unref();
  }
  return false;
}

/** `value`, once `scrubFaceDeletion` ran: for a deletion's result. */
export function scrubbed<T>(db: Db, value: T): T {
  scrubFaceDeletion(db);
  return value;
}

/**
 * For a process about to exit (its timers would not run): up to `attempts` checkpoints,
 * `waitMs` apart, on this thread. Whether the WAL was emptied.
 */
export function scrubBeforeExit(db: Db, attempts = 8, waitMs = 250): boolean {
  if (skip(db)) return true;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < attempts; i++) {
    if (i > 0) Atomics.wait(sleeper, 0, 0, waitMs);
    if (!db.inTransaction && checkpointNow(db)) return true;
  }
  return false;
}

/** PASSIVE, then TRUNCATE only when nothing is left to copy; never waits (busy_timeout 0 for its time). */
function checkpointNow(db: Db): boolean {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    type Counts = { busy: number; log: number; checkpointed: number };
    const [p] = db.pragma('wal_checkpoint(PASSIVE)') as Counts[];
    if (p === undefined || p.log < 0) return true; // not in WAL mode
    if (p.busy !== 0 || p.checkpointed < p.log) return false; // a reader still needs frames: TRUNCATE could not finish
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Counts[];
    return r === undefined || (r.busy === 0 && r.log <= 0);
  } catch {
    return false; // SQLITE_BUSY or LOCKED: another connection is checkpointing; tried again
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}
