/**
 * Opening the local ledger: pragmas, ownership check, migrations.
 *
 * A database that is newer than this code, or that is not ours, is refused with a clear
 * error; it is never recreated or "repaired" silently (a ledger of value must not vanish).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EdgeError, ErrorCode, NO_ROOM } from '../errors.ts';
import { MIGRATIONS, LATEST_VERSION } from './migrations/index.ts';

export type Db = Database.Database;

/** PRAGMA application_id of our databases: ASCII "VPS1" (village points store). */
export const APPLICATION_ID = 0x56505331;

export interface OpenOptions {
  readonly?: boolean;
  /** Refuse to migrate (for tools that only read). */
  migrate?: boolean;
  /** Told of each ledger file whose mode was tightened to 0600 (the daemon logs it). */
  onModeFixed?: (fix: { path: string; from: string; to: string }) => void;
}

/**
 * The ledger holds names, balances and face templates: only its owner may read it. SQLite
 * creates the WAL and shared-memory files with the mode of the database file, so a database
 * file created 0600 keeps all three closed; files left open by older versions are tightened.
 */
export function restrictLedgerModes(file: string, onFix?: OpenOptions['onModeFixed']): void {
  for (const p of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = statSync(p).mode & 0o777;
    } catch {
      continue; // not there (yet)
    }
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(p, 0o600);
    } catch (err) {
      throw new EdgeError(ErrorCode.DB_IO, `cannot make ${p} private (mode ${mode.toString(8)}): ${(err as Error).message}`, { zh: `无法收紧账本文件权限 ${p}`, cause: err, details: { path: p } });
    }
    onFix?.({ path: p, from: mode.toString(8), to: '600' });
  }
}

/** Map SQLite's error codes to ours, so callers (CLI, admin page) can explain them. */
export function translateSqliteError(err: unknown, what: string): EdgeError {
  if (err instanceof EdgeError) return err;
  const code = (err as { code?: string }).code ?? '';
  const msg = (err as Error).message ?? String(err);
  if (code === 'SQLITE_FULL') {
    return new EdgeError(ErrorCode.DB_FULL, `${what}: the disk is full (${msg}); nothing was written`, { zh: '磁盘已满，本次操作未写入', cause: err });
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new EdgeError(ErrorCode.DB_CORRUPT, `${what}: the database file is corrupt or not a database (${msg})`, { zh: '数据库文件损坏或不是数据库', cause: err });
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new EdgeError(ErrorCode.DB_IO, `${what}: the database or its folder cannot be written (${code}: ${msg}); commands that only read still answer from it`, { zh: '数据库或其所在目录不可写（只读的命令仍可使用）', cause: err });
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') {
    return new EdgeError(ErrorCode.DB_IO, `${what}: cannot read or write the database (${code}: ${msg})`, { zh: '无法读写数据库', cause: err });
  }
  return new EdgeError(ErrorCode.INTERNAL, `${what}: ${msg}`, { cause: err });
}

function userTables(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name);
}

/**
 * Bring the schema to LATEST_VERSION. The checks and all pending migrations run in one
 * IMMEDIATE transaction: another process opening the same file at the same moment (the CLI
 * while the daemon starts) waits for the write lock and then finds the work done, instead of
 * taking half-created tables for a foreign database or running a migration twice.
 */
export function migrate(db: Db, file: string): void {
  db.transaction(() => {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0 && appId === 0) {
      const tables = userTables(db);
      if (tables.length > 0) {
        throw new EdgeError(ErrorCode.DB_NOT_OURS, `${file} is a SQLite database of another program (tables: ${tables.slice(0, 5).join(', ')}); refusing to touch it`, { zh: '该数据库不属于本系统，已拒绝打开' });
      }
    } else if (appId !== APPLICATION_ID) {
      throw new EdgeError(ErrorCode.DB_NOT_OURS, `${file} is not a store ledger (application_id ${appId}); refusing to touch it`, { zh: '该数据库不属于本系统，已拒绝打开' });
    }
    if (version > LATEST_VERSION) {
      throw new EdgeError(ErrorCode.DB_NEWER_THAN_CODE, `${file} has schema version ${version}, newer than this program's ${LATEST_VERSION}; upgrade the program or restore a backup`, { zh: '数据库版本比程序新，请升级程序' });
    }
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      if (m.sql !== '') db.exec(m.sql);
      m.up?.(db);
      db.pragma(`user_version = ${m.version}`);
    }
    if (appId === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
  }).immediate();
}

/**
 * Open (creating if absent) the ledger at `file` with WAL, synchronous=FULL and foreign keys,
 * and migrate it. Use ':memory:' for a throwaway ledger in tests.
 */
export function openLedger(file: string, opts: OpenOptions = {}): Db {
  // SQLite answers BUSY at once, without waiting out busy_timeout, where waiting could
  // deadlock: switching a new file to WAL while another process opens it too. That is only
  // the start-up race of two processes on one file, so the whole open is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      return openOnce(file, opts);
    } catch (err) {
      const busy = (err as { cause?: { code?: string } }).cause?.code === 'SQLITE_BUSY';
      if (!busy || attempt >= OPEN_ATTEMPTS) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt);
    }
  }
}

