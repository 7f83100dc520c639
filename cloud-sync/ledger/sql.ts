/**
 * The village ledger's storage behind one small interface, with two implementations:
 * SQLite (better-sqlite3, the default) and PostgreSQL (`pg`, when DATABASE_URL is set).
 * Queries are written once with `$1` placeholders; each driver adapts them.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { restrictLedgerModes } from '../../edge/ledger/db.ts';
import { Turns } from './turns.ts';
import { connectTimeoutMs } from './db-url.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface TxOptions {
  /**
   * The villages whose stream the transaction appends to (each village's `next_seq`, which every
   * such write updates), or another name every writer of one thing takes (the schema's
   * migration). Transactions naming the same one wait for each other and run one after another,
   * in every process on the database, instead of starting together and all but one failing on
   * PostgreSQL. SQLite runs one writer at a time anyway. The outermost transaction names them;
   * one inside it (`tx.transaction`) is part of it.
   */
  queue?: readonly string[];
}

export interface SqlDb {
  readonly dialect: Dialect;
  /** SQLite: the database file, so a worker thread can read it on a connection of its own. */
  readonly file?: string;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /**
   * `sql` run once per parameter tuple of `rows`, in order; the number of rows each run changed.
   * On SQLite the statement is prepared once and each run costs a few microseconds, less than
   * one statement of thousands of placeholders, whose text is built, rewritten and prepared per
   * row count (cloud-sync/ledger/rows.ts). On PostgreSQL each run is a round trip: there a
   * multi-row statement is cheaper.
   */
  runEach(sql: string, rows: unknown[][]): Promise<number[]>;
  /**
   * One transaction: SERIALIZABLE on PostgreSQL (retried on a serialization failure, after a
   * growing, random pause; `busyError` when the attempts run out), and on SQLite one writer at a
   * time (BEGIN IMMEDIATE). `fn` must use `tx`, not the outer db.
   */
  transaction<T>(fn: (tx: SqlDb) => Promise<T>, opts?: TxOptions): Promise<T>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A query's text for SQLite and, for each `?` in order, which `$n` it stands for (0-based). */
interface SqliteText { sql: string; order: number[]; identity: boolean }

/**
 * `$n` → `?`, remembered per text: a group of row batches is one statement of thousands of
 * placeholders (rows.ts), and rewriting it with a regular expression on every run cost the
 * ledger more than a tenth of its time in bench:sync. Texts are few (they differ by the number
 * of rows), so the cache is small; past its bound texts are rewritten each time.
 */
const sqliteTexts = new Map<string, SqliteText>();

function sqliteText(sql: string): SqliteText {
  let t = sqliteTexts.get(sql);
  if (t) return t;
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    order.push(Number(n) - 1);
    return '?';
  });
  t = { sql: text, order, identity: order.every((n, i) => n === i) };
  if (sqliteTexts.size < 500) sqliteTexts.set(sql, t);
  return t;
}

/** The parameters of `$n` text `t` in the order of its `?`, booleans as 1 and 0 (SQLite has none). */
function sqliteParams(t: SqliteText, params: unknown[]): unknown[] {
  const ordered = t.identity && params.length === t.order.length ? params : t.order.map((n) => params[n]);
  return ordered.some((p) => typeof p === 'boolean') ? ordered.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p)) : ordered;
}

/** `$n` → `?` with the parameters reordered, since SQLite's `?` are positional. */
function toSqlite(sql: string, params: unknown[]): { sql: string; params: unknown[] } {
  const t = sqliteText(sql);
  return { sql: t.sql, params: sqliteParams(t, params) };
}

