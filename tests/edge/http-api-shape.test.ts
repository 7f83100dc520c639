/**
 * The admin API's one style, checked on every /api route the app registers (collected as they
 * are registered, so a new route is checked without being listed here): a declared reply and
 * error schema (shown at /docs), a JSON object (a list is `{items, next}`), snake_case names,
 * ISO 8601 times with their offset, and the bilingual error body for 401, 403, 400 and 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { RouteOptions } from 'fastify';
import { buildApp, type App } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { appendAudit } from '../../edge/ledger/audit.ts';
import { clearAlarm, raiseAlarm, recentAlarms, listActiveAlarms } from '../../edge/ledger/alarms.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const at = (min: number) => () => new Date(Date.UTC(2026, 10, 29, 8, min, 0));

/** ISO 8601 with a date, a time and an offset (`Z` or `+08:00`). */
const ISO_WITH_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;
const TIME_KEY = /^(at|since|until)$|_(at|until)$/;
const SNAKE = /^[a-z][a-z0-9_]*$/;
const CJK = /[\u4e00-\u9fff]/;

/** The routes that are not a JSON reply, and why. */
const NOT_JSON: Record<string, string> = { '/api/live': 'a Server-Sent Events stream (its messages follow LiveNowReply)' };
/** One picture of the store rather than a list: its arrays are the latest few of each kind, not pages. */
const SNAPSHOT: Record<string, string> = { '/api/live/now': 'the live page\'s picture: door, store, latest decisions and alarms' };
/** Answers without a login (a client learns who it is and gets its CSRF token). */
const PUBLIC = new Set(['/api/me']);

let app: App;
let s: Signed;
const routes: RouteOptions[] = [];
let reviewId = 0;

/** A value for each path parameter of a route, known to exist in the ledger below. */
function sample(url: string, param: string): string {
  if (param === 'id') return url.startsWith('/api/review/') ? String(reviewId) : 'V001';
  const known: Record<string, string> = { session: 's1', sku: 'salt', slot: 'A1', pending: '1' };
  const v = known[param];
  if (v === undefined) throw new Error(`no sample value for :${param} of ${url}: add one to this test`);
  return v;
}
const fill = (url: string, value: (param: string) => string): string => url.replace(/:([a-z_]+)/g, (_m, p: string) => encodeURIComponent(value(p)));

/** Every style rule of a reply, with the path of the value that breaks one. */
function styleProblems(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => styleProblems(v, `${path}[${i}]`));
  if (typeof value === 'string') return /^\d{4}-\d\d-\d\d/.test(value) && !ISO_WITH_OFFSET.test(value) ? [`${path}: time ${JSON.stringify(value)} is not ISO 8601 with an offset`] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
    ...(SNAKE.test(k) ? [] : [`${path}.${k}: not snake_case`]),
    ...(TIME_KEY.test(k) && v !== null && !(typeof v === 'string' && ISO_WITH_OFFSET.test(v)) ? [`${path}.${k}: ${JSON.stringify(v)} is not an ISO 8601 time with an offset`] : []),
    ...styleProblems(v, `${path}.${k}`),
  ]);
}

function expectStyle(label: string, body: unknown, snapshot: boolean): void {
  expect(body !== null && typeof body === 'object' && !Array.isArray(body), `${label}: a JSON object`).toBe(true);
  const top = body as Record<string, unknown>;
  if (!snapshot && Object.values(top).some(Array.isArray)) {
    expect(Array.isArray(top.items) && 'next' in top, `${label}: a list answers {items, next}; got keys ${Object.keys(top).join(', ')}`).toBe(true);
  }
  expect(styleProblems(body), label).toEqual([]);
}

