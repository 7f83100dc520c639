/**
 * Restoring a verified copy in place of the ledger (`store-edge restore`, edge/cli/restore.ts).
 */
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, openSync, readSync, renameSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { EdgeError, ErrorCode } from '../errors.ts';
import { translateSqliteError, type Db } from './db.ts';
import { highestOutboxSeq } from './outbox.ts';
import { ackDigestsSeen, noteAckDigests, outboxRolledBackAt, setOutboxRolledBack } from './sync-state.ts';
import { carryWithdrawals, type CarriedWithdrawals } from './restore-consent.ts';
import { describeUnsent, unsentMissingFrom, type UnsentRows } from './restore-unsent.ts';
import { stamp, verifyCopy, type VerifiedCopy } from './backup.ts';

/** Where a restore is: `step` of `steps` units (the copy counts its bytes; each check counts as the file's size). */
export type RestoreProgress = (done: number, total: number) => void;

const CHUNK = 4 * 1024 * 1024;

/** Copy `source` to `dest` (mode 0600) in chunks, telling how far it got, and flush it to disk. */
function copyFileWithProgress(source: string, dest: string, onBytes: (copied: number) => void): void {
  const from = openSync(source, 'r');
  const to = openSync(dest, 'w', 0o600);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let copied = 0;
    for (;;) {
      const n = readSync(from, buf, 0, CHUNK, copied);
      if (n === 0) break;
      let written = 0;
      while (written < n) written += writeSync(to, buf, written, n - written);
      copied += n;
      onBytes(copied);
    }
    // the restored ledger must be on the disk before the old one is moved aside
    fsyncSync(to);
  } finally {
    closeSync(from);
    closeSync(to);
  }
}

/** copyFileWithProgress between turns of the event loop, stopping with RestoreInterrupted once `signal` is aborted. */
async function copyInChunks(source: string, dest: string, onBytes: (copied: number) => void, signal: AbortSignal): Promise<void> {
  const stopHere = (): void => {
    if (signal.aborted) throw new RestoreInterrupted(String(signal.reason));
  };
  stopHere();
  const from = await open(source, 'r');
  try {
    const to = await open(dest, 'w', 0o600);
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let copied = 0;
      for (;;) {
        const { bytesRead: n } = await from.read(buf, 0, CHUNK, copied);
        if (n === 0) break;
        let written = 0;
        while (written < n) written += (await to.write(buf, written, n - written)).bytesWritten;
        copied += n;
        onBytes(copied);
        stopHere();
      }
      await to.sync();
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
  stopHere();
}

/**
 * The copy's outbox handed out seqs only up to where it was made; the store went on after that,
 * and the village ledger holds those rows under the same ids. Recorded in the copy, so the sync
 * agent sends nothing new before it has moved such rows past what the ledger holds.
 */
function markRolledBack(file: string, ackDigests: boolean): void {
  let db: Db | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const copy = db;
    copy.transaction(() => {
      // A copy of a ledger restored earlier and not yet settled keeps the earlier, lower mark.
      setOutboxRolledBack(copy, Math.min(outboxRolledBackAt(copy) ?? Infinity, highestOutboxSeq(copy)));
      // Acks with digests came to the replaced ledger: an older copy must not read a recorded
      // ack without them by id again (sync-state.ts ackDigestsSeen).
      if (ackDigests) noteAckDigests(copy);
    })();
  } catch (err) {
    throw translateSqliteError(err, `marking the restored copy ${file}`);
  } finally {
    db?.close();
  }
}

/**
 * Whether the ledger being replaced had acks with row digests; true when it cannot be read (a
 * damaged file, the usual reason to restore): refusing an ack without digests costs only slower
 * acknowledgement (the ledger's beats mark the rows), reading one by id may lose a sale.
 */
function ackDigestsIn(file: string): boolean {
  let db: Db | undefined;
  try {
    db = new Database(file, { fileMustExist: true, readonly: true });
    return ackDigestsSeen(db);
  } catch {
    return true;
  } finally {
    try {
      db?.close();
    } catch {
      // closing a handle that failed to open fully: nothing to keep
    }
  }
}

/**
 * Moves everything in `file`'s WAL into its main file (wal_checkpoint(TRUNCATE)); closing the
 * last connection then removes the WAL. False when the file cannot be opened or checkpointed
 * (a damaged ledger is kept as it is, its WAL beside it).
 */
function foldWal(file: string): boolean {
  let db: Db | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return (r?.busy ?? 0) === 0;
  } catch {
    return false;
  } finally {
    try {
      db?.close();
    } catch {
      // closing a connection that could not checkpoint: the files stay as they were
    }
  }
}

/**
 * `file` also under the name `kept`: a hard link; where the disk has none (a FAT stick), a copy
 * flushed to the disk.
 */