export function openSqlite(file: string): SqlDb {
  if (file !== ':memory:' && file !== '') {
    // villagers' names, balances and claims: created private before SQLite opens it (its -wal
    // and -shm take the file's mode); a file left readable by others is closed
    closeSync(openSync(file, 'a', 0o600));
    restrictLedgerModes(file);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Deleted or emptied content is overwritten with zeros, not left in free pages: a purged
  // evidence photo (governance/evidence-retention.ts) must not be carved back out of the file.
  db.pragma('secure_delete = ON');
  // better-sqlite3 is synchronous; an async transaction must keep every other caller out
  // until it ends, so all access goes through one queue.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  // Statements are prepared once per text: preparing costs more than running a small one.
  const statements = new Map<string, Database.Statement>();
  const prepared = (text: string): Database.Statement => {
    let st = statements.get(text);
    if (!st) {
      st = db.prepare(text);
      if (statements.size < 500) statements.set(text, st);
    }
    return st;
  };
  const direct: Omit<SqlDb, 'transaction' | 'close'> = {
    dialect: 'sqlite',
    query: async <T>(sql: string, params: unknown[] = []) => {
      const q = toSqlite(sql, params);
      return prepared(q.sql).all(...q.params) as T[];
    },
    run: async (sql, params = []) => {
      const q = toSqlite(sql, params);
      return prepared(q.sql).run(...q.params).changes;
    },
    runEach: async (sql, rows) => {
      if (rows.length === 0) return [];
      const t = sqliteText(sql);
      const st = prepared(t.sql);
      return rows.map((params) => st.run(...sqliteParams(t, params)).changes);
    },
    exec: async (sql) => {
      db.exec(sql);
    },
  };
  const inTx: SqlDb = { ...direct, transaction: (fn) => fn(inTx), close: async () => undefined };
  return {
    dialect: 'sqlite',
    file,
    query: (sql, params) => serial(() => direct.query(sql, params)),
    run: (sql, params) => serial(() => direct.run(sql, params)),
    runEach: (sql, rows) => serial(() => direct.runEach(sql, rows)),
    exec: (sql) => serial(() => direct.exec(sql)),
    transaction: (fn) =>
      serial(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const r = await fn(inTx);
          db.exec('COMMIT');
          return r;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      }),
    close: () => serial(async () => void db.close()),
  };
}

/**
 * A read-only connection to a ledger file, for a worker thread: long reports (the town roll-up)
 * run there, beside the writer, as WAL allows, and never hold the ledger's event loop.
 */
export function openSqliteReadOnly(file: string): SqlDb {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const self: SqlDb = {
    dialect: 'sqlite',
    file,
    query: async <T>(sql: string, params: unknown[] = []) => {
      const q = toSqlite(sql, params);
      let st = statements.get(q.sql);
      if (!st) statements.set(q.sql, (st = db.prepare(q.sql)));
      return st.all(...q.params) as T[];
    },
    run: () => Promise.reject(new Error('a read-only ledger connection')),
    runEach: () => Promise.reject(new Error('a read-only ledger connection')),
    exec: () => Promise.reject(new Error('a read-only ledger connection')),
    transaction: (fn) => fn(self),
    close: async () => void db.close(),
  };
  return self;
}

const SERIALIZATION_FAILURE = new Set(['40001', '40P01']);

/** Attempts of a PostgreSQL transaction that meets serialization failures, before `busyError`. */
export const PG_TX_ATTEMPTS = 10;
/** The pause before the n-th retry is random in [0, min(PG_RETRY_CAP_MS, PG_RETRY_BASE_MS·2ⁿ)) ("full jitter"). */
export const PG_RETRY_BASE_MS = 4;
export const PG_RETRY_CAP_MS = 250;
/** What a busy answer asks the caller to wait before sending again. */
export const BUSY_RETRY_AFTER_S = 1;

/** A transaction that could not get through other changes made at the same time: nothing was changed (503, Retry-After). */
export function busyError(cause: unknown): EdgeError {
  return new EdgeError(ErrorCode.DB_BUSY, `the ledger database is busy with other changes to the same records; nothing was changed, try again in ${BUSY_RETRY_AFTER_S} s`, {
    zh: '账本数据库正忙，本次操作未保存，请稍后再试',
    cause,
    details: { status: 503, retryAfterS: BUSY_RETRY_AFTER_S },
  });
}

