/**
 * The village ledger's JSON API (fastify). Bearer-token auth with two staff roles: `town` sees
 * every village and creates villages, but changes no village's data (403); `village` reads and
 * changes its own only — another village's data answers 404, as if it did not exist. Awards made here are signed and published to the village's stores.
 * A direct entry (`POST …/entries`) is the village's machines' (a bearer token), capped, audited and
 * never in the ids the ledger makes; a staff account files a record instead (governance/direct.ts).
 * Points governance (governance/) adds a third role, the villager, by session token: a bearer
 * token from `POST /api/villager/login`, or the HTTP-only cookie of the villager's phone page
 * (web/pages.ts). A request signed in by that cookie must carry a CSRF token (`x-csrf-token`)
 * for anything but GET, since a browser sends cookies by itself; bearer tokens it never does.
 * Staff (town and village office) sign in to the pages with a password (staff/routes.ts): their
 * cookie maps to the town or village role, with the same CSRF rule; bearer tokens stay for machines.
 */
import { createHash, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isEdgeError, ErrorCode } from '../../edge/errors.ts';
import type { Logger } from '../../edge/log.ts';
import type { SqlDb } from './sql.ts';
import type { LedgerService } from './service.ts';
import { registerGovernance, registerVillagerLogin, type Principal } from './governance/routes.ts';
import { registerPinChange } from './governance/pin-change.ts';
import { VillagerSessions, villagerLoginLimit, type VillagerSession } from './governance/auth.ts';
import { nulField, nulRefusal, refusalCode, validationError } from './governance/errors.ts';
import { fieldError, ITEM_POINTS_MAX, notBlank } from './governance/rules.ts';
import { actorOf, staffOf } from './governance/access.ts';
import { checkDirectEntry, postDirectEntry, villagerAudit } from './governance/direct.ts';
import { registerRollupRoutes } from './governance/rollup-routes.ts';
import { RollupRunner } from './governance/rollup-runner.ts';
import { registerVillagerRoutes } from './governance/villager-routes.ts';
import { registerStatementRoutes } from './governance/statement.ts';
import { qrIssuer } from './governance/qr.ts';
import { registerPageLogin, registerPages, SESSION_COOKIE } from './web/pages.ts';
import { registerBoardRoutes } from './board/routes.ts';
import { registerCatalogueRoutes } from './catalogue-routes.ts';
import { registerStaffRoutes, STAFF_COOKIE } from './staff/routes.ts';
import { sessionAccount, type StaffAccount } from './staff/accounts.ts';
import { registerStoreAlarmRoutes } from './store-alarm-routes.ts';
import type { BoardPublisher } from './board/publisher.ts';
import { villagerDebt } from './debts.ts';
import { addVillage, balanceOf, listStores, registerStore, villageName, villageSeq, villagerOf } from './tables.ts';
import { COMMANDS, VILLAGER_NAME_MAX, villagerNameRefusal } from '../protocol/payloads.ts';
import { publicEd25519 } from '../protocol/sign.ts';

export type Role = 'village' | 'town';
/** `name`: the tokens file's optional name, which the records it files and the audit give as `token:NAME` (governance/duties.ts). */
export interface ApiToken { token: string; role: Role; village?: string; name?: string }

