/**
 * /metrics (Prometheus text) and /readyz beside /healthz. Neither shows a name, a balance or a
 * card: counts, reasons and part names only, so they answer without a login (a monitor needs no
 * maintainer's password). They are served on the admin page's listener, which binds to
 * 127.0.0.1 by default; see docs/operations.md before exposing it.
 */
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../ops/readiness.ts';

export interface OpsRoutesDeps {
  metrics: () => Promise<{ contentType: string; body: string }>;
  readiness: () => Readiness;
}

export function registerOpsRoutes(app: FastifyInstance, deps: OpsRoutesDeps): void {
  app.get('/metrics', { config: { public: true } }, async (_req, reply) => {
    const m = await deps.metrics();
    return reply.type(m.contentType).send(m.body);
  });
  app.get('/readyz', { config: { public: true } }, async (_req, reply) => {
    const r = deps.readiness();
    return reply.status(r.ready ? 200 : 503).send(r);
  });
}
