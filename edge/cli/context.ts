/** What every command shares: options common to all, config loading, error reporting. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { withKeysApart } from '../keys.ts';
import { holdForCommand } from '../ledger-holds.ts';
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { openLedger, openLedgerReadOnly, closeLedger, type Db } from '../ledger/db.ts';
import { EdgeError, ErrorCode, NOT_WRITABLE } from '../errors.ts';

export interface CommonOptions {
  dataDir?: string;
  config?: string;
  json?: boolean;
}

/** Add --data-dir / --config (and --json where the command reports) to a command. */
export function withCommon(cmd: Command, opts: { json?: boolean } = {}): Command {
  cmd.option('--data-dir <dir>', 'data folder (database, keys) / 数据目录').option('--config <file>', 'config file (YAML or JSON) / 配置文件');
  if (opts.json) cmd.option('--json', 'print JSON / 输出 JSON');
  return cmd;
}

/** The config, with the face-template key's path in the keys folder when the keys are apart (edge/keys.ts). */
export function configFrom(opts: CommonOptions): Config {
  return loadedConfig(opts).config;
}

/** The config as configFrom reads it, with the file it was read from (null: the defaults). */
export function loadedConfig(opts: CommonOptions): LoadedConfig {
  const loaded = loadConfig({ file: opts.config, dataDir: opts.dataDir });
  return { config: withKeysApart(loaded.config), file: loaded.file };
}

export function ledgerPath(config: Config): string {
  return path.join(config.data_dir, 'ledger.sqlite');
}

/**
 * The store's ledger file, which must exist: only the daemon's start makes a new one. A
 * mistyped --data-dir or data_dir would otherwise be taken as a new, empty store (an account
 * added there is not the store's). Exit 2 naming the path.
 */
export function existingLedger(config: Config): string {
  const file = ledgerPath(config);
  if (!existsSync(file)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `there is no store ledger at ${file}: check --data-dir / --config (data_dir); a new store's ledger is made by its first start (store-edge start)`, {
      zh: `${file} 没有门店账本：请检查 --data-dir / --config（data_dir）；新门店的账本在首次启动（store-edge start）时创建`,
      details: { path: file },
    });
  }
  return file;
}

/**
 * Run `fn` with the store's open ledger (which must exist), closing it afterwards whatever
 * happens. The command holds the ledger meanwhile: refused while a restore runs, and no restore
 * starts until it is done (edge/ledger-holds.ts). `loaded`: the config already read for this
 * command (configFrom, loadedConfig), not read again.
 */
export function withLedger<T>(opts: CommonOptions, fn: (db: Db, config: Config) => T, loaded?: Config): T {
  const config = loaded ?? configFrom(opts);
  const file = existingLedger(config);
  const release = holdForCommand(config.data_dir);
  try {
    const db = openLedger(file);
    try {
      return fn(db, config);
    } finally {
      closeLedger(db);
    }
  } finally {
    release();
  }
}

/** Whether `err` says that a file or folder could not be written (read-only filesystem, permissions). */
function notWritable(err: unknown): boolean {
  if (!(err instanceof EdgeError) || err.code !== ErrorCode.DB_IO) return false;
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  return NOT_WRITABLE.has(code) || code.startsWith('SQLITE_READONLY');
}

/**
 * `withLedger` for a command that only reads (balance, lists): it also answers from a data folder
 * or ledger this process may not write, such as a backup mounted read-only. The ledger is then
 * opened read-only (never migrated); in a folder that cannot be written no hold is marked, and
 * none is needed: a restore cannot replace a ledger there either. Any other failure is as for
 * `withLedger`.
 */
export function readLedger<T>(opts: CommonOptions, fn: (db: Db, config: Config) => T, loaded?: Config): T {
  const config = loaded ?? configFrom(opts);
  const file = existingLedger(config);
  let release: (() => void) | undefined;
  try {
    release = holdForCommand(config.data_dir);
  } catch (err) {
    if (!notWritable(err)) throw err;
  }
  try {
    let db: Db;
    try {
      db = release ? openLedger(file) : openLedgerReadOnly(file);
    } catch (err) {
      if (!release || !notWritable(err)) throw err;
      db = openLedgerReadOnly(file); // the folder may be written, the ledger file not
    }
    try {
      return fn(db, config);
    } finally {
      closeLedger(db);
    }
  } finally {
    release?.();
  }
}

/** Parse an integer option strictly ("12abc" and "1.5" are errors, not 12 and 1). */
export function parseIntOption(name: string, value: string): number {
  if (!/^-?\d+$/.test(value.trim())) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${name} must be a whole number, got ${JSON.stringify(value)}`, { zh: `${name} 必须是整数` });
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${name} is out of range: ${value}`, { zh: `${name} 超出范围` });
  return n;
}

/** A TCP port to listen on: 0 (any free port) to 65535. */
export function portOption(flag: string, value: string): number {
  const n = parseIntOption(flag, value);
  if (n < 0 || n > 65535) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${flag} must be a port from 0 (any free port) to 65535, got ${value}`, { zh: `${flag} 必须是 0（任选空闲端口）到 65535 之间的端口号，收到 ${value}` });
  }
  return n;
}

export function print(opts: CommonOptions, json: unknown, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}
