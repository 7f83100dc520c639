/**
 * Online copies of the ledger (SQLite's backup API: the daemon keeps writing meanwhile) and
 * their verification, both on a worker thread in the daemon, and restoring one in place of the ledger.
 */
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EdgeError, ErrorCode } from '../errors.ts';
import { APPLICATION_ID, translateSqliteError, type Db } from './db.ts';
import { LATEST_VERSION } from './migrations/index.ts';
import { highestOutboxSeq } from './outbox.ts';
import { ackDigestsSeen, noteAckDigests, outboxRolledBackAt, setOutboxRolledBack } from './sync-state.ts';
import { carryWithdrawals, type CarriedWithdrawals } from './restore-consent.ts';
import { describeUnsent, unsentMissingFrom, type UnsentRows } from './restore-unsent.ts';

const COPY = /^ledger-(\d{8}T\d{6}Z)\.sqlite$/;

/** `2026-12-01T02:30:00.123Z` → `20261201T023000Z` (sorts by time, safe in a file name). */
export function stamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function stampTime(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : Number.NaN;
}

export interface VerifiedCopy {
  file: string;
  schemaVersion: number;
  bytes: number;
}

interface CopyFacts { problems: string[]; appId: number; schemaVersion: number }

/** A whole ledger of ours: integrity_check ok, our application id, a schema not newer than this program. */
function judgeCopy(file: string, f: CopyFacts): VerifiedCopy {
  if (f.problems.length > 0) throw new EdgeError(ErrorCode.DB_CORRUPT, `${file} failed the integrity check: ${f.problems.slice(0, 3).join('; ')}`, { zh: `副本 ${file} 完整性检查失败` });
  if (f.appId !== APPLICATION_ID) throw new EdgeError(ErrorCode.DB_NOT_OURS, `${file} is not a store ledger (application_id ${f.appId})`, { zh: `${file} 不是门店账本` });
  if (f.schemaVersion > LATEST_VERSION) throw new EdgeError(ErrorCode.DB_NEWER_THAN_CODE, `${file} has schema version ${f.schemaVersion}, newer than this program's ${LATEST_VERSION}`, { zh: '副本的数据库版本比程序新，请升级程序' });
  return { file, schemaVersion: f.schemaVersion, bytes: statSync(file).size };
}

/**
 * Open `file` read-only and check that it is a whole ledger of ours: PRAGMA integrity_check
 * says ok, the application id is ours and the schema is not newer than this program.
 * On the calling thread: for the CLI (restore, doctor); the daemon uses verifyCopyOffThread.
 */
export function verifyCopy(file: string): VerifiedCopy {
  if (!existsSync(file)) throw new EdgeError(ErrorCode.NOT_FOUND, `no such file: ${file}`, { zh: `找不到文件 ${file}` });
  // a copy made in WAL mode (by an older program) gets -wal/-shm when opened: they go again after
  const before = sideFiles(file);
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    removeSideFiles(file, before);
    throw translateSqliteError(err, `opening the copy ${file}`);
  }
  try {
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return judgeCopy(file, {
      problems: rows.map((r) => r.integrity_check).filter((r) => r !== 'ok'),
      appId: db.pragma('application_id', { simple: true }) as number,
      schemaVersion: db.pragma('user_version', { simple: true }) as number,
    });
  } catch (err) {
    throw translateSqliteError(err, `checking the copy ${file}`);
  } finally {
    db.close();
    removeSideFiles(file, before);
  }
}

/** verifyCopy on a worker thread (edge/ledger/verify-worker.mjs): the event loop stays free meanwhile. */
export async function verifyCopyOffThread(file: string): Promise<VerifiedCopy> {
  if (!existsSync(file)) throw new EdgeError(ErrorCode.NOT_FOUND, `no such file: ${file}`, { zh: `找不到文件 ${file}` });
  return judgeCopy(file, await inWorker({ file }, `checking the copy ${file}`));
}

/** Run verify-worker.mjs: with `source`, it copies that ledger to `file` first, then checks `file`. */
async function inWorker(data: { file: string; source?: string }, what: string): Promise<CopyFacts> {
  const worker = new Worker(new URL('./verify-worker.mjs', import.meta.url), { workerData: data });
  try {
    const msg = await new Promise<({ ok: true } & CopyFacts) | { ok: false; code: string; message: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new EdgeError(ErrorCode.INTERNAL, `the backup's worker exited (code ${code}) without an answer`, { zh: '备份线程异常退出' })));
    });
    if (!msg.ok) throw translateSqliteError(Object.assign(new Error(msg.message), { code: msg.code }), what);
    return msg;
  } finally {
    await worker.terminate();
  }
}

/**
 * Copy the open ledger to `dir/ledger-<UTC stamp>.sqlite` (mode 0600) and verify the copy; it
 * gets its final name only once verified, so a listed copy is a good one. The copy and the
 * check run on a worker thread, through a connection of its own to the ledger's file (WAL: the
 * daemon keeps writing); an in-memory ledger (tests) is copied on this thread.
 */
export async function backupLedger(db: Db, dir: string, at: Date): Promise<VerifiedCopy> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `ledger-${stamp(at)}.sqlite`);
  const partial = `${file}.partial`;
  try {
    closeSync(openSync(partial, 'w', 0o600));
    let verified: VerifiedCopy;
    if (db.memory) {
      await db.backup(partial);
      rollbackJournal(partial);
      verified = await verifyCopyOffThread(partial);
    } else {
      verified = judgeCopy(partial, await inWorker({ file: partial, source: db.name }, `backing up the ledger to ${file}`));
    }
    renameSync(partial, file);
    return { ...verified, file };
  } catch (err) {
    try {
      unlinkSync(partial);
    } catch {
      // nothing was written
    }
    throw translateSqliteError(err, `backing up the ledger to ${file}`);
  } finally {
    removeSideFiles(partial, []);
  }
}