declare module 'fastify' {
  interface FastifyRequest {
    /** The staff account signed in by the `ledger_staff` cookie (null without one, or with a bearer token). */
    staffUser: StaffAccount | null;
    /** The villager signed in by a session token (bearer) or the phone page's cookie, read from the ledger before the route runs; null without one. */
    villagerSession: VillagerSession | null;
  }
  interface FastifyContextConfig {
    /** A route of the pages, open without a sign-in (its handler asks for one where it needs it). */
    page?: boolean;
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest();
const VillageId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Params = Type.Object({ village: VillageId });
/** The largest JSON body the API takes (an evidence photo is multipart, with its own limit). */
const BODY_LIMIT = 256 * 1024;
/**
 * How long a request may take to arrive, and its headers: fastify's default is no limit, so a
 * client that sends part of a request and stops held its connection (and the ledger's shutdown)
 * for ever. Generous: an 8 MiB evidence photo from a phone on a slow village line (0.5 Mbit/s)
 * takes some two minutes. Node's own http defaults (300 s; its check runs every 30 s).
 */
export const REQUEST_TIMEOUT_MS = 300_000;
export const HEADERS_TIMEOUT_MS = 30_000;

export interface LedgerApiDeps {
  db: SqlDb;
  service: LedgerService;
  tokens: ApiToken[];
  log: Logger;
  /** The app clock that stamps what the API stores (villages, entries, sessions): a test's or a simulated day; the machine's without. */
  clock?: () => Date;
  /** Ed25519 private key that signs villagers' store-door QR tokens; without it the QR route answers 503. */
  qrKey?: KeyObject | undefined;
  qrLifetimeS?: number;
  /** The public boards' publisher; its routes let a village publish now. */
  board?: BoardPublisher | undefined;
  /** Where roll-ups run (a worker thread on SQLite); by default one of its own, stopped with the app. */
  rollups?: RollupRunner | undefined;
  /** When set, the staff accounts' first-run setup needs it (run.ts logs the link with it). */
  setupToken?: string | undefined;
}

export function buildLedgerApi(deps: LedgerApiDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.log.child({}, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: BODY_LIMIT, requestTimeout: REQUEST_TIMEOUT_MS }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;
  void app.register(fastifyCookie);
  // The CSRF token is bound to the villager's session (userInfo), its secret in a cookie.
  void app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict' },
    getUserInfo: (req: FastifyRequest) => sha(req.cookies[STAFF_COOKIE] || req.cookies[SESSION_COOKIE] || '').toString('base64url'),
    csrfOpts: { hmacKey: randomBytes(32) },
  });
  // No inline script on any page; scripts, styles and images from the ledger itself only.
  void app.register(fastifyHelmet, { contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'style-src': ["'self'"], 'img-src': ["'self'", 'data:', 'blob:'] } } });
  void app.register(fastifyMultipart, { limits: { fileSize: 8 * 1024 * 1024, files: 1 } });
  // Only the staff and villager logins, the staff setup and one's own password change are limited
  // (governance/access.ts's AttemptLimit: one count per address for each group of them).
  void app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429, error: 'RATE_LIMITED', field: 'password',
      message: `too many attempts; try again in ${Math.ceil(ctx.ttl / 1000)} s`, zh: `尝试次数过多，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`,
    }),
  });
  app.decorateRequest('staffUser', null);
  app.decorateRequest('villagerSession', null);
  const tokens = deps.tokens.map((t) => ({ ...t, hash: sha(t.token) }));
  /** A staff caller: a machine's bearer token, or a person signed in to the pages. */
  const who = (req: FastifyRequest): { role: Role; village?: string | undefined; username?: string; name?: string } | undefined => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return req.staffUser ? { role: req.staffUser.role, village: req.staffUser.village ?? undefined, username: req.staffUser.username } : undefined;
    const h = sha(m[1]!);
    return tokens.find((t) => timingSafeEqual(t.hash, h));
  };
  const mayRead = (req: FastifyRequest, village: string) => {
    const t = who(req);
    return t !== undefined && (t.role === 'town' || t.village === village);
  };
  // the API's clock, as the login codes and the staff sessions take it (a test's simulated day ages villager sessions and counts too)
  const clock = deps.clock ?? (() => new Date());
  const sessions = new VillagerSessions(deps.db, () => clock().getTime(), deps.log);
  const sessionCookie = (req: { cookies: Record<string, string | undefined> }) => req.cookies[SESSION_COOKIE] || undefined;
  /** A villager signed in by the page's cookie rather than a bearer token. */
  const byCookie = (req: FastifyRequest) => req.headers.authorization === undefined && (sessionCookie(req) !== undefined || Boolean(req.cookies[STAFF_COOKIE]));
  /** A villager's session token: a bearer token that is no staff token, or the phone page's cookie. */
  const villagerToken = (req: FastifyRequest): string | undefined => {
    if (who(req)) return undefined;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? m[1]! : byCookie(req) && !req.cookies[STAFF_COOKIE] ? sessionCookie(req) : undefined;
  };
  const principal = (req: FastifyRequest): Principal | undefined => {
    const t = who(req);
    if (t) {
      const staff = t.username === undefined ? {} : { staff: t.username };
      const named = t.name === undefined ? {} : { token: t.name };
      return t.role === 'town' ? { role: 'town', ...staff, ...named } : { role: 'village', village: t.village!, ...staff, ...named };
    }
    const s = req.villagerSession;
    return s ? { role: 'villager', village: s.village, villager: s.villager } : undefined;
  };
  /** For the audit of a plain route's change: the caller's actor and the staff account signed in (`by`). */
  const acting = (req: FastifyRequest) => ({ actor: actorOf(principal(req)!), staff: staffOf(principal(req)!), now: (deps.clock ?? (() => new Date()))() });

  app.setErrorHandler((err, _req, reply) => {
    if (isEdgeError(err)) {
      const given = err.details?.status;
      const status = typeof given === 'number' ? given : err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.UNKNOWN_VILLAGER ? 404 : err.code === ErrorCode.DUPLICATE_ID ? 409 : 400;
      // a busy database (sql.ts `busyError`): nothing was changed, and the same request may be sent again
      const retryAfter = err.details?.retryAfterS;
      if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
      return reply.status(status).send({ error: refusalCode(status, err.code), message: err.message, zh: err.zh, ...(err.details?.field ? { field: err.details.field } : {}) });
    }
    const e = err as { statusCode?: number; message?: string; code?: string };
    if (e.code?.startsWith('FST_CSRF')) return reply.status(403).send({ error: 'CSRF_REJECTED', message: 'missing or wrong CSRF token (x-csrf-token); reload the page', zh: '页面已过期或请求来源不明，请刷新页面后再试', field: 'csrf' });
    if (e.code === 'FST_REQ_FILE_TOO_LARGE') return reply.status(413).send({ error: ErrorCode.INVALID_ARGUMENT, message: 'the photo is larger than 8 MB', zh: '照片太大，不能超过 8 MB', field: 'photo' });
    if (e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return reply.status(415).send({ error: ErrorCode.INVALID_ARGUMENT, message: 'send the photo as multipart/form-data', zh: '请以 multipart/form-data 上传照片', field: 'photo' });
    if (e.statusCode === 429) {
      const r = err as { error?: string; zh?: string; field?: string };
      return reply.status(429).send({ error: r.error ?? 'RATE_LIMITED', message: e.message ?? 'too many attempts', zh: r.zh ?? '尝试次数过多，请稍后再试', field: r.field ?? 'password' });
    }
    if (e.statusCode === 415) return reply.status(415).send({ error: ErrorCode.INVALID_ARGUMENT, message: e.message ?? 'unsupported content type', zh: '不支持的内容类型，请发送 JSON' });
    if (e.statusCode === 400) return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, ...validationError(err) });
    if (e.statusCode === 413) return reply.status(413).send({ error: ErrorCode.INVALID_ARGUMENT, message: `the request is too large (at most ${BODY_LIMIT / 1024} KB)`, zh: `请求内容太大（不能超过 ${BODY_LIMIT / 1024} KB）` });
    // Any other refusal of the request by fastify or a plugin is the sender's fault, not an error of the ledger.
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return reply.status(e.statusCode).send({ error: refusalCode(e.statusCode, ErrorCode.INVALID_ARGUMENT), message: e.message ?? 'bad request', zh: '请求内容不正确' });
    deps.log.error({ err }, 'ledger API error / 村账本接口错误');
    return reply.status(500).send({ error: ErrorCode.INTERNAL, message: 'internal error', zh: '内部错误' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: ErrorCode.NOT_FOUND, message: `no route ${req.method} ${req.url.split('?')[0]}`, zh: '没有这个接口或页面' }));
  app.addHook('onRequest', async (req, reply) => {
    // A path (or method) the ledger has no route for goes on to the not-found handler: 404 to
    // everyone, signed in or not (an old link on a phone). Every route that exists is matched
    // here, so none of them skips the checks below.
    if (req.is404) return;
    const staff = req.headers.authorization === undefined ? req.cookies[STAFF_COOKIE] : undefined;
    if (staff) req.staffUser = (await sessionAccount(deps.db, staff, clock())) ?? null;
    const villager = villagerToken(req);
    if (villager) req.villagerSession = (await sessions.of(villager)) ?? null;
    const url = req.routeOptions.url;
    const page = req.routeOptions.config?.page === true;
    if (url !== '/m/login' && url !== '/api/villager/login' && !page && !principal(req)) return reply.status(401).send({ error: 'UNAUTHORIZED', message: 'a valid bearer token is required', zh: '需要有效的访问令牌' });
    if (url !== '/m/login' && url !== '/staff/login' && url !== '/staff/setup' && byCookie(req) && req.method !== 'GET' && req.method !== 'HEAD') {
      await new Promise<void>((resolve, reject) => app.csrfProtection(req, reply, (err?: Error) => (err ? reject(err) : resolve())));
    }
  });
  // Text with a NUL character is refused on its field before any route reads it (errors.ts, nulField).
  app.addHook('preValidation', async (req, reply) => {
    for (const part of [req.params, req.query, req.body]) {
      const field = nulField(part);
      if (field !== undefined) return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, ...nulRefusal(field) });
    }
  });
  // A query key the route does not take is refused by name before the schema runs (fastify's
  // Ajv would ignore it): `?statsu=reported` is a typo to correct, not a request for everything.
  app.addHook('preValidation', async (req) => {
    const taken = (req.routeOptions.schema?.querystring as { properties?: Record<string, unknown> } | undefined)?.properties;
    if (!taken) return;
    const unknown = Object.keys(req.query as Record<string, unknown>).find((k) => !Object.hasOwn(taken, k));
    if (unknown === undefined) return;
    const known = Object.keys(taken).join(', ');
    throw fieldError(unknown, `unknown query parameter ${unknown}; this route takes ${known || 'none'}`, `不认识的查询参数：${unknown}（此接口只接受 ${known || '无'}）`);
  });
  // The town may read any village, but only one that exists: a mistyped id answers 404, as the
  // roll-up does, rather than a village where nothing happened. Another village's caller gets 404 from the route.
  app.addHook('preHandler', async (req) => {
    const village = (req.params as { village?: unknown } | undefined)?.village;
    if (typeof village === 'string' && who(req)?.role === 'town' && (await villageName(deps.db, village)) === undefined) {
      throw fieldError('village', `no village ${village}`, `找不到村 ${village}`, 404, ErrorCode.NOT_FOUND);
    }
  });
  const notFound = { error: ErrorCode.NOT_FOUND, message: 'no such village', zh: '找不到该村' };
  /**
   * A write to a village's own data (villagers, entries, commands, stores): that village's role
   * only. The town reads every village but manages none (docs/governance.md, Roles), as the
   * governance routes' gate says (403); another village, as for reading, answers 404.
   */
  const mayManage = (req: FastifyRequest, reply: FastifyReply, village: string): boolean => {
    if (!mayRead(req, village)) {
      void reply.status(404).send(notFound);
      return false;
    }
    if (who(req)?.role !== 'town') return true;
    void reply.status(403).send({ error: 'FORBIDDEN', field: 'role', message: 'the town reads a village\'s data but does not manage it: use the village\'s own token or account', zh: '镇级账号只能查看村里的数据，不能修改，请使用本村的令牌或账号' });
    return false;
  };

  app.post('/api/villages', { schema: { body: Type.Object({ id: VillageId, name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }) } }, async (req, reply) => {
    if (who(req)?.role !== 'town') return reply.status(403).send({ error: 'FORBIDDEN', message: 'only the town creates villages', zh: '只有镇级账号可以新建村' });
    const { id, name } = req.body;
    if (await addVillage(deps.db, id, name, clock().toISOString())) return reply.status(201).send({ id, name, duplicate: false });
    // The same village again is a retry (the demo's start, say): answered as it is. Another name
    // under a taken id is another village: refused, never a silent "created".
    const held = await villageName(deps.db, id);
    if (held === name) return reply.status(200).send({ id, name, duplicate: true });
    return reply.status(409).send({ error: ErrorCode.DUPLICATE_ID, field: 'id', message: `village id ${id} is in use already (${held ?? '?'}); choose another id`, zh: `村编号 ${id} 已存在（${held ?? '?'}），请换一个编号` });
  });

  app.put('/api/villages/:village/villagers/:id', {
    // the name's length is the stores' rule, counted as they count it (villagerNameRefusal), not Ajv's characters
    schema: { params: Type.Object({ village: VillageId, id: VillageId }), body: Type.Object({ name: Type.String({ minLength: 1, description: `at most ${VILLAGER_NAME_MAX} UTF-16 units` }), status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('blocked'), Type.Literal('left')])) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!mayManage(req, reply, req.params.village)) return reply;
    // the passbook, the office lists and the stores show it: blanks alone would be a villager without a name
    const name = notBlank('name', req.body.name, { en: 'a villager\'s name', zh: '姓名' });
    const tooLong = villagerNameRefusal(name);
    if (tooLong) throw fieldError('name', tooLong.message, tooLong.zh);
    const a = acting(req);
    const published = await deps.service.putVillager({ id: req.params.id, name, village: req.params.village, ...(req.body.status ? { status: req.body.status } : {}) }, villagerAudit(req.params.village, req.params.id, a.actor, a.staff, a.now));
    return { id: req.params.id, published };
  });

  app.get('/api/villages/:village/villagers/:id', { schema: { params: Type.Object({ village: VillageId, id: VillageId }) } }, async (req, reply) => {
    const v = await villagerOf(deps.db, req.params.id);
    if (!mayRead(req, req.params.village) || !v || v.village !== req.params.village) return reply.status(404).send({ error: ErrorCode.UNKNOWN_VILLAGER, message: 'no such villager', zh: '找不到该村民' });
    return { ...v, balance: await balanceOf(deps.db, v.id), ...(await villagerDebt(deps.db, v.village, v.id)) };
  });

  app.post('/api/villages/:village/entries', {
    schema: {
      params: Params,
      body: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:#@-]+$' }),
        villager: VillageId,
        kind: Type.Union([Type.Literal('award'), Type.Literal('penalty')]),
        points: Type.Integer({ minimum: -ITEM_POINTS_MAX, maximum: ITEM_POINTS_MAX }),
        reason: Type.String({ minLength: 1, maxLength: 500 }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    if (!mayManage(req, reply, req.params.village)) return reply;
    const b = req.body;
    checkDirectEntry(req, b.id);
    if ((b.kind === 'award') !== (b.points > 0) || b.points === 0) return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, message: 'an award is positive, a penalty negative', zh: '奖励积分须为正数，扣分须为负数' });
    const a = acting(req);
    const r = await postDirectEntry(deps.service, req.params.village, { id: b.id, villager: b.villager, kind: b.kind, points: b.points, reason: b.reason, created_at: clock().toISOString() }, a.actor, a.staff, a.now);
    return reply.status(r.duplicate ? 200 : 201).send({ id: b.id, duplicate: r.duplicate, published: r.published, balance: await balanceOf(deps.db, b.villager) });
  });

  app.post('/api/villages/:village/commands', {
    schema: { params: Params, body: Type.Object({ command: Type.Union(COMMANDS.map((c) => Type.Literal(c))), store: Type.Optional(VillageId), villager: Type.Optional(VillageId) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!mayManage(req, reply, req.params.village)) return reply;
    const a = acting(req);
    const v = req.body.villager;
    return { published: await deps.service.publishOnStream(req.params.village, 'command', req.body, v === undefined ? undefined : villagerAudit(req.params.village, v, a.actor, a.staff, a.now, req.body.command)) };
  });

  app.put('/api/villages/:village/stores/:id', {
    schema: { params: Type.Object({ village: VillageId, id: VillageId }), body: Type.Object({ key_id: Type.String({ minLength: 1, maxLength: 64 }), public_key: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!mayManage(req, reply, req.params.village)) return reply;
    try {
      publicEd25519(req.body.public_key);
    } catch {
      return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, message: 'public_key is not an Ed25519 public key in PEM', zh: '门店公钥不是 Ed25519 PEM 格式' });
    }
    await registerStore(deps.db, req.params.village, req.params.id, req.body.key_id, req.body.public_key);
    return { id: req.params.id };
  });

  app.get('/api/villages/:village/sync', { schema: { params: Params } }, async (req, reply) => {
    if (!mayRead(req, req.params.village)) return reply.status(404).send(notFound);
    const stores = (await listStores(deps.db, req.params.village)).map(({ publicKey: _k, ...s }) => ({ ...s, missing_rows: deps.service.heartbeatDeps.missing?.get(s.village, s.id) ?? null }));
    // the ledger's own broker link, as the store's /api/sync shows its own (last_error: null once connected)
    const mine = { village_seq: await villageSeq(deps.db, req.params.village), connected: deps.service.connected, last_error: deps.service.lastError ?? null, stores };
    // The refusals and counters are the whole ledger's, every village's together: the town's to see.
    return who(req)?.role === 'town' ? { ...mine, refused: deps.service.refusals.toJSON(), counters: deps.service.counters } : mine;
  });

  const gov = { db: deps.db, service: deps.service, sessions, principal, clock };
  registerGovernance(app, gov);
  const rollups = deps.rollups ?? new RollupRunner(deps.db);
  if (!deps.rollups) app.addHook('onClose', async () => rollups.stop());
  registerRollupRoutes(app, { ...gov, rollups });
  registerStoreAlarmRoutes(app, gov);
  registerVillagerRoutes(app, { ...gov, qr: deps.qrKey ? qrIssuer(deps.qrKey, deps.qrLifetimeS) : undefined });
  registerStatementRoutes(app, gov);
  registerPages(app, { ...gov, sessionCookie, csrfFor: (reply, session) => reply.generateCsrf({ userInfo: sha(session).toString('base64url') }) });
  registerBoardRoutes(app, { ...gov, board: deps.board });
  registerCatalogueRoutes(app, gov);
  // In a child context, so the rate limit is loaded first (its `rateLimit` decorator makes the limits).
  void app.register(async (scope) => {
    registerStaffRoutes(scope, { ...gov, setupToken: deps.setupToken, villagerCookie: SESSION_COOKIE, csrfFor: (reply, session) => reply.generateCsrf({ userInfo: sha(session).toString('base64url') }) });
    // one count per address for both villager logins (AttemptLimit says why one hook)
    const villagerLogins = scope.rateLimit(villagerLoginLimit);
    registerVillagerLogin(scope, gov, villagerLogins);
    registerPageLogin(scope, { ...gov, sessionCookie, csrfFor: (reply, session) => reply.generateCsrf({ userInfo: sha(session).toString('base64url') }) }, villagerLogins);
    // a villager's own PIN change: its attempts at the current PIN count with the logins' per address
    registerPinChange(scope, gov, villagerLogins);
  });
  return app;
}
