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

/** A token's name (the tokens file's optional `name`): no ':' and no space, so `token:NAME` is no staff user name (lib/passwords.ts USERNAME has no ':'). */
export const TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const TokensSchema = Type.Array(Type.Object({
  token: Type.String({ minLength: 16 }),
  role: Type.Union([Type.Literal('village'), Type.Literal('town')]),
  village: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  name: Type.Optional(Type.String({ pattern: TOKEN_NAME.source })),
}, { additionalProperties: false }), { minItems: 1 });

function readText(file: string, what: string, zh: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `cannot read the ${what} ${file}: ${(err as Error).message}`, { zh: `无法读取${zh} ${file}`, cause: err });
  }
}

/**
 * The tokens file: `token` (16+ characters), `role`, the `village` of a village token and an
 * optional `name`, 1 to 64 letters, digits, . _ -, each its own in the file (whatever the case).
 * A named token is someone to the ledger: what it files names it (`token:NAME`) and it does not
 * approve that itself (governance/duties.ts). Anything else is refused, naming the entry (exit 2).
 */
export function loadTokens(file: string): ApiToken[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(file, 'tokens file', '令牌文件'));
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file} is not JSON`, { zh: `令牌文件 ${file} 不是 JSON` });
  }
  // A name is checked first, so that its refusal names the entry and says what a name may be.
  if (Array.isArray(raw)) {
    raw.forEach((t: unknown, i) => {
      if (t === null || typeof t !== 'object' || !('name' in t)) return;
      const name = (t as { name: unknown }).name;
      if (typeof name === 'string' && TOKEN_NAME.test(name)) return;
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: entry ${i + 1} ${described(t)}: "name" must be 1 to 64 letters, digits, . _ - (no space, no colon); its value is not repeated here, in case it is a secret`,
        { zh: `令牌文件 ${file} 第 ${i + 1} 项：名称（name）须为 1–64 位英文字母、数字或 . _ -（不能有空格或冒号）` });
    });
  }
  if (!Value.Check(TokensSchema, raw)) {
    const e = [...Value.Errors(TokensSchema, raw)][0];
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: ${e ? `${e.path || '/'} ${e.message}` : 'invalid'} (expected [{"token": "…16+ characters", "role": "village"|"town", "village": "…", "name": "…" (optional)}])`, { zh: `令牌文件 ${file} 格式不正确` });
  }
  for (const t of raw) if (t.role === 'village' && !t.village) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: a village token must name its village`, { zh: '村级令牌必须指明所属村' });
  const seen = new Map<string, number>();
  raw.forEach((t, i) => {
    if (t.name === undefined) return;
    const first = seen.get(t.name.toLowerCase());
    if (first !== undefined) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: entries ${first + 1} and ${i + 1} have the same name ${JSON.stringify(t.name)} (names are compared whatever the case); give each token a name of its own`,
        { zh: `令牌文件 ${file} 第 ${first + 1} 项和第 ${i + 1} 项的名称（${t.name}）相同（不区分大小写），每个令牌的名称须各不相同` });
    }
    seen.set(t.name.toLowerCase(), i);
  });
  return raw;
}

/** An entry of the tokens file as a refusal names it: its role and village, never its secret. */
const described = (t: object): string => {
  const { role, village } = t as { role?: unknown; village?: unknown };
  return role === 'village' ? `(a village token${typeof village === 'string' ? ` of ${village}` : ''})` : role === 'town' ? '(a town token)' : '';
};

/**
 * The warning at start, once, when village tokens have no name: what such a token files carries
 * no filer, so the same token approves it (separation of duties does not reach it). Says how many
 * and of which villages, never a token.
 */
function warnUnnamed(log: Logger, file: string, tokens: ApiToken[]): void {
  const unnamed = tokens.filter((t) => t.role === 'village' && t.name === undefined);
  if (unnamed.length === 0) return;
  const villages = [...new Set(unnamed.map((t) => t.village!))].sort();
  log.warn({ tokens_file: file, unnamed_village_tokens: unnamed.length, villages },
    `${unnamed.length} village ${unnamed.length === 1 ? 'token has' : 'tokens have'} no name in ${file} (${villages.join(', ')}): a record such a token files may be approved by the same token; give each village token a "name" so that another token or a staff member approves it / 令牌文件中有 ${unnamed.length} 个村级令牌没有名称（${villages.join('、')}）：这类令牌登记的记录可由同一令牌自行审核；请为每个村级令牌设置名称（name），使其登记的记录须由其他令牌或工作人员审核`);
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
  warnUnnamed(o.log, o.tokensFile, tokens);
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
