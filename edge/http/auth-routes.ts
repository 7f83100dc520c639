/**
 * First-run setup, login and logout. A wrong password counts against the account: the fifth in
 * a row locks it for LOCK_MINUTES (even the right password is refused meanwhile), and the login
 * and the setup (whose one-time token is guessed like a password) are rate-limited per address
 * on top, the two together, so passwords cannot be tried quickly from anywhere.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../ledger/db.ts';
import { addAdminAccount, beginLoginAttempt, countAdminAccounts, getAdminAccount, recordLogin, ADMIN_ROLES, type AdminAccount, type AdminRole } from '../ledger/admin-accounts.ts';
import { appendAudit } from '../ledger/audit.ts';
import { inTransaction } from '../ledger/db.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { isEdgeError } from '../errors.ts';
import { dummyHash, hashPassword, passwordWeakness, verifyPassword } from './passwords.ts';
import { loginPage, messagePage, setupPage, type FieldErrors } from './auth-pages.ts';
import { currentUser, PUBLIC_PAGE, type SessionEnds, type SessionUser } from './auth.ts';
import { MeReply } from './action-schemas.ts';
import { loginCsrfToken, loginCsrfValid, type LoginCsrfOptions } from './login-csrf.ts';
import { refusalOf } from './errors.ts';
import { wantsPage } from './form-refusal.ts';
import { parseKept, SESSION_ENDED, SignedOutError } from './signed-out.ts';
import { formatTime } from './time-format.ts';

export const MAX_FAILED_LOGINS = 5;
export const LOCK_MINUTES = 15;
/** Login and setup attempts per client address per minute (all accounts, both routes, together). */
export const LOGIN_RATE_PER_MINUTE = 10;

const LoginBody = Type.Object({
  username: Type.String({ maxLength: 64 }),
  password: Type.String({ maxLength: 200 }),
  next: Type.Optional(Type.String({ maxLength: 500 })),
  /** A form sent after signing out, to show again on its page once signed in (./signed-out.ts). */
  kept: Type.Optional(Type.String({ maxLength: 12_000 })),
  _csrf: Type.Optional(Type.String()),
});
const SetupBody = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 200 })),
  username: Type.String({ maxLength: 64 }),
  display_name: Type.String({ maxLength: 200 }),
  role: Type.Optional(Type.String({ maxLength: 32 })),
  password: Type.String({ maxLength: 200 }),
  password_confirm: Type.String({ maxLength: 200 }),
  _csrf: Type.Optional(Type.String()),
});