function keepUnder(file: string, kept: string): void {
  try {
    linkSync(file, kept);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    copyFileSync(file, kept);
    const fd = openSync(kept, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** `.before-restore-<stamp>`, or with `-2`, `-3`… when a restore in the same second kept a ledger under it already. */
function keptSuffix(target: string, at: Date): string {
  const base = `.before-restore-${stamp(at)}`;
  const taken = (s: string): boolean => ['', '-wal', '-shm'].some((side) => existsSync(`${target}${s}${side}`));
  let suffix = base;
  for (let n = 2; taken(suffix); n++) suffix = `${base}-${n}`;
  return suffix;
}

/** Flush the folder's entries (a rename) to the disk; a system that cannot fsync a folder has nothing to flush. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL/EPERM: folders are not flushed on this system
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The partial copy and the side files SQLite may have left beside it. */
function removeIncoming(incoming: string): void {
  for (const f of [incoming, `${incoming}-wal`, `${incoming}-shm`, `${incoming}-journal`]) {
    try {
      unlinkSync(f);
    } catch {
      // not there
    }
  }
}

const HEADROOM = 1024 * 1024;

function noRoom(target: string, free: number, need: number, cause?: unknown): EdgeError {
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
  return new EdgeError(ErrorCode.DB_FULL, `the disk holding ${target} has no room for the restored copy (${mb(free)} MB free, ${mb(need)} MB needed); nothing was replaced and nothing was left behind: free space on that disk (old backups, logs), then restore again`, {
    zh: `${target} 所在的磁盘空间不足，放不下要恢复的副本（剩余 ${mb(free)} MB，需要 ${mb(need)} MB）；账本未被替换，也没有留下残余文件：请在该磁盘上腾出空间（旧备份、日志）后再恢复`,
    cause,
    details: { path: target, free_bytes: free, needed_bytes: need },
  });
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined; // a system without statfs: the copy itself will tell
  }
}

/** Refuse before copying when the target's disk cannot hold the copy (its size, and room for its journal). */
function checkRoom(source: string, target: string): void {
  const need = statSync(source).size + HEADROOM;
  const free = freeBytes(path.dirname(target));
  if (free !== undefined && free < need) throw noRoom(target, free, need);
}

/** A disk that filled during the restore (ENOSPC from the copy, SQLITE_FULL from the checks): DB_FULL, bilingual. */
function diskFull(err: unknown, source: string, target: string): EdgeError | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && !(err instanceof EdgeError && err.code === ErrorCode.DB_FULL)) return undefined;
  return noRoom(target, freeBytes(path.dirname(target)) ?? 0, statSync(source).size + HEADROOM, err);
}

/**
 * Puts a verified copy in place of the ledger, keeping the replaced files beside it. Consent
 * withdrawn since the copy was taken stays withdrawn (./restore-consent.ts), when the replaced
 * ledger can be read.
 */
export interface RestoreOptions {
  /** Told how far the restore is. */
  progress?: RestoreProgress;
  /** Restore even though the ledger being replaced holds rows the village ledger never received (they are lost to it). */
  discardUnsent?: boolean;
}

type Restored = { kept: string[]; restored: VerifiedCopy; withdrawals: CarriedWithdrawals | null; unsent: UnsentRows | null };

/** A restore stopped by a signal (Ctrl-C, SIGTERM) during its copy: the partial copy removed, nothing replaced. */
export class RestoreInterrupted extends Error {
  constructor(readonly signal: string) {
    super(`the restore was interrupted (${signal}) during its copy; nothing was replaced`);
  }
}

interface Begun { incoming: string; restored: VerifiedCopy; onBytes: (copied: number) => void; done: () => void }

/** The copy checked, a partial copy an interrupted restore left removed (its WAL would be replayed into the new one), the room checked. */
function beginRestore(source: string, target: string, { progress }: RestoreOptions): Begun {
  const size = Math.max(1, statSync(source).size);
  const total = 3 * size;
  progress?.(0, total);
  const restored = verifyCopy(source);
  progress?.(size, total);
  const incoming = `${target}.restoring`;
  removeIncoming(incoming);
  checkRoom(source, target);
  return { incoming, restored, onBytes: (copied) => progress?.(size + Math.min(copied, size), total), done: () => progress?.(total, total) };
}

function finishRestore(b: Begun, source: string, target: string, at: Date, opts: RestoreOptions): Restored {
  const r = putInPlace(source, target, b.incoming, keptSuffix(target, at), opts);
  b.done();
  return { ...r, restored: { ...b.restored, file: target } };
}

/** Whatever failed, or was refused, the partial copy goes: a full disk is left as free as before. */
function failedRestore(err: unknown, b: Begun, source: string, target: string): unknown {
  removeIncoming(b.incoming);
  return diskFull(err, source, target) ?? err;
}

