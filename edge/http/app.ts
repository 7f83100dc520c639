/**
 * The admin page and public board as a fastify app. Built without listening, so tests use
 * `app.inject()`; edge/http/server.ts listens. The app reads and acts through the same
 * ledger functions the daemon uses; it never opens a serial port or a model itself.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../log.ts';
import type { Db } from '../ledger/db.ts';
import type { StoreConfig } from '../config/schema.ts';
import type { HealthBoard } from '../parts.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { requireVillager } from '../ledger/villagers.ts';
import { searchVillagers } from '../ledger/villager-search.ts';
import { countTemplates } from '../ledger/face-templates.ts';
import { countLearned } from '../ledger/face-learning.ts';
import { listProducts, inventory } from '../ledger/products.ts';
import { listSessions } from '../ledger/sessions.ts';
import { reviewPage } from './review-page.ts';
import { registerBoardRoutes } from './board/routes.ts';
import { recentEntryEvents, recentReceipts, stockByProduct, storeState, syncState, type StoreStateSource, type SyncStateSource } from './queries.ts';
import { DECISION_ZH, PHASE_ZH, REVIEW_ZH } from './admin-sections.ts';
import { EntryEventsReply, ErrorReply, EventsQuery, ProductsReply, ReceiptsReply, ReviewQuery, SessionCursorQuery, SessionsReply, StockReply, StoreStateReply, SyncReply, VillagersQuery } from './schemas.ts';
import { HistoryReply, SearchReply } from './villager-schemas.ts';
import { HISTORY_PAGE, historyPage, villagerPageHtml, villagerView, villagerViews } from './villager-routes.ts';
import type { FormPages, FormRefusal } from './form-refusal.ts';
import { villagerNames } from '../ledger/admin-views.ts';
import { snakeKeys } from './api-style.ts';
import { countOpenReview, listOpenReview } from '../ledger/review.ts';
import { langOf, rememberLang } from './lang.ts';
import { takeKeptForm } from './signed-out.ts';
import { takeDone, type DoneNotice } from './done-notice.ts';
import { registerAuth, SessionEnds, type AuthOptions } from './auth.ts';
import { registerPressureGuard } from './pressure.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerActions } from './actions.ts';
import { doorSensorOf, registerDoorOverride } from './door-override.ts';
import { registerReviewActions } from './review-actions.ts';
import { registerCardActions } from './card-actions.ts';
import { registerAccountActions } from './account-actions.ts';
import { errorReply } from './errors.ts';
import { errorPageOrReply, notFoundPageOrReply } from './error-page.ts';
import { registerOpsRoutes, type OpsRoutesDeps } from './ops-routes.ts';
import { registerLive } from './live.ts';
import { KeptReplies, ledgerVersion, NotModified } from './kept-reply.ts';
import { registerApiDocs } from './api-docs.ts';
import { registerAdminGate } from './admin-gate.ts';
import { adminPageHtml, registerAdminPage, type AdminPageDeps } from './admin-page.ts';
import type { LiveFeed } from './live-feed.ts';
import { registerShelfActions } from './shelf-actions.ts';
import type { WeighLimits } from '../ledger/products.ts';
import { refundRows, registerRefundActions, reviewCursor } from './refund-actions.ts';
import { registerVillagerRoutes } from './villager-routes.ts';
import { registerStatement } from './statement.ts';
import type { FaceEnrolment } from '../entry/admin-faces.ts';
import type { ShelfScales } from './shelf-math.ts';
import type { ScaleListSource } from '../ledger/products.ts';
import type { Clock } from '../ledger/time.ts';

export interface AppDeps {
  store: StoreConfig;
  /** What one item must weigh to be seen on a shelf (session.weight, drivers.scales). */
  weighLimits?: WeighLimits;
  health: HealthBoard;
  db: () => Db;
  ledgerRules: LedgerRules;
  /** The session engine's live state (who is inside, the cart); the page never drives it. */
  session?: StoreStateSource;
  /** The sync agent, when sync is enabled: its state is shown, never driven. */
  sync?: SyncStateSource;
  /** Host header names accepted (lower case, no port); see allowedHosts() in server.ts. */
  allowedHosts?: readonly string[];
  /** Sessions, CSRF and the first-run setup (edge/http/auth.ts). */
  auth: AuthOptions;
  /** Shed page requests while the event loop is busier than this (edge/http/pressure.ts); absent: never. */
  maxEventLoopUtilization?: number;
  /** Serve HTTPS with this certificate (http.tls_cert / http.tls_key). */
  https?: { cert: Buffer; key: Buffer };
  /** /metrics and /readyz (edge/http/ops-routes.ts). */
  ops?: OpsRoutesDeps;
  /** The door, the lock and the alarms for the live page (edge/http/live-feed.ts); absent: shown as unknown. */
  live?: LiveFeed;
  /** The store's IANA time zone for times on the pages; absent: the system's. */
  timeZone?: string;
  /** The shelf scales, for live weights, zeroing, calibration and counting (edge/http/shelf-actions.ts). */
  scales?: () => ShelfScales | undefined;
  /** Where the scales' list comes from (the config file, or the demo store's), as /shelves says; absent: the config. */
  scaleSource?: ScaleListSource;
  /** Face enrolment and withdrawal on the running door (edge/entry/admin-faces.ts). */
  faces?: FaceEnrolment;
  /**
   * The time the admin actions are written at (their audit records and the rows they change):
   * the daemon's, so a simulated or test clock stamps them as it stamps the rest of the ledger.
   * Absent: the system's.
   */
  clock?: Clock;
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** The name part of a Host header: `[::1]:8080` → `::1`, `Example.org:80` → `example.org`. */
export function hostName(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.indexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}


