/** The village ledger as a process: database, MQTT side and API started together, stopped in reverse. */
import { readFileSync } from 'node:fs';
import { createHash, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { translateSqliteError } from '../../edge/ledger/db.ts';
import type { Logger } from '../../edge/log.ts';
import { openLedgerDb, type SqlDb } from './sql.ts';
import { databaseUrlError } from './db-url.ts';
import { migrateLedger } from './migrations.ts';
import { ensureDefaultItems } from './governance/rules.ts';
import { LedgerService } from './service.ts';
import { buildLedgerApi, type ApiToken } from './api.ts';
import { BoardPublisher } from './board/publisher.ts';
import { privateEd25519 } from '../protocol/sign.ts';
import { countStaff } from './staff/accounts.ts';
import { RollupRunner } from './governance/rollup-runner.ts';
import { DEFAULT_LEDGER_RETENTION, LedgerRetention, type LedgerRetentionOptions } from './retention.ts';

export interface LedgerRunOptions {
  brokerUrl: string;
  /** PostgreSQL when set; else SQLite at `sqliteFile`. */
  databaseUrl?: string | undefined;
  sqliteFile: string;
  keyFile: string;
  keyId: string;
  tokensFile: string;
  host: string;
  port: number;
  mqttUsername?: string | undefined;
  mqttPassword?: string | undefined;
  /** TLS (mqtts:// or wss://): the broker's CA, and the ledger's client certificate and key (PEM files). */
  caFile?: string | undefined;
  certFile?: string | undefined;
  mqttKeyFile?: string | undefined;
  /**
   * The MQTT client id, the same at every run so that a restarted ledger resumes its broker
   * session (and gets what was queued for it meanwhile) instead of leaving one behind per run.
   * Default: `ledgerClientId` of the database. Two ledgers must never share one.
   */
  clientId?: string | undefined;
  /**
   * Ed25519 private key (PEM) that signs villagers' store-door QR codes; its public key is
   * each store's `entry.qr_public_key_file`. Without it the villager page shows no QR code.
   */
  qrKeyFile?: string | undefined;
  log: Logger;
  /** How often the public boards' sources are checked for a change (default 5 s). */
  boardCheckMs?: number | undefined;
  /**
   * Retention: evidence photos' and the stores' alarm history's kept days (0 for ever), the
   * purge's cron and time zone (defaults: 365 days each, 03:15 village time; retention.ts).
   */
  retention?: Partial<LedgerRetentionOptions> | undefined;
}

/**
 * The default client id: derived from where the ledger's data is (the PostgreSQL database's host,
 * port and name, without the user or password; else the SQLite file's absolute path), so the
 * same ledger gets the same id at each start and two ledgers on their own data get different ones.
 */
export function ledgerClientId(where: { databaseUrl?: string | undefined; sqliteFile: string }): string {
  let identity = `sqlite:${path.resolve(where.sqliteFile)}`;
  if (where.databaseUrl) {
    try {
      const u = new URL(where.databaseUrl);
      identity = `postgres://${u.hostname}:${u.port || '5432'}${u.pathname}`;
    } catch {
      identity = `postgres:${where.databaseUrl.replace(/\/\/[^@/]*@/, '//')}`;
    }
  }
  return `ledger-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}

const TokensSchema = Type.Array(Type.Object({
  token: Type.String({ minLength: 16 }),
  role: Type.Union([Type.Literal('village'), Type.Literal('town')]),
  village: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false }), { minItems: 1 });

function readText(file: string, what: string, zh: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `cannot read the ${what} ${file}: ${(err as Error).message}`, { zh: `无法读取${zh} ${file}`, cause: err });
  }
}

export function loadTokens(file: string): ApiToken[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(file, 'tokens file', '令牌文件'));
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file} is not JSON`, { zh: `令牌文件 ${file} 不是 JSON` });
  }
  if (!Value.Check(TokensSchema, raw)) {
    const e = [...Value.Errors(TokensSchema, raw)][0];
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: ${e ? `${e.path || '/'} ${e.message}` : 'invalid'} (expected [{"token": "…16+ characters", "role": "village"|"town", "village": "…"}])`, { zh: `令牌文件 ${file} 格式不正确` });
  }
  for (const t of raw) if (t.role === 'village' && !t.village) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: a village token must name its village`, { zh: '村级令牌必须指明所属村' });
  return raw;
}