const OPEN_ATTEMPTS = 10;

function openOnce(file: string, opts: OpenOptions): Db {
  if (file !== ':memory:') {
    const dir = path.dirname(file);
    if (opts.readonly && !existsSync(file)) {
      throw new EdgeError(ErrorCode.NOT_FOUND, `no ledger at ${file}`, { zh: `找不到账本数据库 ${file}` });
    }
    try {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      // created empty and private before SQLite opens it (an empty file is an empty database)
      if (!opts.readonly) closeSync(openSync(file, 'a', 0o600));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (NO_ROOM.has(code)) {
        throw new EdgeError(ErrorCode.DB_FULL, `the disk is full: cannot create the ledger ${file} (${code}); nothing was written: free some space and run it again`, { zh: `磁盘已满，无法创建账本文件 ${file}（${code}），本次操作未写入：请腾出空间后再运行`, cause: err, details: { path: file } });
      }
      throw new EdgeError(ErrorCode.DB_IO, `cannot create the ledger ${file} (${code}): ${(err as Error).message}`, { zh: `无法创建账本文件 ${file}（${code}），请检查数据文件夹的路径和权限`, cause: err, details: { path: file } });
    }
    if (!opts.readonly) restrictLedgerModes(file, opts.onModeFixed);
  }
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw translateSqliteError(err, `opening ${file}`);
  }
  try {
    // Reading the schema is what reveals a corrupt or foreign file.
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      // deleted rows (face templates above all) are overwritten with zeros, not left in free space (./face-scrub.ts)
      db.pragma('secure_delete = ON');
    }
    db.pragma('foreign_keys = ON');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') {
      throw new EdgeError(ErrorCode.DB_CORRUPT, `${file} failed the integrity check: ${String(check)}`, { zh: '数据库完整性检查失败' });
    }
    if (opts.migrate !== false && !opts.readonly) migrate(db, file);
    else {
      const v = db.pragma('user_version', { simple: true }) as number;
      if (v > LATEST_VERSION) throw new EdgeError(ErrorCode.DB_NEWER_THAN_CODE, `${file} has schema version ${v}, newer than this program's ${LATEST_VERSION}`, { zh: '数据库版本比程序新，请升级程序' });
    }
  } catch (err) {
    db.close();
    throw translateSqliteError(err, `opening ${file}`);
  }
  return db;
}

/**
 * Open the ledger only to read it, where this process may write neither it nor its folder (a
 * backup mounted read-only, another user's copy). SQLite reads a WAL-mode file read-only only
 * when its -shm file is there or can be made; otherwise the file is read into memory and opened
 * from there (read-only), which is the same ledger as long as no change waits in its -wal file.
 */
export function openLedgerReadOnly(file: string): Db {
  try {
    return readableHere(openLedger(file, { readonly: true }), file);
  } catch (err) {
    const code = ((err as { cause?: { code?: string } }).cause?.code) ?? '';
    if (code !== 'SQLITE_READONLY_DIRECTORY' && code !== 'SQLITE_CANTOPEN') throw err;
  }
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new EdgeError(ErrorCode.DB_IO, `${file} cannot be read here: changes wait in ${wal} and its folder cannot be written; copy the data folder somewhere this user may write and ask there`, {
      zh: `无法读取 ${file}：${wal} 中有尚未并入的更改，且所在目录不可写；请把数据目录复制到可写的位置后再查询`,
      details: { path: file },
    });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new EdgeError(ErrorCode.DB_IO, `cannot read the ledger ${file} (${code}): ${(err as Error).message}`, { zh: `无法读取账本文件 ${file}（${code}）`, cause: err, details: { path: file } });
  }
  // bytes 18 and 19 say WAL (2): in this copy the journal is the classic one (1), there is no -wal to read
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes.fill(1, 18, 20);
  let db: Db;
  try {
    db = new Database(bytes, { readonly: true });
  } catch (err) {
    throw translateSqliteError(err, `reading ${file}`);
  }
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new EdgeError(ErrorCode.DB_CORRUPT, `${file} failed the integrity check: ${String(check)}`, { zh: '数据库完整性检查失败' });
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw translateSqliteError(err, `reading ${file}`);
  }
  return readableHere(db, file);
}

/**
 * `db`, opened read-only, if this program can read it as it is: a store ledger (its application
 * id; 0 in a ledger older than the id, which its migration sets) at this program's schema
 * version. An older one is not migrated here (nothing may be written), and its queries would
 * fail on a missing column as an internal error: it is refused, saying how to read it. Closed
 * when refused.
 */
