/**
 * The ledger's web pages: the villager's phone page (/m/, Chinese, login by villager id and
 * PIN or a one-time code, a session cookie, CSRF-protected actions), the printable passbook
 * (/m/passbook for a villager, /passbook for the village office) and the town's roll-up with
 * charts (/town), the staff accounts (/accounts, staff/account-routes.ts) and the village office
 * (/village: claims to decide, tasks, the catalogue, villagers' balances, one-time login codes). Pages are
 * static files; their scripts read the JSON API. Chart.js is served from node_modules
 * (/assets/chart.umd.min.js): nothing comes from a CDN, the village Wi-Fi may have no internet. Staff sign in at /login (or, the first time, /setup) with a password
 * (staff/routes.ts); their pages then read the API with the session's cookie.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { fieldError } from '../governance/rules.ts';
import { useLoginCode } from '../governance/login-codes.ts';
import { villagerOf } from '../tables.ts';
import type { AttemptLimit, GovApp, GovDeps } from '../governance/access.ts';
import { STAFF_COOKIE } from '../staff/routes.ts';

export const SESSION_COOKIE = 'village_session';
const secure = (protocol: string) => protocol === 'https';

const here = (f: string) => new URL(`./static/${f}`, import.meta.url);
const require = createRequire(import.meta.url);

/** The village office's page and its scripts (one file per part of the work, loaded in this order). */
const VILLAGE_OFFICE = ['village.html', 'village-core.js', 'village-claims.js', 'village-record.js', 'village-decided.js', 'village-statement.js', 'village-tasks.js', 'village-catalogue.js', 'village-login-codes.js', 'village.js'];

/** The pages' own files, served at /assets/ (the pages themselves at their own URLs). */
const FILES = ['sending.js', 'errors.js', 'signed-in.js', 'photo-key.js', 'photo-shrink.js', 'clock-mark.js', 'villager.html', 'villager-claims.js', 'villager.js', 'villager-pin.js', 'passbook.html', 'passbook.js', 'town.html', 'town.js', 'staff.html', 'staff.js', 'accounts.html', 'accounts.js', ...VILLAGE_OFFICE, 'ledger.css'];

/** A file served: its content type, its bytes and its version (the first 16 hex digits of its SHA-256). */
interface Asset { type: string; body: Buffer; version: string }

let cache: Map<string, Asset> | undefined;
/**
 * File → its asset, read once. A page's references to /assets/ are written with their version
 * (`/assets/village.js?v=…`) as the page is read, so the page served names exactly the scripts
 * of this build.
 */