const wantsJson = (req: FastifyRequest): boolean => (req.headers['content-type'] ?? '').includes('application/json');
const isFormPost = (req: FastifyRequest): boolean => (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
const LOCAL_ORIGIN = 'http://local.invalid';
/**
 * Only a path on this site, else "/". Browsers drop tabs and newlines from a URL and read `\`
 * as `/`, so `/<TAB>/evil.example` would become `//evil.example`: any control character or
 * backslash is refused outright. The path given back is the parsed one, percent-encoded (a raw
 * newline or a non-Latin character in a Location header fails the reply), and is checked again
 * after parsing, since `/.//evil.example` normalises to `//evil.example`.
 */
function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || [...next].some((c) => c < ' ' || c === '\u007f' || c === '\\')) return '/';
  let url: URL;
  try {
    url = new URL(next, LOCAL_ORIGIN);
  } catch {
    return '/';
  }
  if (url.origin !== LOCAL_ORIGIN || url.pathname.startsWith('//')) return '/';
  return url.pathname + url.search + url.hash;
}
const sameToken = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The fields of a new account, each wrong one named (setup page and account form). */
export function checkAccountFields(body: { username: string; display_name: string; role?: string | undefined; password: string; password_confirm: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (!/^[a-z0-9_.-]{2,32}$/.test(body.username)) errors.username = { message: '2 to 32 lower-case letters, digits, . _ -', zh: '用户名须为 2–32 位小写字母、数字或 . _ -' };
  const name = body.display_name.trim();
  if (name.length < 1 || name.length > 100) errors.display_name = { message: 'a name of 1 to 100 characters', zh: '请填写姓名（1–100 字）' };
  if (body.role !== undefined && !ADMIN_ROLES.includes(body.role as AdminRole)) errors.role = { message: 'role must be maintainer or village_admin', zh: '角色只能是门店维护员或村管理员' };
  const weak = passwordWeakness(body.password);
  if (weak) errors.password = weak;
  else if (body.password_confirm !== body.password) errors.password_confirm = { message: 'the two passwords differ', zh: '两次输入的密码不一致' };
  return errors;
}

async function signIn(req: FastifyRequest, a: AdminAccount): Promise<SessionUser> {
  // a new session id at login: a session id planted before login is worth nothing after it
  await req.session.regenerate();
  const user: SessionUser = { username: a.username, display_name: a.displayName, role: a.role };
  req.session.user = user;
  return user;
}

export function registerAuthRoutes(scope: FastifyInstance, deps: { db: () => Db; storeName: string; setupToken?: string; sessionEnds?: SessionEnds; loginCsrf: LoginCsrfOptions; clock?: Clock; timeZone?: string | undefined }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db, storeName } = deps;
  const clock = deps.clock ?? systemClock;
  const pub = { public: true };
  // One count per address for every route that checks a secret (the login's password, the
  // setup's token): made once by @fastify/rate-limit's decorator and given to each as its
  // onRequest hook, since a route's own `config.rateLimit` counts per route, even with a
  // `groupId` (@fastify/rate-limit 11.2 keeps a store per route), which would give an address
  // that many tries on each.
  const passwordAttempts = scope.rateLimit({ max: LOGIN_RATE_PER_MINUTE, timeWindow: 60_000 });
  /** A token for a form shown before signing in; one signed in gets the session's. */
  const formToken = (req: FastifyRequest, reply: FastifyReply): string => (req.session?.user ? reply.generateCsrf() : loginCsrfToken(req, reply, deps.loginCsrf));
  /**
   * The login and setup forms' CSRF check. A browser's form refused (a cookie gone, a page
   * kept open for days) gets its page back with a fresh token and what to do, not raw JSON.
   */
  const checkFormToken = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (loginCsrfValid(req, deps.loginCsrf)) return;
    const message = 'the form had expired or came from elsewhere (missing or invalid CSRF token); please try again';
    const zh = '表单已过期或来源不明（防伪令牌无效），请重新提交';
    if (wantsJson(req) || !isFormPost(req)) {
      await reply.status(403).send({ error: 'CSRF_REJECTED', message: 'missing or invalid CSRF token: forms carry it in _csrf, API calls in the x-csrf-token header from GET /api/me', zh: '缺少或无效的防伪令牌（CSRF），请刷新页面后重试' });
      return;
    }
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const csrf = loginCsrfToken(req, reply, deps.loginCsrf);
    const html = req.url.startsWith('/setup')
      ? setupPage({ storeName, csrf, token: body.token ?? '', values: { username: body.username ?? '', display_name: body.display_name ?? '', role: body.role ?? '' }, errors: { password: { message, zh } } })
      : loginPage({ storeName, csrf, next: safeNext(body.next), username: body.username ?? '', error: { message, zh }, ...keptOf(body.kept) });
    await reply.status(403).type('text/html; charset=utf-8').send(html);
  };

  /** A kept form goes on with the login page shown again (a wrong password, an expired form). */
  const keptOf = (kept: string | undefined) => (parseKept(kept) ? { notice: SESSION_ENDED, kept } : {});

  const setupRefusal = (token: string | undefined): { status: number; error: string; message: string; zh: string } | undefined => {
    if (countAdminAccounts(db()) > 0) return { status: 403, error: 'SETUP_CLOSED', message: 'an admin account exists; the first-run setup is closed, sign in instead', zh: '已有管理账号，首次设置已关闭，请登录' };
    if (deps.setupToken && !(token && sameToken(token, deps.setupToken))) {
      return { status: 403, error: 'SETUP_TOKEN', message: 'open the setup link printed in the store daemon\'s log (it carries a one-time token)', zh: '请打开门店守护进程日志中打印的首次设置链接（含一次性口令）' };
    }
    return undefined;
  };
  const refuse = (req: FastifyRequest, reply: FastifyReply, r: NonNullable<ReturnType<typeof setupRefusal>>) =>
    wantsJson(req) || req.url.startsWith('/api/')
      ? reply.status(r.status).send({ error: r.error, message: r.message, zh: r.zh })
      : reply.status(r.status).type('text/html; charset=utf-8').send(messagePage(storeName, '首次设置', r.zh, r.message, r.error === 'SETUP_CLOSED' ? { href: '/login', text: '去登录 Sign in' } : undefined));

  app.get('/setup', { config: PUBLIC_PAGE, schema: { querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }) } }, async (req, reply) => {
    const refusal = setupRefusal(req.query.token);
    if (refusal) return refuse(req, reply, refusal);
    return reply.type('text/html; charset=utf-8').send(setupPage({ storeName, csrf: formToken(req, reply), token: req.query.token ?? '' }));
  });

  app.post('/setup', { onRequest: passwordAttempts, preValidation: checkFormToken, config: { ...pub, loginCsrf: true }, schema: { body: SetupBody } }, async (req, reply) => {
    const body = req.body;
    const refusal = setupRefusal(body.token);
    if (refusal) return refuse(req, reply, refusal);
    const errors = checkAccountFields(body);
    if (Object.keys(errors).length > 0) {
      if (wantsJson(req)) return reply.status(400).send({ error: 'INVALID_ARGUMENT', message: 'some fields are not valid', zh: '部分内容填写有误', fields: errors });
      return reply.status(400).type('text/html; charset=utf-8').send(setupPage({ storeName, csrf: formToken(req, reply), token: body.token ?? '', values: { username: body.username, display_name: body.display_name, role: body.role ?? '' }, errors }));
    }
    const passwordHash = await hashPassword(body.password);
    let account: AdminAccount;
    try {
      account = inTransaction(db(), 'first-run setup', () => {
        const a = addAdminAccount(db(), { username: body.username, displayName: body.display_name.trim(), role: (body.role as AdminRole | undefined) ?? 'maintainer', passwordHash }, { onlyIfNone: true }, clock);
        appendAudit(db(), { actor: a.username, action: 'account.create', target: a.username, before: null, after: { username: a.username, display_name: a.displayName, role: a.role, via: 'setup' } }, clock);
        return a;
      });
    } catch (err) {
      // another setup form won the race
      if (isEdgeError(err, 'DUPLICATE_ID')) return refuse(req, reply, setupRefusal(body.token)!);
      throw err;
    }
    req.log.warn({ username: account.username, role: account.role }, 'first admin account created / 已创建第一个管理账号');
    const user = await signIn(req, account);
    if (wantsJson(req)) return reply.status(201).send({ user, csrf_token: reply.generateCsrf() });
    return reply.redirect('/', 303);
  });

  app.get('/login', { config: PUBLIC_PAGE, schema: { querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }) } }, async (req, reply) => {
    if (countAdminAccounts(db()) === 0) return reply.redirect('/setup', 303);
    if (currentUser(req, db())) return reply.redirect(safeNext(req.query.next), 303);
    return reply.type('text/html; charset=utf-8').send(loginPage({ storeName, csrf: formToken(req, reply), next: safeNext(req.query.next) }));
  });

  app.post('/login', { onRequest: passwordAttempts, preValidation: checkFormToken, config: { ...pub, loginCsrf: true }, schema: { body: LoginBody } }, async (req, reply) => {
    const { username, password } = req.body;
    const fail = (status: number, error: string, message: string, zh: string, extra: Record<string, unknown> = {}) =>
      wantsJson(req)
        ? reply.status(status).send({ error, message, zh, ...extra })
        : reply.status(status).type('text/html; charset=utf-8').send(loginPage({ storeName, csrf: formToken(req, reply), next: safeNext(req.body.next), username, error: { message, zh }, ...keptOf(req.body.kept) }));
    // one time format in both languages, as every page shows times (the store's zone)
    const locked = (a: AdminAccount, now = false) => {
      req.log.warn({ username }, 'login refused: account locked / 账号已锁定，拒绝登录');
      const until = formatTime(a.lockedUntil, deps.timeZone);
      return now
        ? fail(423, 'ACCOUNT_LOCKED', `wrong password, ${MAX_FAILED_LOGINS} times: this account is now locked for ${LOCK_MINUTES} minutes, until ${until}`, `密码已连续错误 ${MAX_FAILED_LOGINS} 次：账号现已锁定 ${LOCK_MINUTES} 分钟，至 ${until}`, { locked_until: a.lockedUntil })
        : fail(423, 'ACCOUNT_LOCKED', `too many wrong passwords; this account is locked until ${until}`, `密码错误次数过多，账号已锁定至 ${until}`, { locked_until: a.lockedUntil });
    };
    // counted before the slow check: attempts sent together cannot all be tried (see beginLoginAttempt)
    const attempt = beginLoginAttempt(db(), username, { maxFailures: MAX_FAILED_LOGINS, lockMs: LOCK_MINUTES * 60_000 }, clock);
    if (attempt?.status === 'locked') return locked(attempt.account);
    const account = attempt?.account;
    const ok = await verifyPassword(password, account?.passwordHash ?? (await dummyHash()));
    if (!attempt || !account || !ok) {
      req.log.warn({ username, locked: attempt?.locks ?? false }, 'wrong username or password / 用户名或密码错误');
      if (attempt?.locks) {
        appendAudit(db(), { actor: 'system', action: 'account.lock', target: account!.username, before: { locked_until: null }, after: { locked_until: attempt.account.lockedUntil } }, clock);
        // the attempt that locks says so: the maintainer learns it now, not at the next try
        return locked(attempt.account, true);
      }
      return fail(401, 'LOGIN_FAILED', 'wrong username or password', '用户名或密码错误');
    }
    if (!recordLogin(db(), account.username, attempt, clock)) {
      // locked by wrong passwords sent meanwhile: the lock holds, even for the right password
      const now = getAdminAccount(db(), account.username);
      if (now) return locked(now);
      return fail(401, 'LOGIN_FAILED', 'wrong username or password', '用户名或密码错误');
    }
    const user = await signIn(req, account);
    if (wantsJson(req)) return reply.send({ user, csrf_token: reply.generateCsrf() });
    const next = safeNext(req.body.next);
    // shown once, on the page it was sent from, in the new session only
    const kept = parseKept(req.body.kept);
    if (kept) req.session.keptForm = { ...kept, page: next };
    return reply.redirect(next, 303);
  });

  /**
   * "Log out" pressed in a tab opened before signing in again elsewhere: its token is no longer
   * good, so nothing is done; the browser is told so, with the way back to the admin page (whose
   * button carries a fresh token), not the API's JSON.
   */
  const logoutRefused = (err: Error, req: FastifyRequest, reply: FastifyReply): void => {
    const r = refusalOf(err, req);
    // signed out already (in another tab, or the 8 hours over): nothing to end; the sign-in page
    if (err instanceof SignedOutError && wantsPage(req)) {
      void reply.redirect('/login', 303);
      return;
    }
    if (r.body.error !== 'CSRF_REJECTED' || !wantsPage(req)) {
      void reply.status(r.status).send(r.body);
      return;
    }
    const zh = '页面已过期，请重新提交：您在别处重新登录过，现在仍是登录状态；如要退出，请回到管理页再按一次“退出登录”';
    const en = 'The page has expired (you signed in again elsewhere): you are still signed in. To sign out, go back to the admin page and press Log out again';
    void reply.status(403).type('text/html; charset=utf-8').send(messagePage(storeName, '页面已过期 Page expired', zh, en, { href: '/', text: '返回管理页 Back to the admin page' }));
  };

  app.post('/logout', { errorHandler: logoutRefused }, async (req, reply) => {
    const sid = req.session.sessionId;
    await req.session.destroy();
    deps.sessionEnds?.emit('ended', sid);
    if (wantsJson(req)) return reply.send({ ok: true });
    return reply.redirect('/login', 303);
  });

  /** Who is signed in, and a CSRF token for API clients' state-changing requests. */
  app.get('/api/me', { config: PUBLIC_PAGE, schema: { response: { 200: MeReply } } }, async (req, reply) => {
    const user = currentUser(req, db()) ?? null;
    // signed in: the session's token; not yet: the login form's (no session is stored for it)
    return { user, csrf_token: user ? reply.generateCsrf() : loginCsrfToken(req, reply, deps.loginCsrf) };
  });
}
