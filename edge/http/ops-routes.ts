/**
 * /metrics (Prometheus text) and /readyz beside /healthz. Neither shows a name, a balance or a
 * card: counts, reasons and part names only, so they answer without a login (a monitor needs no
 * maintainer's password). They are served on the admin page's listener, which binds to
 * 127.0.0.1 by default; see docs/operations.md before exposing it.
 *
 * GET /api/alarms (active alarms and the latest ones) needs a login like every /api route: a
 * reconciliation alarm names villagers.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Readiness } from '../ops/readiness.ts';
import type { AlarmRow } from '../ledger/alarms.ts';

const Time = Type.String({ format: 'date-time' });
const AlarmReply = Type.Object({
  id: Type.Integer(), kind: Type.String(), subject: Type.String(), severity: Type.String(), detail: Type.String(),
  raised_at: Time, last_seen_at: Time, seen: Type.Integer(),
  cleared_at: Type.Union([Time, Type.Null()]), cleared_by: Type.Union([Type.String(), Type.Null()]),
});
/** The latest alarms (active or cleared) a page at a time, and beside them every active one. */
export const AlarmsReply = Type.Object({
  items: Type.Array(AlarmReply),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `before` for older alarms' }),
  active: Type.Array(AlarmReply, { description: 'Every alarm not yet cleared' }),
});
const AlarmsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }), before: Type.Optional(Type.Integer({ minimum: 1, description: 'The `next` of the previous page' })) }, { additionalProperties: false });

export interface OpsRoutesDeps {
  metrics: () => Promise<{ contentType: string; body: string }>;
  readiness: () => Readiness;
  /** Active alarms and the latest `limit` (active or cleared); absent with alarms.enabled false. */
  alarms?: (limit: number, before?: number) => { active: AlarmRow[]; recent: AlarmRow[] };
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
  const alarms = deps.alarms;
  app.get('/api/alarms', { schema: { querystring: AlarmsQuery, response: { 200: AlarmsReply } } }, async (req) => {
    const { limit, before } = req.query as Static<typeof AlarmsQuery>;
    if (!alarms) return { items: [], next: null, active: [] };
    const r = alarms(limit + 1, before);
    const items = r.recent.slice(0, limit);
    return { items, next: r.recent.length > limit ? items[items.length - 1]!.id : null, active: r.active };
  });
}
