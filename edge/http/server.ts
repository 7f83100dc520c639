/** Listening for the admin page, with explicit timeouts and a graceful close. */
import type { Logger } from '../log.ts';
import type { HttpConfig } from '../config/schema.ts';
import type { Part } from '../parts.ts';
import { buildApp, type App, type AppDeps } from './app.ts';

export class HttpServer implements Part {
  readonly name = 'http';
  readonly critical = false;
  private app: App | undefined;
  address: string | undefined;

  constructor(private readonly config: HttpConfig, private readonly deps: AppDeps, private readonly log: Logger) {}

  async start(): Promise<void> {
    const app = buildApp(this.deps, this.log);
    app.server.requestTimeout = 15_000;
    app.server.headersTimeout = 10_000;
    app.server.keepAliveTimeout = 5_000;
    await app.listen({ host: this.config.host, port: this.config.port });
    this.app = app;
    const addr = app.server.address();
    if (addr && typeof addr === 'object') {
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      this.address = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}/`;
    }
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }
}