function expectError(label: string, res: { statusCode: number; json: () => unknown }, status: number, code?: string): void {
  expect(res.statusCode, label).toBe(status);
  const e = res.json() as { error: unknown; message: unknown; zh: unknown; fields?: Record<string, { message: string; zh: string }> };
  expect(e, label).toMatchObject({ error: expect.stringMatching(/^[A-Z][A-Z_]+$/), message: expect.any(String), zh: expect.stringMatching(CJK) });
  if (code) expect(e.error, label).toBe(code);
  for (const [name, f] of Object.entries(e.fields ?? {})) expect(f, `${label} field ${name}`).toEqual({ message: expect.any(String), zh: expect.stringMatching(CJK) });
}

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(db, { id: 'M01', name: '老陈', village: '前进村', isMaintainer: true });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 6 });
  upsertSlot(db, { slot: 'A2', address: 12, sku: 'salt', stock: 2 });
  db.prepare('INSERT INTO entry_events (at, decision, by, villager_id, detail) VALUES (?, ?, ?, ?, ?)').run(at(0)().toISOString(), 'matched', 'card', 'V001', JSON.stringify({ card: 'PB-****01', unlocked: true, revokedAt: null, retryAfterS: 3 }));
  openSession(db, { id: 's1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: { enteredAtMs: Date.UTC(2026, 10, 29, 8, 1) } }, at(1));
  settleSession(db, { sessionId: 's1', lines: [{ sku: 'salt', slot: 'A1', count: 2 }], review: [{ slot: 'A2', reason: 'wrong_slot_return', deltaG: 400, detail: 'put down here' }] }, rules, at(2));
  openSession(db, { id: 's2', kind: 'restock', villagerId: 'M01', enteredBy: 'card', state: 'restocking', context: {} }, at(3));
  reviewId = listOpenReview(db, 10)[0]!.id;
  appendAudit(db, { actor: 'wang', action: 'villager.block', target: 'V001', before: { status: 'active' }, after: { status: 'blocked' } });
  raiseAlarm(db, { kind: 'disk_low', subject: 'data', severity: 'critical', detail: 'disk nearly full' }, at(4)().toISOString());
  raiseAlarm(db, { kind: 'job_failed', subject: 'backup', severity: 'warning', detail: 'job backup failed' }, at(5)().toISOString());
  clearAlarm(db, 'job_failed', 'backup', at(6)().toISOString(), 'backup');

  const doorView = { holds: true, by: 'wang', since: Date.UTC(2026, 10, 29, 8, 1), sensor: 'open' as const };
  const session = { phase: 'shopping', current: { sessionId: 's2', villagerId: 'M01', kind: 'restock', enteredBy: 'card', openedAt: Date.UTC(2026, 10, 29, 8, 3) }, cart: () => ({ totalPoints: 0, cart: { lines: [], review: [], stock: [{ sku: 'salt', slot: 'A1', count: 1 }] } }),
      // the door sensor override as the engine offers it (/api/door): held since a time, so its style is checked too
      doorSensor: { view: () => doorView, set: () => ({ ok: true, changed: false, view: doorView }), withdraw: () => ({ changed: false, view: doorView }) } };
  app = buildApp({
    store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' },
    health: new HealthBoard(),
    db: () => ledger.db,
    ledgerRules: rules,
    auth: TEST_AUTH,
    session,
    sync: { state: () => ({ connected: true, outbox_pending: 0, last_acked_seq: 0, inbound_seq: 3, last_contact: at(7)().toISOString(), refused: { forged: 1 } }) },
    ops: {
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      readiness: () => ({ ready: true, phase: 'ok', checks: { database: { ok: true }, models: { ok: true }, serial: { ok: true }, broker: { ok: true }, camera: { ok: true }, camera_ir: { ok: true } } }),
      alarms: (limit, before) => ({ active: listActiveAlarms(ledger.db), recent: recentAlarms(ledger.db, limit, before) }),
    },
  }, pino({ level: 'silent' }));
  // collected as registered: a route added later is checked like the others
  app.addHook('onRoute', (r) => {
    if (r.url.startsWith('/api/')) routes.push(r);
  });
  await app.ready();
  s = await signedIn(app, ledger.db);
});

afterAll(async () => {
  await app?.close();
  ledger.cleanup();
});