export async function runLedger(o: LedgerRunOptions): Promise<{ url: string; clientId: string; db: SqlDb; service: LedgerService; board: BoardPublisher; stop: () => Promise<void> }> {
  let key;
  try {
    key = privateEd25519(o.keyId, readText(o.keyFile, 'signing key', '签名私钥'));
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${o.keyFile} is not an Ed25519 private key (PEM): ${(err as Error).message}`, { zh: '签名私钥不是 Ed25519 PEM 格式' });
  }
  let qrKey: KeyObject | undefined;
  if (o.qrKeyFile) {
    try {
      qrKey = createPrivateKey(readText(o.qrKeyFile, 'QR signing key', '二维码签名私钥'));
      if (qrKey.asymmetricKeyType !== 'ed25519') throw new Error(`a ${qrKey.asymmetricKeyType ?? 'unknown'} key`);
    } catch (err) {
      if (err instanceof EdgeError) throw err;
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${o.qrKeyFile} is not an Ed25519 private key (PEM): ${(err as Error).message}`, { zh: '二维码签名私钥不是 Ed25519 PEM 格式' });
    }
  }
  const tokens = loadTokens(o.tokensFile);
  const retentionOptions: LedgerRetentionOptions = { ...DEFAULT_LEDGER_RETENTION, ...Object.fromEntries(Object.entries(o.retention ?? {}).filter(([, v]) => v !== undefined)) };
  LedgerRetention.check(retentionOptions);
  // What has started, stopped in reverse if a later part fails to start: a half-started ledger
  // would keep its MQTT client and timers and the process would never exit.
  const started: (() => Promise<void>)[] = [];
  try {
    let db: SqlDb;
    try {
      db = openLedgerDb({ databaseUrl: o.databaseUrl, sqliteFile: o.sqliteFile });
    } catch (err) {
      throw translateSqliteError(err, `opening the village ledger ${o.databaseUrl ? 'database' : o.sqliteFile}`);
    }
    started.push(() => db.close());
    // the first query: a database that does not exist or a server not reached is DATABASE_URL's fault, named (./db-url.ts)
    await migrateLedger(db).catch((err: unknown) => { throw databaseUrlError(err, o.databaseUrl); });
    // The shipped rule library, as the town's items (a code already there is left as it is).
    await ensureDefaultItems(db, new Date());
    const clientId = o.clientId ?? ledgerClientId(o);
    const service = new LedgerService({ db, key, log: o.log, alarmKeepDays: retentionOptions.alarmKeepDays, mqtt: { url: o.brokerUrl, clientId, username: o.mqttUsername, password: o.mqttPassword, caFile: o.caFile, certFile: o.certFile, keyFile: o.mqttKeyFile, log: o.log } });
    service.start();
    started.push(() => service.stop());
    // The stores' public boards: sent when what they show changes, and every few minutes anyway.
    const board = new BoardPublisher({ db, key, log: o.log, publish: (village, e) => service.publishBoard(village, e), ...(o.boardCheckMs ? { checkMs: o.boardCheckMs } : {}) });
    board.start();
    started.push(() => board.stop());
    const retention = new LedgerRetention({ db, log: o.log, options: retentionOptions });
    retention.start();
    started.push(() => retention.stop());
    // No staff account yet: the first is made at /setup with a one-time token printed here only,
    // so nobody else on the network can take it first (as the store's admin page does).
    const setupToken = (await countStaff(db)) === 0 ? randomBytes(18).toString('base64url') : undefined;
    // The roll-up's worker thread loads now, not at the town's first click.
    const rollups = new RollupRunner(db);
    rollups.warm();
    started.push(() => rollups.stop());
    const app = buildLedgerApi({ db, service, tokens, log: o.log, qrKey, board, setupToken, rollups });
    started.push(() => app.close().then(() => undefined));
    const url = await listen(app, o.host, o.port);
    if (setupToken) {
      const setupUrl = `${url}/setup?token=${setupToken}`;
      o.log.warn({ setup_url: setupUrl }, `no staff account yet: open ${setupUrl} to create the first one (or \`store-edge ledger staff add\`) / 尚无工作人员账号：打开此链接创建第一个账号`);
    }
    const stop = async (): Promise<void> => {
      for (const s of [...started].reverse()) await s();
    };
    return { url, clientId, db, service, board, stop };
  } catch (err) {
    for (const s of [...started].reverse()) await s().catch((e: unknown) => o.log.warn({ err: e }, 'stopping a part of the ledger failed / 停止村账本组件失败'));
    throw err;
  }
}

/** The API listening; a port in use or an address not of this machine is a failure (exit 1), named. */
async function listen(app: ReturnType<typeof buildLedgerApi>, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      const why = code === 'EADDRINUSE' ? { en: 'is already in use', zh: '端口已被占用' } : { en: 'may not be opened by this user', zh: '没有权限使用该端口' };
      throw new EdgeError(ErrorCode.PORT_IN_USE, `port ${port} on ${host} ${why.en}; choose another with --port (0 picks a free port)`, { zh: `${why.zh}：${host}:${port}。请用 --port 换一个端口（0 表示自动选择空闲端口）`, cause: err });
    }
    throw new EdgeError(ErrorCode.INTERNAL, `the ledger's API cannot listen on ${host}:${port}: ${(err as Error).message}`, { zh: `村账本接口无法监听 ${host}:${port}`, cause: err });
  }
}
