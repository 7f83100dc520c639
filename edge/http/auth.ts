/**
 * Who may use the admin page: server-side sessions behind a signed, HTTP-only, SameSite
 * cookie; a CSRF token on every state-changing request; security headers; the first-run
 * setup and the login with a per-account lockout. Only `/healthz`, `/readyz`, `/metrics`, `/board`,
 * `/login`, `/setup`, `/api/me` and the page scripts answer without a session (routes with
 * `config: { public: true }`; those a browser asks before signing in: `PUBLIC_PAGE`).
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession, { type SessionStore } from '@fastify/session';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Db } from '../ledger/db.ts';
import { isLoopback } from './loopback.ts';
import { countAdminAccounts, deleteAdminSession, getAdminAccount, getAdminSession, setAdminSession } from '../ledger/admin-accounts.ts';
import { loginCsrfToken } from './login-csrf.ts';
import { SignedOutError } from './signed-out.ts';
import { UNAUTHENTICATED } from './errors.ts';
import { anonymousPost, anonymousPostLimit } from './anonymous-posts.ts';
import type { SessionUser } from './session-user.ts';

export type { SessionUser };

declare module 'fastify' {
  interface Session {
    user?: SessionUser;
    _csrf?: string;
  }
  interface FastifyRequest {
    /**
     * The signed-in user, set by the guard before the handler runs; null only on a public route
     * asked without a session (such a request never enters the admin gate, ./admin-gate.ts).
     */
    adminUser: SessionUser | null;
    /** A browser's form sent without a session: read to its body, then answered with the sign-in page (./signed-out.ts). */
    signedOut: boolean;
  }
  interface FastifyContextConfig {
    /** Answers without a session. */
    public?: boolean;
    /** A form sent before signing in (login, setup): its CSRF token is the login cookie's (./login-csrf.ts). */
    loginCsrf?: boolean;
  }
}

export interface AuthOptions {
  /** Signs the session cookie (at least 32 characters; see session-key.ts). */
  sessionSecret: string;
  /** When set, the first-run setup asks for it (the link with it is printed in the log). */
  setupToken?: string;
  /**
   * The Secure flag on the cookie: on when the page is served over TLS. Without TLS (loopback,
   * or a LAN address the log warns about) a Secure cookie would never come back over HTTP.
   */
  secureCookies?: boolean;
  /** Whether the page is served over TLS (turns on HSTS and upgrade-insecure-requests). */
  tls?: boolean;
}

/**
 * A public route a browser asks for before signing in (the login and setup pages, `/api/me`,
 * the page scripts): such a request does not wait in the admin gate (./admin-gate.ts), so
 * anonymous requests never take a signed-in maintainer's turn; instead each address of the
 * store's network may ask each such route at most `PUBLIC_RATE_PER_MINUTE` times a minute (429
 * `RATE_LIMITED`). A signed-in maintainer is gated as everywhere and not counted here, nor is
 * the store PC itself (loopback), which runs the daemon.
 */
export const PUBLIC_RATE_PER_MINUTE = 120;
export const PUBLIC_PAGE = { public: true, rateLimit: { max: PUBLIC_RATE_PER_MINUTE, timeWindow: 60_000, allowList: (req: FastifyRequest) => req.adminUser !== null || isLoopback(req.ip) } } as const;

/** Sessions ended in this process (a logout), told to what holds them open (the live stream). */
export class SessionEnds extends EventEmitter<{ ended: [sid: string] }> {}

/** A login lasts a working day (8 hours from signing in); then the login page again. */
export const SESSION_MAX_AGE_MS = 8 * 3600_000;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const isApi = (req: FastifyRequest): boolean => req.url.startsWith('/api/');

/** The signed-in user, if the account still exists (a deleted account's sessions end at once). */
export function currentUser(req: FastifyRequest, db: Db): SessionUser | undefined {
  const user = req.session?.user;
  if (!user) return undefined;
  const account = getAdminAccount(db, user.username);
  if (!account) return undefined;
  return { username: account.username, display_name: account.displayName, role: account.role };
}

