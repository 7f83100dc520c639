/**
 * Online copies of the ledger (SQLite's backup API: the daemon keeps writing meanwhile) and
 * their verification, both on a worker thread in the daemon (restoring one in place of the
 * ledger: ./restore-copy.ts).
 */
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EdgeError, ErrorCode } from '../errors.ts';
import { APPLICATION_ID, translateSqliteError, type Db } from './db.ts';
import { LATEST_VERSION } from './migrations/index.ts';

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
