/**
 * /metrics (Prometheus text) and /readyz beside /healthz. Neither shows a name, a balance or a
 * card: counts, reasons and part names only, so they answer without a login (a monitor needs no
 * maintainer's password). They are served on the admin page's listener, which binds to
 * 127.0.0.1 by default; see docs/operations-monitoring.md#metrics-and-readyz before exposing it.
 *
 * GET /api/alarms (active alarms and the latest ones) needs a login like every /api route: a
 * reconciliation alarm names villagers. POST /api/alarms/ID/acknowledge (a maintainer has seen it;
 * audited), POST /api/alarms/ID/clear (a maintainer settled what only the village can, e.g.
 * villager_id_taken, idle_shelf_change; audited) and the /alarms page to do them from. A refused form from that
 * page (a note with a tab pasted from a chat message, a note too long) gets the page again with
 * the message beside the note and the note kept (edge/http/form-refusal.ts); an alarm cleared
 * meanwhile, a page saying so with the way back.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formErrorHandler, isUrlencodedForm, pageAction, type FormRefusal } from './form-refusal.ts';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Readiness } from '../ops/readiness.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import type { Acknowledgement, HandClearing } from '../ops/alarms.ts';
import type { StoreConfig } from '../config/schema.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { alarmsPage } from './alarms-page.ts';
import { langOf, PageQuery, rememberLang } from './lang.ts';
import { takeKeptForm } from './signed-out.ts';
import { freeText } from '../ledger/free-text.ts';

const Time = Type.String({ format: 'date-time' });
const AlarmReply = Type.Object({
  id: Type.Integer(), kind: Type.String(), subject: Type.String(), severity: Type.String(), detail: Type.String(),
  raised_at: Time, last_seen_at: Time, seen: Type.Integer(),
  cleared_at: Type.Union([Time, Type.Null()]), cleared_by: Type.Union([Type.String(), Type.Null()]),
  acknowledged_at: Type.Union([Time, Type.Null()]), acknowledged_by: Type.Union([Type.String(), Type.Null()]), ack_note: Type.Union([Type.String(), Type.Null()]),
});
/** The latest alarms (active or cleared) a page at a time, and beside them every active one. */
export const AlarmsReply = Type.Object({
  items: Type.Array(AlarmReply),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `before` for older alarms' }),
  active: Type.Array(AlarmReply, { description: 'Every alarm not yet cleared' }),
});
const AlarmsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }), before: Type.Optional(Type.Integer({ minimum: 1, description: 'The `next` of the previous page' })) }, { additionalProperties: false });
const AckBody = Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })), _csrf: Type.Optional(Type.String()) }, { additionalProperties: false });
export const AckReply = Type.Object({ alarm: AlarmReply, acknowledged: Type.Boolean(), audit_id: Type.Union([Type.Integer(), Type.Null()]) });
export const ClearReply = Type.Object({ alarm: AlarmReply, cleared: Type.Boolean({ description: 'false: it had cleared already' }), audit_id: Type.Union([Type.Integer(), Type.Null()]) });
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const isForm = isUrlencodedForm;
/** The note of an acknowledgement or a clearing: tabs and line breaks a space, trimmed, null when empty, refused with other control characters. */
const noteOf = (raw: string | undefined): string | null => (raw === undefined ? null : freeText({ field: 'note', zh: '备注' }, raw) || null);
const disabled = (): EdgeError => new EdgeError(ErrorCode.NOT_FOUND, 'alarms are turned off (alarms.enabled: false)', { zh: '告警功能未启用（配置 alarms.enabled）' });

export interface OpsRoutesDeps {
  metrics: () => Promise<{ contentType: string; body: string }>;
  readiness: () => Readiness;
  /** Active alarms and the latest `limit` (active or cleared); absent with alarms.enabled false. */
  alarms?: (limit: number, before?: number) => { active: AlarmRow[]; recent: AlarmRow[] };
  /** A maintainer acknowledges an active alarm (edge/ops/alarms.ts); absent with alarms.enabled false. */
  acknowledge?: (id: number, by: string, note: string | null) => Acknowledgement;
  /** A maintainer clears an alarm only they can say is settled (villager_id_taken, idle_shelf_change); absent with alarms.enabled false. */
  clear?: (id: number, by: string, note: string | null) => HandClearing;
}

export function registerOpsRoutes(scope: FastifyInstance, deps: OpsRoutesDeps, store: StoreConfig, timeZone?: string): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
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

  /** The /alarms page, with a refused form's message beside its note. */
  const page = (req: FastifyRequest, reply: FastifyReply, refusal?: FormRefusal): string => {
    if (!alarms) throw disabled();
    const { active, recent } = alarms(50);
    return alarmsPage({ store, active, recent, csrf: reply.generateCsrf(), lang: langOf(req), timeZone, ...(refusal ? { refusal } : {}) });
  };
  /** A refused form of the /alarms page (`acknowledge-ID`, `clear-ID`): the page again, the note kept. */
  const refused = (action: 'acknowledge' | 'clear') => formErrorHandler((req) => `${action}-${String((req.params as { id?: unknown }).id)}`, () => 'note', page, () => '/alarms', store.name);

  /** An action posted by the /alarms page's form: back to /alarms, or a page saying why not (the alarm cleared meanwhile), not JSON. */
  const fromPage = (reply: unknown, act: () => unknown): FastifyReply => pageAction(reply, { storeName: store.name, title: '告警', back: '/alarms', backText: '返回告警页 Back' }, act);

  app.post('/api/alarms/:id/acknowledge', { errorHandler: refused('acknowledge'), schema: { params: IdParams, body: AckBody, response: { 200: AckReply } } }, async (req, reply) => {
    if (!deps.acknowledge) throw disabled();
    const act = deps.acknowledge;
    const note = noteOf(req.body.note);
    if (!isForm(req)) {
      const r = act(req.params.id, req.adminUser!.username, note);
      return { alarm: r.alarm, acknowledged: r.acknowledged, audit_id: r.auditId };
    }
    return fromPage(reply, () => act(req.params.id, req.adminUser!.username, note));
  });

  app.post('/api/alarms/:id/clear', { errorHandler: refused('clear'), schema: { params: IdParams, body: AckBody, response: { 200: ClearReply } } }, async (req, reply) => {
    if (!deps.clear) throw disabled();
    const act = deps.clear;
    const note = noteOf(req.body.note);
    if (!isForm(req)) {
      const r = act(req.params.id, req.adminUser!.username, note);
      return { alarm: r.alarm, cleared: r.cleared, audit_id: r.auditId };
    }
    return fromPage(reply, () => act(req.params.id, req.adminUser!.username, note));
  });

  // Chinese, or English with `?lang=en` (remembered) as on every page
  app.get('/alarms', { schema: { querystring: PageQuery } }, async (req, reply) => {
    rememberLang(req, reply);
    return reply.type('text/html; charset=utf-8').send(page(req, reply, takeKeptForm(req)));
  });
}
