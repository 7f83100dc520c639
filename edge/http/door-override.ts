/**
 * The door sensor override from the admin page (edge/session/door-override.ts): a maintainer
 * who has seen the door shut while its sensor still reports it open (a stuck contact holds every
 * villager at the door) says "the door is closed, its sensor is faulty", and may withdraw it.
 * Signed in and CSRF-protected like every admin action; each change is written to the audit log
 * in the same transaction as the override's alarm (`door.sensor_override`,
 * `door.sensor_override_withdraw`), and the session reads the door otherwise only once that
 * transaction has committed (a failed write changes nothing, and says so). The /door page shows what the sensor reports and the
 * override, with its form; the door_open alarm's row links to it (alarms-section.ts).
 *
 * GET /api/door, POST /api/door/override, POST /api/door/override/withdraw: JSON with the
 * `x-csrf-token` header, or the page's form (answered with a redirect to /door; a refusal, a
 * page saying why). Chinese, or English with `?lang=en`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import { appendAudit } from '../ledger/audit.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { DoorOverrideView, OverrideCommit, OverrideResult } from '../session/door-override.ts';
import { esc } from './admin-sections.ts';
import { otherLang } from './admin-words.ts';
import type { Lang } from './door-words.ts';
import { pageAction, wantsPage } from './form-refusal.ts';
import { langOf, PageQuery, rememberLang } from './lang.ts';
import { layout } from './pages.ts';
import { formatTime } from './time-format.ts';

/** The override as the routes need it (the session engine's `doorSensor` fits). */
export interface DoorSensorOverride {
  view(): DoorOverrideView;
  set(by: string, commit?: OverrideCommit): OverrideResult;
  withdraw(by: string, commit?: OverrideCommit): { changed: boolean; view: DoorOverrideView };
}

/** The engine's override, when the app's session source is the daemon's engine (tests may give a bare state source). */
export function doorSensorOf(session: unknown): DoorSensorOverride | undefined {
  const d = (session as { doorSensor?: Partial<DoorSensorOverride> } | undefined)?.doorSensor;
  return d && typeof d.view === 'function' && typeof d.set === 'function' && typeof d.withdraw === 'function' ? (d as DoorSensorOverride) : undefined;
}

export const DOOR_WORDS = {
  zh: {
    title: '门磁', back: '返回管理页', sensor: '门磁报告', open: '门开着', closed: '门关着', unknown: '未知（没有读数）',
    holds: (by: string, at: string) => `已由 ${by} 于 ${at} 确认“门已关、门磁故障”：系统当门是关着的，门店看不到进出（放行的购物在货架变动或进店超时后即算在店内，离店靠出门按钮或闲置超时；期间不放行其他人）。门磁先报关、再报开时自动结束。`,
    why: '门磁报告门开着，且没有进行中的购物时，门关上之前不放行任何人。若你已亲眼确认门是关着的、只是门磁坏了（卡在“开”），可在此确认；确认期间会一直显示一条严重告警。',
    set: '门已关，门磁故障', withdraw: '撤销确认（重新以门磁为准）', nothing: '门磁没有报告门开着：无需确认。'
  },
  en: {
    title: 'Door sensor', back: 'Back to admin', sensor: 'The sensor reports', open: 'door open', closed: 'door closed', unknown: 'unknown (no reading)',
    holds: (by: string, at: string) => `${by} said at ${at} that the door is closed and its sensor faulty: the door counts as closed and the store is blind at the door (an admitted visit counts as inside once the shelves change or the entering timeout passes, and ends by the exit button or the idle timeout; nobody else is let in meanwhile). It ends by itself when the sensor reports closed and then open.`,
    why: 'While the sensor reports the door open with no visit open, nobody is let in until it closes. If you have seen the door shut and the sensor is stuck at "open", say so here; a critical alarm shows for as long as this holds.',
    set: 'The door is closed, its sensor is faulty', withdraw: 'Withdraw (believe the sensor again)', nothing: 'The sensor does not report the door open: nothing to override.'
  },
};

const OverrideReply = Type.Object({
  holds: Type.Boolean(), by: Type.Union([Type.String(), Type.Null()]), since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  sensor: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('unknown')]),
});
const ChangeReply = Type.Object({ door: OverrideReply, changed: Type.Boolean(), audit_id: Type.Union([Type.Integer(), Type.Null()]) });
const Body = Type.Object({ _csrf: Type.Optional(Type.String()) }, { additionalProperties: false });

const json = (v: DoorOverrideView) => ({ holds: v.holds, by: v.by, since: v.since === null ? null : new Date(v.since).toISOString(), sensor: v.sensor });

const noSession = (): EdgeError => new EdgeError(ErrorCode.NOT_FOUND, 'no store session runs on this server: there is no door to override', { zh: '本服务没有运行购物流程：没有可确认的门' });

