/**
 * Online copies of the ledger (SQLite's backup API: the daemon keeps writing meanwhile), their
 * verification (on a worker thread in the daemon), and restoring one in place of the ledger.
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
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
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
  }
}

/** verifyCopy on a worker thread (edge/ledger/verify-worker.mjs): the event loop stays free meanwhile. */
export async function verifyCopyOffThread(file: string): Promise<VerifiedCopy> {
  if (!existsSync(file)) throw new EdgeError(ErrorCode.NOT_FOUND, `no such file: ${file}`, { zh: `找不到文件 ${file}` });
  const worker = new Worker(new URL('./verify-worker.mjs', import.meta.url), { workerData: { file } });
  try {
    const msg = await new Promise<({ ok: true } & CopyFacts) | { ok: false; code: string; message: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new EdgeError(ErrorCode.INTERNAL, `the integrity check's worker exited (code ${code}) without an answer`, { zh: '完整性检查线程异常退出' })));
    });
    if (!msg.ok) throw translateSqliteError(Object.assign(new Error(msg.message), { code: msg.code }), `checking the copy ${file}`);
    return judgeCopy(file, msg);
  } finally {
    await worker.terminate();
  }
}

/**
 * Copy the open ledger to `dir/ledger-<UTC stamp>.sqlite` (mode 0600) and verify the copy; it
 * gets its final name only once verified, so a listed copy is a good one.
 */
export async function backupLedger(db: Db, dir: string, at: Date): Promise<VerifiedCopy> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `ledger-${stamp(at)}.sqlite`);
  const partial = `${file}.partial`;
  try {
    closeSync(openSync(partial, 'w', 0o600));
    await db.backup(partial);
    const verified = await verifyCopyOffThread(partial);
    renameSync(partial, file);
    return { ...verified, file };
  } catch (err) {
    try {
      unlinkSync(partial);
    } catch {
      // nothing was written
    }
    throw translateSqliteError(err, `backing up the ledger to ${file}`);
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

/**
 * Put the verified copy `source` in place of the ledger `target`. The ledger being replaced
 * (with its WAL) is kept beside it as `<target>.before-restore-<stamp>`: nothing is lost.
 * The caller holds the data folder's lock, so no daemon has the ledger open.
 */
export function restoreCopy(source: string, target: string, at: Date): { kept: string[]; restored: VerifiedCopy } {
  const restored = verifyCopy(source);
  const kept: string[] = [];
  const suffix = `.before-restore-${stamp(at)}`;
  const incoming = `${target}.restoring`;
  closeSync(openSync(incoming, 'w', 0o600));
  copyFileSync(source, incoming);
  verifyCopy(incoming);
  for (const f of [target, `${target}-wal`, `${target}-shm`]) {
    if (!existsSync(f)) continue;
    renameSync(f, `${f}${suffix}`);
    kept.push(`${f}${suffix}`);
  }
  renameSync(incoming, target);
  return { kept, restored: { ...restored, file: target } };
}