/**
 * Put the verified copy `source` in place of the ledger `target`. The ledger being replaced
 * (with its WAL) is kept beside it as `<target>.before-restore-<stamp>`: nothing is lost. There
 * is a ledger under `target` at every moment (a kept name by a hard link, then one rename).
 * The caller holds the data folder's lock for a restore (edge/ledger-holds.ts lockForRestore),
 * so neither the daemon nor a CLI command has the ledger open. `progress` hears
 * how far it is: the check of the copy, the copy itself by bytes, the check of the result.
 */
export function restoreCopy(source: string, target: string, at: Date, opts: RestoreOptions = {}): Restored {
  const b = beginRestore(source, target, opts);
  try {
    copyFileWithProgress(source, b.incoming, b.onBytes);
    return finishRestore(b, source, target, at, opts);
  } catch (err) {
    throw failedRestore(err, b, source, target);
  }
}

/**
 * restoreCopy with the copy made a chunk at a time between turns of the event loop, so that
 * `signal` (aborted on SIGINT/SIGTERM, its reason the signal's name) stops it: RestoreInterrupted,
 * the partial copy removed, nothing replaced. The checks and the swap after the copy are not stopped.
 */
export async function restoreCopyInterruptible(source: string, target: string, at: Date, opts: RestoreOptions & { signal: AbortSignal }): Promise<Restored> {
  const b = beginRestore(source, target, opts);
  try {
    await copyInChunks(source, b.incoming, b.onBytes, opts.signal);
    return finishRestore(b, source, target, at, opts);
  } catch (err) {
    throw failedRestore(err, b, source, target);
  }
}

/** The checked copy `incoming` made ready (rows not sent, consent withdrawn since) and swapped in for `target`. */
function putInPlace(source: string, target: string, incoming: string, suffix: string, opts: RestoreOptions): { kept: string[]; withdrawals: CarriedWithdrawals | null; unsent: UnsentRows | null } {
  const kept: string[] = [];
  const unsent = existsSync(target) ? unsentMissingFrom(target, incoming) : null;
  if (unsent && unsent.rows.length > 0 && !opts.discardUnsent) {
    const what = describeUnsent(unsent.rows);
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the ledger ${target} holds ${what.en} not yet sent to the village ledger that the copy ${source} does not have; restoring now would lose them for the village ledger. Start the daemon with the village ledger reachable until nothing waits in the outbox (admin page: sync), then restore; or add --discard-unsent to restore anyway (the rows stay in the replaced ledger kept beside it). Nothing was replaced`, {
      zh: `账本 ${target} 中有 ${what.zh} 尚未发送到村账本的记录，而副本 ${source} 没有它们；现在恢复，村账本将永远收不到这些记录。请先在能连上村账本时启动守护进程，直到待同步记录为零（管理页：同步），再恢复；或加 --discard-unsent 仍然恢复（这些记录保留在旁边保存的原账本中）。账本未被替换`,
      details: { field: 'discard_unsent', unsent: unsent.rows.length, rows: unsent.rows.slice(0, 20) },
    });
  }
  markRolledBack(incoming, existsSync(target) && ackDigestsIn(target));
  const withdrawals = existsSync(target) ? carryWithdrawals(target, incoming) : null;
  verifyCopy(incoming);
  // the copy's check opened it read-only, which leaves its -wal/-shm behind: folded and gone
  if (!foldWal(incoming)) throw new EdgeError(ErrorCode.DB_IO, `the restored copy ${incoming} could not be checkpointed; nothing was replaced`, { zh: `无法整理待恢复的副本 ${incoming}，原账本未被替换` });
  for (const side of ['-wal', '-shm']) if (existsSync(`${incoming}${side}`)) unlinkSync(`${incoming}${side}`);
  // A crashed daemon's last transactions are in the WAL: folded into the main file when the old
  // ledger opens. The old ledger gets its kept name as a second name of the same file, so the
  // ledger's name stays taken; a WAL left by a ledger too damaged to fold goes under the name
  // SQLite pairs with the kept file (beside the restored copy SQLite would replay it into it).
  if (existsSync(target)) {
    foldWal(target);
    keepUnder(target, `${target}${suffix}`);
    kept.push(`${target}${suffix}`);
    for (const side of ['-wal', '-shm']) {
      const f = `${target}${side}`;
      if (!existsSync(f)) continue;
      renameSync(f, `${target}${suffix}${side}`);
      kept.push(`${target}${suffix}${side}`);
    }
  }
  // one step: at every moment the ledger's name names the old ledger or the restored one
  renameSync(incoming, target);
  syncFolder(path.dirname(target));
  return { kept, withdrawals, unsent };
}
