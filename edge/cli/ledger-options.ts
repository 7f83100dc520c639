/**
 * `store-edge ledger …`'s options checked before anything starts: a wrong value is bad input
 * (exit 2, naming the flag), never a stack trace from deep inside, nor a half-started ledger.
 */
import { accessSync, closeSync, constants, existsSync, openSync, readSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { openSqliteReadOnly } from '../../cloud-sync/ledger/sql.ts';
import { notAVillageLedger } from '../../cloud-sync/ledger/foreign-db.ts';
import { brokerTlsProblem, brokerUrlProblem } from '../../cloud-sync/broker-url.ts';
import { databaseUrlError, databaseUrlProblem } from '../../cloud-sync/ledger/db-url.ts';

const bad = (en: string, zh: string): EdgeError => new EdgeError(ErrorCode.INVALID_ARGUMENT, en, { zh });

/** An address this machine can listen on: a name must resolve (an unknown name would fail only at listen). */
export async function hostOption(flag: string, value: string): Promise<string> {
  if (value.trim() === '') throw bad(`${flag} must not be empty`, `${flag} 不能为空`);
  try {
    await lookup(value);
  } catch (err) {
    throw bad(`${flag} ${JSON.stringify(value)} does not resolve to an address (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, `${flag} ${value} 无法解析为地址`);
  }
  return value;
}

/** An MQTT broker's URL: mqtt://, mqtts://, ws:// or wss:// with a host (cloud-sync/broker-url.ts, as the store's sync.broker_url). */
export function brokerOption(flag: string, value: string): string {
  const p = brokerUrlProblem(value);
  if (p) throw bad(`${flag} ${p.en}`, `${flag} ${p.zh}`);
  return value;
}

/** A file to read that must be there (a PEM file for TLS): named with its flag when it is not. */
export function readableFileOption(flag: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const file = path.resolve(value);
  if (!existsSync(file) || !statSync(file).isFile()) throw bad(`${flag} ${value}: no such file (${file})`, `${flag} ${value}：文件不存在（${file}）`);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw bad(`${flag} ${value}: this user may not read it`, `${flag} ${value}：当前用户无权读取该文件`);
  }
  return file;
}

/** The broker's TLS files (flags, else MQTT_CA_FILE, MQTT_CERT_FILE, MQTT_KEY_FILE): each there, and only with a TLS URL. */
export function brokerTlsOptions(brokerUrl: string, o: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }, env: NodeJS.ProcessEnv): { caFile?: string; certFile?: string; mqttKeyFile?: string } {
  const pick = (flag: string, name: string, value: string | undefined): [string, string | undefined] => (value === undefined && env[name] ? [name, env[name]] : [flag, value]);
  const [caName, ca] = pick('--broker-ca-file', 'MQTT_CA_FILE', o.ca);
  const [certName, cert] = pick('--broker-cert-file', 'MQTT_CERT_FILE', o.cert);
  const [keyName, key] = pick('--broker-key-file', 'MQTT_KEY_FILE', o.key);
  const files = { ca: readableFileOption(caName, ca), cert: readableFileOption(certName, cert), key: readableFileOption(keyName, key) };
  const p = brokerTlsProblem(brokerUrl, files, { ca: caName, cert: certName, key: keyName, url: '--broker' });
  if (p) throw bad(p.en, p.zh);
  return { ...(files.ca ? { caFile: files.ca } : {}), ...(files.cert ? { certFile: files.cert } : {}), ...(files.key ? { mqttKeyFile: files.key } : {}) };
}

/** An MQTT client id (MQTT 3.1.1 asks brokers for 1–23 letters and digits; Mosquitto takes more): 1–128 of letters, digits and . _ : - */
export function clientIdOption(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(value)) throw bad(`${flag} must be 1 to 128 letters, digits, '.', '_', ':' or '-', got ${JSON.stringify(value)}`, `${flag} 必须是 1–128 个字母、数字或 . _ : -`);
  return value;
}

/** A signing key's id as the protocol carries it (cloud-sync/protocol/payloads.ts `key_id`: 1–64 characters). */
export function keyIdOption(flag: string, value: string): string {
  if (value.trim() === '' || value.length > 64) throw bad(`${flag} must be 1 to 64 characters, got ${value.length}`, `${flag} 必须是 1–64 个字符`);
  return value;
}

/** Why this user cannot write `p` (EROFS, EACCES, …), or undefined when it can. */
function notWritable(p: string): string | undefined {
  try {
    accessSync(p, constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EACCES';
  }
}

/** `flag value`: `p` cannot be written (a read-only filesystem, or not this user's), as bad input naming the flag. */
export function unwritable(flag: string, value: string, p: string, code: string): EdgeError {
  const ro = code === 'EROFS';
  return bad(`${flag} ${value}: ${p} cannot be written (${code}${ro ? ': a read-only filesystem' : ''}); give a place this user may write`,
    `${flag} ${value}：${p} 不可写（${code}${ro ? '：只读文件系统' : ''}）；请给出当前用户可写的位置`);
}

/** A file that may be created: its folder must exist and be writable (whether the file may be there already is the caller's rule: keygen refuses to overwrite, --db opens it). */
export function newFileOption(flag: string, value: string): string {
  const dir = path.dirname(path.resolve(value));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw bad(`${flag} ${value}: the folder ${dir} does not exist`, `${flag} ${value}：文件夹 ${dir} 不存在`);
  const code = notWritable(dir);
  if (code) throw unwritable(flag, value, dir, code);
  return value;
}

/** A SQLite file the ledger writes (`ledger serve --db`): the file, when there, and its folder (the journal) writable. */
export function writableSqliteFileOption(flag: string, file: string): string {
  for (const p of [file, path.dirname(file)]) {
    const code = existsSync(p) ? notWritable(p) : undefined;
    if (code) throw unwritable(flag, file, p, code);
  }
  return file;
}

/**
 * The village ledger's SQLite file (not used with DATABASE_URL): in a folder that exists, and
 * either not there yet (it is created) or a SQLite database.
 */
export function sqliteFileOption(flag: string, value: string): string {
  const file = path.resolve(value);
  if (!existsSync(file)) return newFileOption(flag, file);
  if (!statSync(file).isFile()) throw bad(`${flag} ${value} is not a file`, `${flag} ${value} 不是文件`);
  const head = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  // An empty file is a database not yet written; anything else starts with SQLite's header.
  if (n > 0 && head.toString('latin1', 0, n) !== 'SQLite format 3\u0000') throw bad(`${flag} ${value} is not a SQLite database`, `${flag} ${value} 不是 SQLite 数据库`);
  return file;
}

/**
 * The SQLite file of a village ledger that is already there (`ledger staff`): a mistyped path
 * must not become a new, empty ledger holding the only staff account. Only `ledger serve`
 * makes a new one.
 */
export function existingSqliteFileOption(flag: string, value: string): string {
  const file = path.resolve(value);
  if (!existsSync(file)) {
    throw bad(`${flag} ${value}: there is no village ledger at ${file}; give the ledger's SQLite file (the demo's: data/village/ledger.sqlite); a new ledger is made by store-edge ledger serve`,
      `${flag} ${value}：村账本文件 ${file} 不存在，这里没有村账本；请给出村账本的 SQLite 文件（演示的村账本：data/village/ledger.sqlite）；新的村账本由 store-edge ledger serve 创建`);
  }
  return sqliteFileOption(flag, file);
}

/**
 * `--db` as the village ledger: `sqliteFileOption` (or `existingSqliteFileOption` when it must be
 * there already), and a database in it must be a village ledger — the store's own ledger or
 * another program's file is refused (read only, never written to), not given the village's tables.
 */
export async function villageLedgerFileOption(flag: string, value: string, opts: { existing?: boolean } = {}): Promise<string> {
  const file = opts.existing ? existingSqliteFileOption(flag, value) : sqliteFileOption(flag, value);
  if (!existsSync(file) || statSync(file).size === 0) return file;
  const db = openSqliteReadOnly(file);
  let why: Awaited<ReturnType<typeof notAVillageLedger>>;
  try {
    why = await notAVillageLedger(db);
  } finally {
    await db.close();
  }
  if (why) {
    throw bad(`${flag} ${file} is not a village ledger: ${why.en}; refusing to touch it. Give the village ledger's SQLite file (the demo's: data/village/ledger.sqlite)`,
      `${flag} ${file} 不是村账本：${why.zh}；已拒绝改动。请给出村账本的 SQLite 文件（演示的村账本：data/village/ledger.sqlite）`);
  }
  return file;
}

/** DATABASE_URL's database refused as not a village ledger (migrateLedger) is bad input, as such a --db file is. */
export function asBadDatabaseUrl(err: unknown): unknown {
  if (!isEdgeError(err, ErrorCode.DB_NOT_OURS) || !process.env.DATABASE_URL) return err;
  return new EdgeError(ErrorCode.INVALID_ARGUMENT, `DATABASE_URL: ${err.message}`, { zh: `DATABASE_URL：${err.zh ?? ''}`, cause: err });
}

/**
 * DATABASE_URL's server not reached (refused, no such host, timed out) or not letting us in (a
 * wrong password, no such database): said naming DATABASE_URL and what is wrong, its password
 * masked (exit 1), not as an internal error (cloud-sync/ledger/db-url.ts).
 */
export function unreachableDatabaseUrl(err: unknown): unknown {
  return databaseUrlError(err, process.env.DATABASE_URL);
}

/** DATABASE_URL, when set, must be a PostgreSQL URL (bad input, exit 2, before anything starts); its value. */
export function databaseUrlOption(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.DATABASE_URL || undefined;
  const p = url === undefined ? undefined : databaseUrlProblem(url);
  if (p) throw bad(`DATABASE_URL ${p.en}`, `DATABASE_URL ${p.zh}`);
  return url;
}