const methods = (r: RouteOptions): string[] => (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
const each = (method: string) => routes.filter((r) => methods(r).includes(method));

describe('every /api route', () => {
  it('is found: the walk covers the API', () => {
    const urls = routes.map((r) => `${methods(r).join(',')} ${r.url}`);
    expect(urls.length).toBeGreaterThan(25);
    for (const u of ['GET /api/villagers', 'GET /api/sessions', 'GET /api/products', 'GET /api/events', 'POST /api/villagers/:id/face', 'POST /api/cards/issue']) expect(urls).toContain(u);
  });

  it('declares its reply and its errors, and /docs shows both', async () => {
    const doc = (await as(s)(app, '/docs/json')).json() as { paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>> };
    for (const r of routes) {
      const response = (r.schema?.response ?? {}) as Record<string, unknown>;
      const codes = Object.keys(response);
      for (const m of methods(r)) {
        const label = `${m} ${r.url}`;
        if (!NOT_JSON[r.url]) expect(codes.filter((c) => /^2/.test(c)), `${label}: a declared reply`).not.toEqual([]);
        expect(codes, `${label}: the error reply`).toEqual(expect.arrayContaining(['4xx', '5xx']));
        const op = doc.paths[r.url.replace(/:([a-z_]+)/g, '{$1}')]?.[m.toLowerCase()];
        expect(op, `${label} in /docs`).toBeDefined();
        expect(Object.keys(op!.responses ?? {}), `${label} in /docs`).toEqual(expect.arrayContaining(['4XX']));
        if (m === 'POST') expect(op!.requestBody, `${label}: its body in /docs`).toBeDefined();
      }
    }
  });

  it('refuses a client without a session with the bilingual 401', async () => {
    for (const r of routes) {
      if (PUBLIC.has(r.url)) continue;
      for (const m of methods(r)) {
        const res = await app.inject({ method: m as 'GET', url: fill(r.url, (p) => sample(r.url, p)), ...(m === 'POST' ? { payload: {} } : {}) });
        expectError(`${m} ${r.url}`, res, 401, 'UNAUTHENTICATED');
      }
    }
  });

  it('answers GET with one JSON style: an object, {items, next} for a list, snake_case, ISO 8601 times with an offset', async () => {
    const gets = each('GET').filter((r) => !NOT_JSON[r.url]);
    expect(gets.length).toBeGreaterThan(15);
    for (const r of gets) {
      const url = fill(r.url, (p) => sample(r.url, p));
      const res = await as(s)(app, url);
      expect(res.statusCode, `GET ${url}: ${res.body.slice(0, 200)}`).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^application\/json/);
      expectStyle(`GET ${url}`, res.json(), Boolean(SNAPSHOT[r.url]));
    }
  });

  it('answers an unknown id with the bilingual 404', async () => {
    for (const r of each('GET').filter((x) => x.url.includes(':') && !NOT_JSON[x.url])) {
      const url = fill(r.url, () => 'no-such-thing');
      expectError(`GET ${url}`, await as(s)(app, url), 404);
    }
    expectError('GET /api/nope', await as(s)(app, '/api/nope'), 404, 'NOT_FOUND');
  });

  it('refuses a POST without the CSRF token (403) and a body with a wrong field (400, the field named), in both languages', async () => {
    const posts = each('POST');
    expect(posts.length).toBeGreaterThan(10);
    for (const r of posts) {
      const url = fill(r.url, (p) => sample(r.url, p));
      expectError(`POST ${url} without CSRF`, await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: { no_such_field: 1 } }), 403, 'CSRF_REJECTED');
      const res = await app.inject({ method: 'POST', url, headers: s.post, payload: { no_such_field: 1 } });
      expectError(`POST ${url}`, res, 400, 'INVALID_ARGUMENT');
      expect(Object.keys((res.json() as { fields?: object }).fields ?? {}), `POST ${url}: the wrong field named`).not.toEqual([]);
    }
  });

  it('keeps its times in the one format on a list of every kind (this test would catch an epoch or a bare date)', () => {
    expect(styleProblems({ at: 1764403200000 })).toHaveLength(1);
    expect(styleProblems({ items: [{ opened_at: '2026-11-29 08:01:00' }] })).not.toEqual([]);
    expect(styleProblems({ villagerId: 'V001' })).toHaveLength(1);
    expect(styleProblems({ since: '2026-11-29T16:01:00+08:00', closed_at: null, detail: { card: 'PB-****01' } })).toEqual([]);
  });
});

describe('path parameters longer than the router\'s default (100)', () => {
  it('are left to the route\'s schema (a 110-character session id: 404 UNKNOWN_SESSION); beyond any schema, the router\'s refusal is bilingual too', async () => {
    const id = 'a'.repeat(110);
    const get = await as(s)(app, `/api/receipts/${id}/refund`);
    const post = await app.inject({ method: 'POST', url: `/api/receipts/${id}/refund`, headers: s.post, payload: { points: 1, reason: 'x' } });
    for (const res of [get, post]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json()).toMatchObject({ error: 'UNKNOWN_SESSION', message: expect.any(String), zh: expect.any(String) });
    }
    const schema = await as(s)(app, `/api/receipts/${'a'.repeat(200)}/refund`);
    expect(schema.statusCode).toBe(400);
    expect(Object.keys(schema.json().fields)).toEqual(['session']);
    const router = await as(s)(app, `/api/receipts/${'a'.repeat(300)}/refund`);
    expect(router.statusCode).toBe(414);
    expect(router.json()).toEqual({ error: 'URI_TOO_LONG', message: expect.any(String), zh: expect.stringMatching(CJK) });
  });
});