function assets(): Map<string, Asset> {
  if (cache) return cache;
  const m = new Map<string, Asset>();
  const types: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
  const add = (f: string, body: Buffer) => m.set(f, { type: types[f.split('.').pop()!]!, body, version: createHash('sha256').update(body).digest('hex').slice(0, 16) });
  for (const f of FILES) add(f, readFileSync(here(f)));
  // chart.js exports no subpath for its UMD build: it sits beside the main file (dist/).
  add('chart.umd.min.js', readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js')));
  // js-sha256's browser build (photo-key.js: a photo's upload id; no crypto.subtle on plain HTTP).
  add('sha256.min.js', readFileSync(path.join(path.dirname(require.resolve('js-sha256')), 'sha256.min.js')));
  for (const [f, a] of m) {
    if (!f.endsWith('.html')) continue;
    const html = a.body.toString('utf8').replace(/(src|href)="\/assets\/([\w.-]+)"/g, (whole, attr: string, name: string) => {
      const v = m.get(name)?.version;
      if (!v) throw new Error(`${f} names /assets/${name}, which is not served (pages.ts FILES)`);
      return `${attr}="/assets/${name}?v=${v}"`;
    });
    m.set(f, { ...a, body: Buffer.from(html) });
  }
  cache = m;
  return m;
}

/**
 * Caching. A page (HTML) is `no-cache`: asked for again on every visit (a 304 when unchanged is
 * not worth a second mechanism: a page is a few kB). Its scripts and stylesheet are named by
 * versioned URLs (`?v=` their content hash, written into the page) and cached for a year,
 * `immutable`: after an upgrade the next page names new URLs, so no one runs an old script against
 * the new API; and a phone on the village Wi-Fi does not ask again for each of a page's dozen
 * scripts on every visit, as `no-cache` with ETags would have it do. An asset asked for under
 * another version (a page from before the upgrade still open) or none is the current file,
 * `no-cache`, so that it is never kept under a name that is not its own.
 */
const YEAR = 'public, max-age=31536000, immutable';

export interface WebDeps extends GovDeps {
  /** Sets the CSRF secret cookie and answers a token bound to this session (@fastify/csrf-protection). */
  csrfFor(reply: FastifyReply, session: string): string;
  /** The session token of the request's cookie, if any. */
  sessionCookie(req: { cookies: Record<string, string | undefined> }): string | undefined;
}

export function registerPages(app: GovApp, deps: WebDeps): void {
  const files = assets();
  const page = (url: string, f: string) => app.get(url, { config: { page: true } }, async (req, reply) => {
    const a = files.get(f)!;
    const v = (req.query as { v?: unknown }).v;
    reply.header('cache-control', !f.endsWith('.html') && v === a.version ? YEAR : 'no-cache');
    return reply.type(a.type).send(a.body);
  });
  page('/m/', 'villager.html');
  page('/m/passbook', 'passbook.html');
  page('/passbook', 'passbook.html');
  page('/town', 'town.html');
  page('/login', 'staff.html');
  page('/setup', 'staff.html');
  page('/accounts', 'accounts.html');
  page('/village', 'village.html');
  for (const f of files.keys()) if (!f.endsWith('.html')) page(`/assets/${f}`, f);
  app.get('/m', { config: { page: true } }, async (req, reply) => reply.redirect(`/m/${req.url.slice(2)}`));

  // Who is signed in on this phone, and a CSRF token for the page's actions.
  app.get('/m/session', { config: { page: true } }, async (req, reply) => {
    const token = deps.sessionCookie(req);
    const s = token ? await deps.sessions.of(token) : undefined;
    if (!token || !s) throw fieldError('session', 'not signed in', '尚未登录或登录已过期，请重新登录', 401);
    const v = await villagerOf(deps.db, s.villager);
    const vname = (await deps.db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [s.village]))[0]?.name ?? s.village;
    reply.header('cache-control', 'no-store');
    return { village: s.village, village_name: vname, villager: s.villager, name: v?.name ?? s.villager, expires_at: new Date(s.expires).toISOString(), csrf: deps.csrfFor(reply, token) };
  });
  app.post('/m/logout', { config: { page: true } }, async (req, reply) => {
    const token = deps.sessionCookie(req);
    if (token) await deps.sessions.end(token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });
}

/** The page's login, with the villager login's `limit` (api.ts; governance/routes.ts's registerVillagerLogin says why). */
export function registerPageLogin(app: GovApp, deps: WebDeps, limit: AttemptLimit): void {
  // Log in by PIN or one-time code: the session token goes in an HTTP-only cookie.
  app.post('/m/login', {
    onRequest: limit,
    config: { page: true },
    schema: { body: Type.Object({ village: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }), villager: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }), pin: Type.Optional(Type.String({ minLength: 1, maxLength: 8 })), code: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const { village, villager, pin, code } = req.body;
    if ((pin === undefined) === (code === undefined)) throw fieldError(pin === undefined ? 'pin' : 'code', 'give either a PIN or a one-time code', '请输入密码或一次性登录码（二选一）');
    const s = pin !== undefined
      ? await deps.sessions.login(deps.db, village, villager, pin)
      : await deps.sessions.loginWith(village, villager, 'code', (spend) => useLoginCode(deps.db, village, villager, code!, deps.clock(), spend));
    reply.setCookie(SESSION_COOKIE, s.token, { path: '/', httpOnly: true, sameSite: 'strict', secure: secure(req.protocol), expires: new Date(s.expires_at) });
    // a browser holds one identity: a villager signing in on it signs the staff member out of it
    reply.clearCookie(STAFF_COOKIE, { path: '/' });
    return { village, villager, expires_at: s.expires_at, csrf: deps.csrfFor(reply, s.token) };
  });
}