function readableHere(db: Db, file: string): Db {
  try {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const v = db.pragma('user_version', { simple: true }) as number;
    // id 0: a ledger older than the id (its migration sets it), so below this version; else not ours
    if (appId !== APPLICATION_ID && (appId !== 0 || v === 0 || v >= LATEST_VERSION)) throw new EdgeError(ErrorCode.DB_NOT_OURS, `${file} is not a store ledger; refusing to read it`, { zh: '该数据库不属于本系统，已拒绝打开' });
    if (v > LATEST_VERSION) throw new EdgeError(ErrorCode.DB_NEWER_THAN_CODE, `${file} has schema version ${v}, newer than this program's ${LATEST_VERSION}`, { zh: '数据库版本比程序新，请升级程序' });
    if (v < LATEST_VERSION) {
      throw new EdgeError(ErrorCode.DB_IO, `${file} has schema version ${v}, older than this program's ${LATEST_VERSION}, and cannot be brought up to date where this user may not write; copy the data folder somewhere this user may write and ask there (it is updated on opening)`, {
        zh: `${file} 的数据库版本（${v}）比程序的（${LATEST_VERSION}）旧，而此处不可写，无法升级；请把数据目录复制到可写的位置后再查询（打开时会自动升级）`,
        details: { path: file },
      });
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Checkpoint the WAL and close: what a clean shutdown does. */
export function closeLedger(db: Db): void {
  if (!db.open) return;
  try {
    if (!db.readonly && db.name !== ':memory:') db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/**
 * Run `fn` in one IMMEDIATE transaction (a savepoint when already inside one) and turn
 * SQLite's errors (a full disk, an I/O error) into EdgeErrors naming what was being done.
 * better-sqlite3 rolls the transaction back before the error reaches us: nothing is half-written.
 */
export function inTransaction<T>(db: Db, what: string, fn: () => T): T {
  try {
    return transactionRunner(db).immediate(fn) as T;
  } catch (err) {
    throw translateSqliteError(err, what);
  }
}

const runners = new WeakMap<Db, Database.Transaction<(fn: () => unknown) => unknown>>();

/**
 * One better-sqlite3 transaction function per connection that runs the function it is given:
 * `db.transaction(fn)` builds four wrapper functions and defines their properties at each call,
 * which on the sync agent's hot path (a commit per acknowledgement and per stream event, 25
 * stores to a thread in bench:sync) cost a tenth of a store thread's transactions. The wrapper's
 * behaviour (BEGIN IMMEDIATE, or a savepoint inside a transaction; rollback on a throw) is the
 * library's own.
 */
function transactionRunner(db: Db): Database.Transaction<(fn: () => unknown) => unknown> {
  let r = runners.get(db);
  if (!r) {
    r = db.transaction((fn: () => unknown) => fn());
    runners.set(db, r);
  }
  return r;
}

/**
 * `inTransaction` for bookkeeping that is derived again when it is lost: committed without
 * waiting for the disk (synchronous=NORMAL for this one commit, then back to what the
 * connection had). In WAL mode such a commit is in the log at once, so a crashed or killed
 * process keeps it; only a power cut or an OS crash can lose it, and then nothing committed
 * before it with FULL (the log is written in order, and the next FULL commit makes it durable
 * too). The sync agent keeps what the village ledger acknowledged and when it last heard from
 * it this way: a lost acknowledgement only sends those rows again (the ledger holds their ids
 * and acknowledges them again), and a lost contact only makes the store count itself offline
 * sooner. Each such write otherwise waited for an fsync (bench:sync). Inside a transaction it
 * is a savepoint of that transaction, durable as it is.
 */
export function inLazyTransaction<T>(db: Db, what: string, fn: () => T): T {
  if (db.inTransaction || db.memory) return inTransaction(db, what, fn);
  // Prepared once per connection (cachedStatement): `db.pragma` parses its text on every call,
  // three times per commit on the sync agent's hot path.
  const mode = cachedStatement(db, 'PRAGMA synchronous').pluck().get() as number;
  if (mode <= 1) return inTransaction(db, what, fn);
  cachedStatement(db, 'PRAGMA synchronous = NORMAL').run();
  try {
    return inTransaction(db, what, fn);
  } finally {
    cachedStatement(db, `PRAGMA synchronous = ${mode === 3 ? 'EXTRA' : 'FULL'}`).run();
  }
}

const statementCache = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * `db.prepare(sql)`, prepared once per connection: better-sqlite3 parses the SQL on every
 * `prepare`, which for the small statements of the sync's hot path (outbox reads, acks,
 * applying the village stream) costs more than running them. Only for fixed SQL texts.
 */
export function cachedStatement(db: Db, sql: string): Database.Statement {
  let byText = statementCache.get(db);
  if (!byText) {
    byText = new Map();
    statementCache.set(db, byText);
  }
  let st = byText.get(sql);
  if (!st) {
    st = db.prepare(sql);
    byText.set(sql, st);
  }
  return st;
}

/** Forget the statements prepared for `db`, so the next use of each prepares it again (through `db.prepare` as it is then). */
export function forgetStatements(db: Db): void {
  statementCache.delete(db);
}