export type App = ReturnType<typeof buildApp>;

/** Longer than any path parameter a route accepts (refund-actions.ts: a session id of 128). */
export const MAX_PARAM_LENGTH = 256;

/** Open review lines per /review page (`?page=N`, oldest first). */
export const REVIEW_PER_PAGE = 50;

export function buildApp(deps: AppDeps, log: Logger) {
  const app = Fastify({
    loggerInstance: log.child({}, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // A field a schema does not accept is refused by name (a misspelt `point` is not silently
    // dropped and the action done without it), not removed as fastify does by default.
    ajv: { customOptions: { removeAdditional: false } },
    // A reply schema with a union (a field that may be null, a choice of shapes) is serialised
    // with Ajv validators; compiled lazily they cost the first request of each such route tens
    // to hundreds of ms in one turn of the event loop (bench:admin: 60–160 ms each on a busy
    // machine, inside a villager's exit → receipt). Compiled while the app is built instead.
    serializerOpts: { compileValidators: true },
    // Path parameters as long as the longest a route's schema allows (a session id: 128), so that
    // the schema decides, with its bilingual 400 or 404, not the router's own 414 (default 100).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // What the router refuses before any route (a parameter beyond that, a malformed URL) is
    // answered in the one bilingual shape too.
    frameworkErrors: (err, req, reply) => {
      void errorReply(err, req, reply);
    },
    ...(deps.https ? { https: deps.https } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Before any route: a request naming a host we are not is a DNS-rebinding attempt or a mistake.
  const allowed = new Set(deps.allowedHosts ?? LOOPBACK_HOSTS);
  app.addHook('onRequest', async (req, reply) => {
    const name = hostName(req.headers.host);
    if (allowed.has(name)) return;
    req.log.warn({ host: req.headers.host ?? null }, 'request for another host refused');
    return reply.status(421).send({
      error: 'HOST_NOT_ALLOWED',
      message: `this server does not answer to host ${JSON.stringify(req.headers.host ?? '')}; add it to http.allowed_hosts if it is really this store's name`,
      zh: `主机名 ${req.headers.host ?? '（空）'} 不属于本门店，已拒绝；如确为本门店的名称，请加入配置 http.allowed_hosts`,
    });
  });

  // a browser opening a page gets a page in its language (./error-page.ts), an API client the JSON
  app.setErrorHandler((err, req, reply) => errorPageOrReply(err, req, reply, deps.store.name));
  app.setNotFoundHandler((req, reply) => notFoundPageOrReply(req, reply, deps.store.name));

  // Everything behind the login lives in one plugin scope, so the session, CSRF and helmet
  // plugins (and the guard they install) apply to every route in it.
  void app.register(async (scope: FastifyInstance) => {
    // Every /api route documents (and serialises) its errors in the one bilingual shape
    scope.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/api/')) return;
      const schema = route.schema ?? {};
      route.schema = { ...schema, response: { '4xx': ErrorReply, '5xx': ErrorReply, ...((schema.response as Record<string, unknown> | undefined) ?? {}) } };
    });
    await registerPressureGuard(scope, deps.maxEventLoopUtilization ?? 0);
    // who is asking before the gate: a request without a session gets its 401 at once and never
    // holds a turn a signed-in maintainer waits for
    await registerAuth(scope, deps.db, deps.auth, deps.store.name);
    registerAdminGate(scope, deps.session ? { storeBusy: () => deps.session!.phase !== 'idle' } : {});
    await registerApiDocs(scope, deps.store.name);
    const sessionEnds = new SessionEnds();
    registerAuthRoutes(scope, { db: deps.db, storeName: deps.store.name, sessionEnds, ...(deps.clock ? { clock: deps.clock } : {}), timeZone: deps.timeZone, loginCsrf: { secret: deps.auth.sessionSecret, secure: deps.auth.secureCookies ?? false }, ...(deps.auth.setupToken ? { setupToken: deps.auth.setupToken } : {}) });
    const adminPageDeps: AdminPageDeps = { store: deps.store, health: deps.health, db: deps.db, ...(deps.session ? { session: deps.session } : {}), ...(deps.sync ? { sync: deps.sync } : {}), ...(deps.live ? { live: deps.live } : {}), alarms: () => deps.ops?.alarms?.(1).active, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) };
    const clock = deps.clock ? { clock: deps.clock } : {};
    const villagerDeps = { db: deps.db, store: deps.store, ...clock, ...(deps.faces ? { faces: deps.faces } : {}), ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) };
    const pages: FormPages = {
      villager: (req, reply, id, refusal) => villagerPageHtml(villagerDeps, req, reply, id, { refusal }),
      admin: (req, reply, refusal) => adminPageHtml(adminPageDeps, req, reply, 1, refusal),
    };
    registerActions(scope, { db: deps.db, pages, storeName: deps.store.name, ...clock });
    registerDoorOverride(scope, { db: deps.db, storeName: deps.store.name, door: () => doorSensorOf(deps.session), ...clock, timeZone: deps.timeZone });
    registerReviewActions(scope, { db: deps.db, ledgerRules: deps.ledgerRules, storeName: deps.store.name, ...clock, reviewPage: (req, reply, refusal) => reviewPageHtml(deps, req, reply, refusal) });
    registerCardActions(scope, { db: deps.db, storeName: deps.store.name, pages, ...clock });
    registerAccountActions(scope, { db: deps.db, adminPage: pages.admin, storeName: deps.store.name, ...clock });
    registerVillagerRoutes(scope, villagerDeps);
    registerRefundActions(scope, { db: deps.db, ledgerRules: deps.ledgerRules, storeName: deps.store.name, ...clock, reviewPage: (req, reply, refusal) => reviewPageHtml(deps, req, reply, refusal, 1, reviewCursor(req)), villagerPage: (req, reply, id, refusal, before) => villagerPageHtml(villagerDeps, req, reply, id, { refusal, ...(before !== undefined ? { purchasesBefore: before } : {}) }) });
    registerShelfActions(scope, { db: deps.db, store: deps.store, ...clock, ...(deps.weighLimits ? { weighLimits: deps.weighLimits } : {}), ...(deps.scales ? { scales: deps.scales } : {}), ...(deps.scaleSource ? { scaleSource: deps.scaleSource } : {}), ...(deps.session ? { session: deps.session } : {}) });
    registerLive(scope, { db: deps.db, store: deps.store, sessionEnds, ...(deps.session ? { session: deps.session } : {}), ...(deps.live ? { live: deps.live } : {}), ...(deps.timeZone ? { timeZone: deps.timeZone } : {}), ...(deps.scales ? { scales: deps.scales } : {}) });
    registerAdminPage(scope, adminPageDeps);
    registerStatement(scope, { db: deps.db, storeName: deps.store.name, timeZone: deps.timeZone, ...clock });
    routes(scope.withTypeProvider<TypeBoxTypeProvider>(), deps);
  });
  return app;
}