/** Sessions in the ledger, so a restart keeps the maintainer signed in and a logout is final. */
function sessionStore(db: () => Db): SessionStore {
  return {
    get(sid, cb): void {
      try {
        cb(null, (getAdminSession(db(), sid) as Session | undefined) ?? null);
      } catch (err) {
        cb(err as Error);
      }
    },
    set(sid, session, cb): void {
      try {
        const exp = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + SESSION_MAX_AGE_MS);
        setAdminSession(db(), sid, session, exp.toISOString());
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    destroy(sid, cb): void {
      try {
        deleteAdminSession(db(), sid);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  };
}

export function unauthenticated(req: FastifyRequest, reply: FastifyReply, db: Db): FastifyReply {
  if (isApi(req)) {
    return reply.status(401).send(UNAUTHENTICATED);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return reply.status(401).type('text/plain; charset=utf-8').send('请先登录 / sign in first');
  }
  const target = countAdminAccounts(db) === 0 ? '/setup' : `/login?next=${encodeURIComponent(req.url)}`;
  return reply.redirect(target, 303);
}

/** `storeName`: on the page refusing an address that sent too many forms without signing in. */
export async function registerAuth(app: FastifyInstance, db: () => Db, opts: AuthOptions, storeName = ''): Promise<void> {
  await app.register(fastifyHelmet, {
    // scripts only from this origin's own files (the live page's /assets/live.js), never
    // inline; inline <style> only
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { 'script-src': ["'self'"], 'upgrade-insecure-requests': opts.tls ? [] : null },
    },
    strictTransportSecurity: opts.tls ? { maxAge: 180 * 24 * 3600 } : false,
  });
  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: opts.sessionSecret,
    cookieName: 'store_admin',
    saveUninitialized: false,
    rolling: false,
    store: sessionStore(db),
    cookie: { httpOnly: true, sameSite: 'strict', secure: opts.secureCookies ?? false, path: '/', maxAge: SESSION_MAX_AGE_MS },
  });
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' });
  // No global limit: the login and the setup share one limiter (./auth-routes.ts), and each
  // public page has its own (PUBLIC_PAGE); both answer with this refusal. Posts without a
  // session have one more, answered with its own page (./anonymous-posts.ts).
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: 'RATE_LIMITED',
      message: `too many attempts; try again in ${Math.ceil(ctx.ttl / 1000)} s`,
      zh: `尝试次数过多，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`,
    }),
  });

  app.decorateRequest('adminUser', null);
  app.decorateRequest('signedOut', false);
  const anonymousPosts = anonymousPostLimit(app, storeName);
  const loginCsrf = { secret: opts.sessionSecret, secure: opts.secureCookies ?? false };
  // Who is asking, before anything else: a request without a session is refused before its
  // body is read or validated (an upload from nobody is never parsed), but for a browser's small
  // form, read for the sign-in page to keep (./anonymous-posts.ts says what each may cost).
  app.addHook('onRequest', async (req, reply) => {
    if (!req.routeOptions.config.public) {
      req.adminUser = currentUser(req, db()) ?? null;
      if (req.adminUser) return;
      if (!(await anonymousPosts(req, reply))) return reply;
      const post = anonymousPost(req);
      if (post.kind === 'form') {
        req.signedOut = true;
        return;
      }
      // the route's form error handler answers with the sign-in page, the body never read
      if (post.kind === 'unread') throw new SignedOutError(loginCsrfToken(req, reply, loginCsrf), post.why);
      return unauthenticated(req, reply, db());
    } else if (req.session?.user) {
      // a signed-in maintainer on a public route (the page's scripts) takes turns like any request
      req.adminUser = currentUser(req, db()) ?? null;
    }
  });
  // After the body is parsed, so a form's `_csrf` field is seen, and before it is validated: a
  // request without the token learns nothing about the fields. An upload's fields are read by
  // @fastify/multipart's own preValidation hook, which runs after this one: its token is checked
  // just before the handler.
  const multipart = (req: FastifyRequest): boolean => (req.headers['content-type'] ?? '').startsWith('multipart/');
  app.addHook('preValidation', (req, reply, done) => {
    // never to the handler: the route's form error handler answers with the sign-in page
    if (req.signedOut) {
      done(new SignedOutError(loginCsrfToken(req, reply, loginCsrf)));
      return;
    }
    // the login and setup forms check their own token (./login-csrf.ts): nobody has a session yet
    if (UNSAFE.has(req.method) && !multipart(req) && !req.routeOptions.config.loginCsrf) {
      app.csrfProtection(req, reply, done);
      return;
    }
    done();
  });
  app.addHook('preHandler', (req, reply, done) => {
    if (UNSAFE.has(req.method) && multipart(req)) {
      app.csrfProtection(req, reply, done);
      return;
    }
    done();
  });
}