export function doorPage(d: { storeName: string; view: DoorOverrideView; csrf: string; lang: Lang; timeZone?: string | undefined }): string {
  const t = DOOR_WORDS[d.lang];
  const v = d.view;
  const form = (action: string, label: string, name: string): string => `<form class="inline" method="post" action="${action}"><input type="hidden" name="_csrf" value="${esc(d.csrf)}"> <button type="submit" data-action="${name}">${label}</button></form>`;
  const state = v.holds
    ? `<p id="door-override" data-holds="true" class="bad">${esc(t.holds(v.by ?? '', formatTime(v.since, d.timeZone)))}</p><p>${form('/api/door/override/withdraw', t.withdraw, 'withdraw')}</p>`
    : v.sensor === 'open'
      ? `<p id="door-override" data-holds="false">${t.why}</p><p>${form('/api/door/override', t.set, 'override')}</p>`
      : `<p id="door-override" data-holds="false">${t.nothing}</p>`;
  return layout(`${d.storeName} · ${t.title}`, `<h1>${esc(d.storeName)} · ${t.title}</h1><p><a href="/">${t.back}</a> · ${otherLang(d.lang, '/door')}</p>
<p>${t.sensor}: <strong id="door-sensor" data-sensor="${v.sensor}">${t[v.sensor]}</strong></p>${state}`, undefined, d.lang);
}

export function registerDoorOverride(scope: FastifyInstance, deps: { db: () => Db; storeName: string; door: () => DoorSensorOverride | undefined; clock?: Clock; timeZone?: string | undefined }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const clock = deps.clock ?? systemClock;
  const door = (): DoorSensorOverride => deps.door() ?? (() => { throw noSession(); })();

  /** A form goes back to /door (or to a page saying why not); JSON gets the result. */
  const answer = (req: FastifyRequest, reply: FastifyReply, act: () => { view: DoorOverrideView; changed: boolean; auditId: number | null }): Static<typeof ChangeReply> | FastifyReply => {
    if (!wantsPage(req)) {
      const r = act();
      return { door: json(r.view), changed: r.changed, audit_id: r.auditId };
    }
    return pageAction(reply, { storeName: deps.storeName, title: '门磁 Door sensor', back: '/door', backText: '返回门磁页 Back' }, act);
  };

  app.get('/api/door', { schema: { response: { 200: OverrideReply } } }, async () => json(door().view()));

  app.post('/api/door/override', { schema: { body: Body, response: { 200: ChangeReply } } }, async (req, reply) => answer(req, reply, () => {
    const actor = req.adminUser!.username;
    const d = door();
    // the audit record and the override's alarm in one transaction: the override only once both are committed
    let auditId: number | null = null;
    const r = d.set(actor, (writeAlarm) => inTransaction(deps.db(), 'overriding the door sensor', () => {
      auditId = appendAudit(deps.db(), { actor, action: 'door.sensor_override', target: 'door sensor', before: { holds: false, sensor: 'open' }, after: { holds: true } }, clock);
      writeAlarm();
    }));
    if (!r.ok) {
      const sensor = r.view.sensor;
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the door sensor reports the door ${sensor}: there is nothing to override`, { zh: `门磁报告门${sensor === 'closed' ? '关着' : '状态未知'}：无需确认门磁故障`, details: { status: 409, error: 'DOOR_SENSOR_NOT_OPEN' } });
    }
    if (r.changed) req.log.warn({ actor }, 'door sensor overridden from the admin page / 管理页面确认门磁故障');
    return { view: r.view, changed: r.changed, auditId };
  }));

  app.post('/api/door/override/withdraw', { schema: { body: Body, response: { 200: ChangeReply } } }, async (req, reply) => answer(req, reply, () => {
    const actor = req.adminUser!.username;
    const d = door();
    const before = d.view();
    // the audit record and the alarm's clearing in one transaction: believed again only once both are committed
    let auditId: number | null = null;
    const r = d.withdraw(actor, (clearAlarm) => inTransaction(deps.db(), 'withdrawing the door sensor override', () => {
      auditId = appendAudit(deps.db(), { actor, action: 'door.sensor_override_withdraw', target: 'door sensor', before: { holds: true, by: before.by }, after: { holds: false, sensor: before.sensor } }, clock);
      clearAlarm();
    }));
    if (r.changed) req.log.warn({ actor }, 'door sensor override withdrawn from the admin page / 管理页面撤销了门磁故障确认');
    return { view: r.view, changed: r.changed, auditId };
  }));

  // Chinese, or English with `?lang=en` (remembered) as on every page
  app.get('/door', { schema: { querystring: PageQuery } }, async (req, reply) => {
    rememberLang(req, reply);
    return reply.type('text/html; charset=utf-8').send(doorPage({ storeName: deps.storeName, view: door().view(), csrf: reply.generateCsrf(), lang: langOf(req), timeZone: deps.timeZone }));
  });
}