/** A copy in rollback-journal mode (see verify-worker.mjs): it opens read-only without -wal/-shm. */
function rollbackJournal(file: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

const SIDE_FILES = ['-wal', '-shm'] as const;

/** Which of `file`'s -wal/-shm exist now. */
function sideFiles(file: string): string[] {
  return SIDE_FILES.map((s) => `${file}${s}`).filter((f) => existsSync(f));
}

/** Remove `file`'s -wal/-shm that were not there before (`before`): a read-only check of a WAL copy leaves them. */
function removeSideFiles(file: string, before: readonly string[]): void {
  for (const f of sideFiles(file)) {
    if (before.includes(f)) continue;
    try {
      unlinkSync(f);
    } catch {
      // a read-only medium: nothing could have been created there either
    }
  }
}

/** The verified copies in `dir`, oldest first. */
export function listCopies(dir: string): Array<{ file: string; at: number }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, m: COPY.exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ file: path.join(dir, x.name), at: stampTime(x.m![1]!) }))
    .sort((a, b) => a.at - b.at);
}

/** Delete copies `keepDays` old or older, always keeping the newest one; returns the deleted files. */
export function pruneCopies(dir: string, keepDays: number, now: Date): string[] {
  const copies = listCopies(dir);
  const cutoff = now.getTime() - keepDays * 86_400_000;
  const gone = copies.slice(0, -1).filter((c) => c.at <= cutoff);
  for (const c of gone) unlinkSync(c.file);
  return gone.map((c) => c.file);
}

/** Copy a key file into `dir` (0700) under the same name, mode 0600; returns the copy's path. */
export function backupKeyFile(keyFile: string, dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dest = path.join(dir, path.basename(keyFile));
  const partial = `${dest}.partial`;
  closeSync(openSync(partial, 'w', 0o600));
  copyFileSync(keyFile, partial);
  renameSync(partial, dest);
  return dest;
}

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

/**
 * Put the verified copy `source` in place of the ledger `target`. The ledger being replaced
 * (with its WAL) is kept beside it as `<target>.before-restore-<stamp>`: nothing is lost.
 * The caller holds the data folder's lock, so no daemon has the ledger open. `progress` hears
 * how far it is: the check of the copy, the copy itself by bytes, the check of the result.
 */
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

export function restoreCopy(source: string, target: string, at: Date, opts: RestoreOptions = {}): { kept: string[]; restored: VerifiedCopy; withdrawals: CarriedWithdrawals | null; unsent: UnsentRows | null } {
  const { progress } = opts;
  const size = Math.max(1, statSync(source).size);
  const total = 3 * size;
  progress?.(0, total);
  const restored = verifyCopy(source);
  progress?.(size, total);
  const kept: string[] = [];
  const suffix = `.before-restore-${stamp(at)}`;
  const incoming = `${target}.restoring`;
  copyFileWithProgress(source, incoming, (copied) => progress?.(size + Math.min(copied, size), total));
  const unsent = existsSync(target) ? unsentMissingFrom(target, incoming) : null;
  if (unsent && unsent.rows.length > 0 && !opts.discardUnsent) {
    for (const f of [incoming, ...sideFiles(incoming)]) unlinkSync(f);
    const what = describeUnsent(unsent.rows);
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the ledger ${target} holds ${what.en} not yet sent to the village ledger that the copy ${source} does not have; restoring now would lose them for the village ledger. Start the daemon with the village ledger reachable until nothing waits in the outbox (admin page: sync), then restore; or add --discard-unsent to restore anyway (the rows stay in the replaced ledger kept beside it). Nothing was replaced`, {
      zh: `账本 ${target} 中有 ${what.zh} 尚未发送到村账本的记录，而副本 ${source} 没有它们；现在恢复，村账本将永远收不到这些记录。请先在能连上村账本时启动守护进程，直到待同步记录为零（管理页：同步），再恢复；或加 --discard-unsent 仍然恢复（这些记录保留在旁边保存的原账本中）。账本未被替换`,
      details: { field: 'discard_unsent', unsent: unsent.rows.length, rows: unsent.rows.slice(0, 20) },
    });
  }
  markRolledBack(incoming, existsSync(target) && ackDigestsIn(target));
  const withdrawals = existsSync(target) ? carryWithdrawals(target, incoming) : null;
  verifyCopy(incoming);
  progress?.(total, total);
  // the copy's check opened it read-only, which leaves its -wal/-shm behind: folded and gone
  if (!foldWal(incoming)) throw new EdgeError(ErrorCode.DB_IO, `the restored copy ${incoming} could not be checkpointed; nothing was replaced`, { zh: `无法整理待恢复的副本 ${incoming}，原账本未被替换` });
  for (const side of ['-wal', '-shm']) if (existsSync(`${incoming}${side}`)) unlinkSync(`${incoming}${side}`);
  // A crashed daemon's last transactions are in the WAL: folded into the main file when the old
  // ledger opens, and its side files kept under the names SQLite pairs with the kept file.
  if (existsSync(target)) foldWal(target);
  for (const side of ['', '-wal', '-shm']) {
    const f = `${target}${side}`;
    if (!existsSync(f)) continue;
    renameSync(f, `${target}${suffix}${side}`);
    kept.push(`${target}${suffix}${side}`);
  }
  renameSync(incoming, target);
  return { kept, restored: { ...restored, file: target }, withdrawals, unsent };
}
