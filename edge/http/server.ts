/** Listening for the admin page, with explicit timeouts and a graceful close. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log.ts';
import type { HttpConfig } from '../config/schema.ts';
import type { Part } from '../parts.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { buildApp, type App, type AppDeps } from './app.ts';
import { countAdminAccounts } from '../ledger/admin-accounts.ts';
import { loadOrCreateSessionKey, sessionKeyFile } from './session-key.ts';

import { isLoopback } from './loopback.ts';

export { isLoopback };

/** The certificate and key when both are configured; one without the other is a config error. */
function readTls(config: HttpConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.tls_cert && !config.tls_key) return undefined;
  if (!config.tls_cert || !config.tls_key) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, 'http.tls_cert and http.tls_key go together: set both, or neither', { zh: 'http.tls_cert 与 http.tls_key 须同时设置（或都不设置）' });
  }
  try {
    return { cert: readFileSync(config.tls_cert), key: readFileSync(config.tls_key) };
  } catch (err) {
    throw new EdgeError(ErrorCode.CONFIG_UNREADABLE, `cannot read the TLS certificate or key: ${(err as Error).message}`, { zh: `无法读取 TLS 证书或私钥：${(err as NodeJS.ErrnoException).path ?? ''}`, cause: err });
  }
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Addresses of this machine's interfaces (what a wildcard bind answers on). */
function interfaceAddresses(family: 'IPv4' | 'IPv6' | 'any'): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => family === 'any' || i.family === family)
    .map((i) => i.address);
}

const hostPart = (address: string): string => (address.includes(':') ? `[${address}]` : address);

/**
 * The Host names a request may carry. A browser on the store PC can be made to send requests to
 * this page from a page of any site by a DNS name that resolves to us (DNS rebinding); such a
 * request carries the foreign name in Host. Loopback names, the configured address, this
 * machine's own addresses and the configured `allowed_hosts` are accepted.
 */
export function allowedHosts(config: HttpConfig): string[] {
  const names = ['localhost', '127.0.0.1', '::1', ...config.allowed_hosts];
  if (WILDCARDS.has(config.host)) names.push(...interfaceAddresses('any'));
  else names.push(config.host);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

/**
 * A listen refused because of the host itself — a name that does not resolve, or an address
 * this PC does not have (its address changed) — as CONFIG_INVALID naming http.host and this
 * PC's addresses; undefined for any other failure.
 */
function hostRefusal(host: string, err: unknown): EdgeError | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOTFOUND' && code !== 'EAI_AGAIN' && code !== 'EADDRNOTAVAIL' && code !== 'EAI_NONAME') return undefined;
  const mine = interfaceAddresses('any').join(', ');
  const why = code === 'EADDRNOTAVAIL' ? { en: 'is not an address of this PC', zh: '不是本机的地址' } : { en: 'does not resolve to an address', zh: '无法解析为地址' };
  return new EdgeError(
    ErrorCode.CONFIG_INVALID,
    `http.host ${JSON.stringify(host)} ${why.en}; this PC's addresses are ${mine}; set http.host (or STORE_EDGE_HTTP_HOST) to one of them, or 127.0.0.1 for this machine only`,
    { zh: `http.host "${host}" ${why.zh}；本机地址为 ${mine}；请把 http.host（或环境变量 STORE_EDGE_HTTP_HOST）改为其中之一，仅本机使用则改为 127.0.0.1`, cause: err, details: { field: 'http.host', host, addresses: mine } },
  );
}

/** Whether this PC can listen on `host` at all: bound on a free port and closed at once; a host refusal is thrown. */
async function checkHost(host: string): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port: 0 }, resolve);
    });
  } catch (err) {
    const refusal = hostRefusal(host, err);
    if (refusal) throw refusal;
    return; // anything else (a lack of ports?) is the real listen's to report
  } finally {
    if (probe.listening) await new Promise((resolve) => probe.close(resolve));
  }
}

export class HttpServer implements Part {
  readonly name = 'http';
  /** Without the admin page the store cannot be watched or healed: no page, no daemon. */
  readonly critical = true;
  private app: App | undefined;
  /** A URL of the admin page reachable from this machine. */
  address: string | undefined;
  /** Every URL the page answers on (all interfaces when bound to a wildcard address). */
  urls: string[] = [];
  /** The address and port actually bound. */
  bound: string | undefined;