/**
 * A village's turn across every process on the database (the ledger, a CLI): a session advisory
 * lock per name, in this schema (tests share a database, each in a schema of its own). Taken before
 * BEGIN, so the transaction's snapshot is taken after the previous holder's commit and sees its
 * `next_seq`: a lock taken inside a SERIALIZABLE transaction would come after its snapshot and
 * the update would fail all the same. Two names hashing alike only queue more than needed; a
 * deadlock between them is reported (40P01) and retried like any serialization failure.
 */
const LOCK_CLASS = 0x4c45; // "LE": the ledger's advisory locks, apart from any other program's
async function lockNames(client: pg.PoolClient, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  // All in one round trip, in the names' order (a grouped store batch names every village it
  // holds: 50 in bench:sync, where a query per name cost the ledger 50 round trips per group).
  await client.query(
    "SELECT pg_advisory_lock($1, hashtext(current_schema() || '/' || n)) FROM (SELECT n FROM unnest($2::text[]) AS n ORDER BY n) AS ordered",
    [LOCK_CLASS, names],
  );
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * pg's client with a connect timeout of `ms` (db-url.ts `connectTimeoutMs`). Given to the pool as
 * its Client rather than as the pool's `connectionTimeoutMillis`, which would also limit how long
 * a caller waits for one of the pool's connections while all are busy in long transactions.
 */
function clientWithConnectTimeout(ms: number): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super({ ...(typeof config === 'string' ? { connectionString: config } : config), connectionTimeoutMillis: ms });
    }
  };
}

/** `schema`: a search_path for this pool (tests use a schema of their own). */
export function openPostgres(url: string, schema?: string): SqlDb {
  const Client = clientWithConnectTimeout(connectTimeoutMs(url));
  const pool = new pg.Pool({ connectionString: url, max: 4, Client, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  // An idle client losing its connection must not crash the ledger; the pool replaces it.
  pool.on('error', () => undefined);
  const turns = new Turns();
  const over = (c: pg.Pool | pg.PoolClient): Omit<SqlDb, 'transaction' | 'close'> => ({
    dialect: 'postgres',
    query: async <T>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as T[],
    run: async (sql, params = []) => (await c.query(sql, params)).rowCount ?? 0,
    runEach: async (sql, rows) => {
      const changed: number[] = [];
      for (const params of rows) changed.push((await c.query(sql, params)).rowCount ?? 0);
      return changed;
    },
    exec: async (sql) => void (await c.query(sql)),
  });
  /** One attempt on a connection of its own; a connection left in doubt is closed, not pooled. */
  const attempt = async <T>(fn: (tx: SqlDb) => Promise<T>, names: readonly string[]): Promise<T> => {
    const client = await pool.connect();
    const tx: SqlDb = { ...over(client), transaction: (f) => f(tx), close: async () => undefined };
    let broken: Error | undefined;
    try {
      await lockNames(client, names);
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const r = await fn(tx);
      await client.query('COMMIT');
      return r;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      if (names.length > 0 && !broken) await client.query('SELECT pg_advisory_unlock_all()').catch((e: Error) => (broken = e));
      // Closing the connection ends its session, and with it any lock it still holds.
      client.release(broken ?? false);
    }
  };
  return {
    ...over(pool),
    transaction: async (fn, opts) => {
      const names = [...new Set(opts?.queue ?? [])].sort();
      const giveBack = await turns.take(names);
      try {
        for (let n = 1; ; n++) {
          try {
            return await attempt(fn, names);
          } catch (err) {
            if (!SERIALIZATION_FAILURE.has((err as { code?: string }).code ?? '')) throw err;
            if (n >= PG_TX_ATTEMPTS) throw busyError(err);
          }
          await pause(Math.random() * Math.min(PG_RETRY_CAP_MS, PG_RETRY_BASE_MS * 2 ** n));
        }
      } finally {
        giveBack();
      }
    },
    close: () => pool.end(),
  };
}

/** PostgreSQL when DATABASE_URL is set, else SQLite at `sqliteFile`. */
export function openLedgerDb(opts: { databaseUrl?: string | undefined; sqliteFile: string; pgSchema?: string }): SqlDb {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.pgSchema) : openSqlite(opts.sqliteFile);
}
