/** Listening for the admin page, with explicit timeouts and a graceful close. */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log.ts';
import type { HttpConfig } from '../config/schema.ts';
import type { Part } from '../parts.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { buildApp, type App, type AppDeps } from './app.ts';

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

  constructor(private readonly config: HttpConfig, private readonly deps: Omit<AppDeps, 'allowedHosts'>, private readonly log: Logger) {}

  async start(): Promise<void> {
    const app = buildApp({ ...this.deps, allowedHosts: allowedHosts(this.config) }, this.log);
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
      throw err;
    }
    this.app = app;
    const addr = app.server.address();
    if (addr && typeof addr === 'object') {
      this.bound = `${hostPart(addr.address)}:${addr.port}`;
      const hosts = WILDCARDS.has(addr.address) ? interfaceAddresses(addr.address === '::' ? 'any' : 'IPv4') : [addr.address];
      this.urls = hosts.map((h) => `http://${hostPart(h)}:${addr.port}/`);
      this.address = this.urls.find((u) => u.includes('127.0.0.1') || u.includes('[::1]')) ?? this.urls[0];
    }
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }
}