  /** While no admin account exists: the first-run setup link (with its one-time token). */
  setupUrl: string | undefined;

  constructor(private readonly config: HttpConfig, private readonly deps: Omit<AppDeps, 'allowedHosts' | 'auth' | 'https'> & { dataDir: string; sessionKeyFile?: string }, private readonly log: Logger) {}

  async start(): Promise<void> {
    const accounts = countAdminAccounts(this.deps.db());
    // Before the first account exists anyone who reaches the page could create it: only this
    // machine may reach it then.
    if (accounts === 0 && !isLoopback(this.config.host)) {
      // a host this PC cannot listen on is said first: "restart with it" would only fail again
      await checkHost(this.config.host);
      throw new EdgeError(
        ErrorCode.CONFIG_INVALID,
        `the admin page may listen on ${this.config.host} only once an admin account exists; start once with http.host 127.0.0.1, open the setup link printed in the log on this machine, create the account, then restart with ${this.config.host}`,
        { zh: `还没有管理账号，管理页面不能监听 ${this.config.host}。请先用 http.host 127.0.0.1 启动，在本机打开日志中打印的首次设置链接创建账号，再改回 ${this.config.host} 重启`, details: { host: this.config.host } },
      );
    }
    const tls = readTls(this.config);
    if (!tls && !isLoopback(this.config.host)) {
      this.log.warn({ host: this.config.host }, `TLS is off on ${this.config.host}: passwords and session cookies cross the network in clear; set http.tls_cert and http.tls_key / 未启用 TLS：密码和登录凭据将以明文经过网络，请配置 http.tls_cert 与 http.tls_key`);
    }
    const setupToken = accounts === 0 ? randomBytes(18).toString('base64url') : undefined;
    const app = buildApp(
      {
        ...this.deps,
        allowedHosts: allowedHosts(this.config),
        maxEventLoopUtilization: this.config.max_event_loop_utilization,
        auth: { sessionSecret: loadOrCreateSessionKey(this.deps.sessionKeyFile ?? sessionKeyFile(this.deps.dataDir)), secureCookies: Boolean(tls), tls: Boolean(tls), ...(setupToken ? { setupToken } : {}) },
        ...(tls ? { https: tls } : {}),
      },
      this.log,
    );
    app.server.requestTimeout = 15_000;
    app.server.headersTimeout = 10_000;
    app.server.keepAliveTimeout = 5_000;
    try {
      await app.listen({ host: this.config.host, port: this.config.port });
    } catch (err) {
      await app.close().catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        const why = code === 'EADDRINUSE' ? { en: 'is already in use', zh: '端口已被占用' } : { en: 'may not be opened by this user', zh: '没有权限使用该端口' };
        throw new EdgeError(
          ErrorCode.PORT_IN_USE,
          `port ${this.config.port} on ${this.config.host} ${why.en}; choose another with --http-port <n>, http.port in the config file, or STORE_EDGE_HTTP_PORT (0 picks a free port)`,
          { zh: `${why.zh}：${this.config.host}:${this.config.port}。请用 --http-port <端口>、配置文件中的 http.port 或环境变量 STORE_EDGE_HTTP_PORT 换一个端口（0 表示自动选择空闲端口）`, cause: err, details: { host: this.config.host, port: this.config.port } },
        );
      }
      throw hostRefusal(this.config.host, err) ?? err;
    }
    this.app = app;
    this.deps.live?.start();
    const addr = app.server.address();
    if (addr && typeof addr === 'object') {
      this.bound = `${hostPart(addr.address)}:${addr.port}`;
      const hosts = WILDCARDS.has(addr.address) ? interfaceAddresses(addr.address === '::' ? 'any' : 'IPv4') : [addr.address];
      this.urls = hosts.map((h) => `${tls ? 'https' : 'http'}://${hostPart(h)}:${addr.port}/`);
      this.address = this.urls.find((u) => u.includes('127.0.0.1') || u.includes('[::1]')) ?? this.urls[0];
    }
    if (setupToken && this.address) {
      this.setupUrl = `${this.address}setup?token=${setupToken}`;
      this.log.warn({ setup_url: this.setupUrl }, `no admin account yet: open ${this.setupUrl} on this machine to create the first one / 还没有管理账号：请在本机打开 ${this.setupUrl} 创建第一个账号`);
    }
  }

  async stop(): Promise<void> {
    this.deps.live?.stop();
    await this.app?.close();
    this.app = undefined;
  }
}