/**
 * The review page (the queue and the refunds), with a refused form's message beside its line.
 * The open lines a page at a time, oldest first (`page`; one past the end shows the last). The
 * refunds are every purchase with something left to refund, a page at a time (`before`: the
 * cursor of an older page), counted as the refund route counts it.
 */
function reviewPageHtml(deps: AppDeps, req: FastifyRequest, reply: FastifyReply, refusal?: FormRefusal, page = 1, before?: string, done?: DoneNotice): string {
  const db = deps.db();
  const total = countOpenReview(db);
  const queue = { page: Math.min(page, Math.max(1, Math.ceil(total / REVIEW_PER_PAGE))), perPage: REVIEW_PER_PAGE, total };
  const refunds = refundRows(db, before !== undefined ? { before } : {});
  return reviewPage({ store: deps.store, items: listOpenReview(db, REVIEW_PER_PAGE, (queue.page - 1) * REVIEW_PER_PAGE), queue, csrf: reply.generateCsrf(), products: listProducts(db), refunds: { ...refunds, before }, refusal, lang: langOf(req), timeZone: deps.timeZone, done });
}

type TypedApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

function routes(app: TypedApp, deps: AppDeps): void {
  app.get('/healthz', { config: { public: true } }, async (_req, reply) => {
    // 503 for `fault` too: a supervisor or monitor must see a store that charges wrongly
    const report = deps.health.report();
    return reply.status(report.status === 'ok' || report.status === 'degraded' ? 200 : 503).send(report);
  });

  if (deps.ops) registerOpsRoutes(app, deps.ops, deps.store, deps.timeZone);

  // Villagers: the whole list a page at a time (search and history: edge/http/villager-routes.ts)
  app.get('/api/villagers', { schema: { querystring: VillagersQuery, response: { 200: SearchReply } } }, async (req) => {
    const db = deps.db();
    const r = searchVillagers(db, '', { limit: req.query.limit, ...(req.query.after ? { after: req.query.after } : {}) });
    return { items: villagerViews(db, r.items), next: r.next };
  });

  // One villager with the first page of their history (older pages: /api/villagers/ID/history?before=)
  app.get('/api/villagers/:id', { schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 200: HistoryReply } } }, async (req) => {
    const db = deps.db();
    const v = requireVillager(db, req.params.id);
    return { villager: villagerView(v, countTemplates(db, v.id), countLearned(db, v.id)), ...historyPage(db, v.id, HISTORY_PAGE) };
  });

  app.get('/api/products', { schema: { response: { 200: ProductsReply } } }, async () => {
    const db = deps.db();
    const stock = inventory(db);
    return { items: listProducts(db).map((p) => ({ sku: p.sku, name: p.name, price: p.price, unit_g: p.unitG, tolerance_g: p.toleranceG, active: p.active, stock: stock[p.sku] ?? 0 })), next: null };
  });

  app.get('/api/sessions', { schema: { querystring: SessionCursorQuery, response: { 200: SessionsReply } } }, async (req) => {
    const db = deps.db();
    const rows = listSessions(db, { limit: req.query.limit + 1, ...(req.query.before !== undefined ? { before: req.query.before } : {}) });
    const page = rows.slice(0, req.query.limit);
    const names = villagerNames(db, page.map((s) => s.villagerId));
    return {
      items: page.map((s) => ({
        id: s.id, kind: s.kind, villager_id: s.villagerId, villager_name: names.get(s.villagerId) ?? null, entered_by: s.enteredBy, state: s.state, status: s.status,
        total_points: s.totalPoints, charged_points: s.chargedPoints, debt_points: s.debtPoints, entry_id: s.entryId, opened_at: s.openedAt, closed_at: s.closedAt,
      })),
      next: rows.length > req.query.limit ? page[page.length - 1]!.id : null,
    };
  });

  // What happened at the door and at the till (the admin page's sections, as JSON)
  // asked alike by every tablet: made once per change (./kept-reply.ts); the session's changes are signalled by the live feed
  const keptStore = new KeptReplies(1);
  app.get('/api/store', { schema: { response: { 200: StoreStateReply, 304: NotModified } } }, async (_req, reply) => {
    const version = deps.session && !deps.live ? null : `${ledgerVersion(deps.db())}|${deps.live?.changes ?? 0}|${deps.session?.phase ?? ''}`;
    return keptStore.send(reply, 'store', version, () => {
      const s = storeState(deps.db(), deps.session);
      return { ...s, phase_zh: PHASE_ZH[s.phase] ?? s.phase };
    });
  });
  // the door's events are in the ledger: kept until it changes, like the other parts the tablets poll
  const keptEvents = new KeptReplies();
  app.get('/api/events', { schema: { querystring: EventsQuery, response: { 200: EntryEventsReply, 304: NotModified } } }, async (req, reply) => keptEvents.send(reply, JSON.stringify(req.query), ledgerVersion(deps.db()), () => {
    const rows = recentEntryEvents(deps.db(), req.query.limit + 1, req.query.before);
    const items = rows.slice(0, req.query.limit).map((e) => ({ ...e, detail: snakeKeys(e.detail), decision_zh: DECISION_ZH[e.decision] ?? e.decision }));
    return { items, next: rows.length > req.query.limit ? items[items.length - 1]!.id : null };
  }));
  app.get('/api/receipts', { schema: { querystring: SessionCursorQuery, response: { 200: ReceiptsReply } } }, async (req) => {
    const rows = recentReceipts(deps.db(), req.query.limit + 1, req.query.before);
    const items = rows.slice(0, req.query.limit).map((r) => ({ ...r, review: r.review.map((v) => ({ ...v, reason_zh: REVIEW_ZH[v.reason] ?? v.reason })) }));
    return { items, next: rows.length > req.query.limit ? items[items.length - 1]!.session : null };
  });
  app.get('/api/stock', { schema: { response: { 200: StockReply } } }, async () => ({ items: stockByProduct(deps.db()), next: null }));
  app.get('/api/sync', { schema: { response: { 200: SyncReply } } }, async () => syncState(deps.db(), deps.sync));

  // Chinese, or English with `?lang=en` (remembered) as on every page
  app.get('/review', { schema: { querystring: ReviewQuery } }, async (req, reply) => {
    rememberLang(req, reply);
    return reply.type('text/html; charset=utf-8').send(reviewPageHtml(deps, req, reply, takeKeptForm(req), req.query.page, req.query.refunds_before, takeDone(req.query.done)));
  });

  registerBoardRoutes(app, { db: deps.db, storeName: deps.store.name, sync: deps.sync, timeZone: deps.timeZone });
}
