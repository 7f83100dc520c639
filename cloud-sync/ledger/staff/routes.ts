/**
 * Staff sign-in for the ledger's pages (/town, /passbook): town and village office staff with
 * a user name and password instead of a bearer token kept in the browser. The same rules as
 * the store's admin page (edge/http/auth-routes.ts): scrypt hashes (lib/passwords.ts), no
 * default password — the first account comes from a one-time setup link the ledger logs (or
 * `store-edge ledger staff add`) —, the fifth wrong password (each within 15 minutes of the
 * last) locks the account for 15 minutes, and the login, the setup and one's own password
 * change take at most 10 attempts a minute per address, together. The session is a random
 * token in an HTTP-only, SameSite=Strict cookie (`ledger_staff`, 8 hours) kept hashed in the
 * ledger, so a restart keeps staff signed in and a logout or a new password ends it. A town
 * account is the town role, a village account its village's role: the same gates and the same
 * isolation as their bearer tokens. Bearer tokens stay, for machines. A disabled account cannot
 * sign in. Managing accounts is account-routes.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { dummyHash, hashPassword, verifyPassword } from '../../../lib/passwords.ts';
import { fieldError } from '../governance/rules.ts';
import type { GovApp, GovDeps } from '../governance/access.ts';
import { addStaff, countStaff, getStaff, openSession, endSession, type StaffAccount } from './accounts.ts';
import { busyRefusal, LOCK_MS, lockedRefusal, LOGIN_RATE_PER_MINUTE, releaseLoginAttempt, reserveLoginAttempt, settleFailedLogin } from './login-counts.ts';
import { checkAccount, NewAccount, registerStaffAccountRoutes } from './account-routes.ts';

export const STAFF_COOKIE = 'ledger_staff';
export { LOGIN_RATE_PER_MINUTE } from './login-counts.ts';

export interface StaffDeps extends GovDeps {
  /** When set, the first-run setup needs it (the link with it is in the ledger's log). */
  setupToken?: string | undefined;
  csrfFor(reply: FastifyReply, session: string): string;
  /** The villager page's cookie, cleared at a staff login: a browser holds one identity. */
  villagerCookie: string;
}

const Password = Type.String({ maxLength: 200 });

const sameToken = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function registerStaffRoutes(app: GovApp, deps: StaffDeps): void {
  const page = { page: true };
  // The login, the setup and one's own password change check a password: one count per address for the three
  const passwordAttempts = app.rateLimit({ max: LOGIN_RATE_PER_MINUTE, timeWindow: 60_000 });
  const signIn = async (req: FastifyRequest, reply: FastifyReply, a: StaffAccount) => {
    const s = await openSession(deps.db, a.username, deps.clock());
    reply.setCookie(STAFF_COOKIE, s.token, { path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', expires: new Date(s.expires_at) });
    reply.clearCookie(deps.villagerCookie, { path: '/' });
    reply.header('cache-control', 'no-store');
    return { user: a, expires_at: s.expires_at, csrf: deps.csrfFor(reply, s.token) };
  };

  app.post('/staff/setup', {
    onRequest: passwordAttempts,
    config: page,
    schema: { body: Type.Object({ ...NewAccount, password_confirm: Password, token: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const b = req.body;
    if ((await countStaff(deps.db)) > 0) throw fieldError('setup', 'an account exists; the first-run setup is closed, sign in instead', '已有账号，首次设置已关闭，请登录', 403);
    if (deps.setupToken && !(b.token && sameToken(b.token, deps.setupToken))) throw fieldError('token', 'open the setup link printed in the ledger\'s log (it carries a one-time token)', '请打开村账本日志中打印的首次设置链接（含一次性口令）', 403);
    checkAccount(b);
    const a = await addStaff(deps.db, { username: b.username, display_name: b.display_name.trim(), role: b.role, village: b.village ?? null, password_hash: await hashPassword(b.password) }, 'setup', deps.clock(), { onlyIfNone: true });
    req.log.warn({ username: a.username, role: a.role }, 'first staff account created / 已创建第一个工作人员账号');
    return reply.status(201).send(await signIn(req, reply, a));
  });

  app.post('/staff/login', { onRequest: passwordAttempts, config: page, schema: { body: Type.Object({ username: Type.String({ maxLength: 64 }), password: Password }, { additionalProperties: false }) } }, async (req, reply) => {
    const { username, password } = req.body;
    const now = deps.clock();
    // The attempt is counted before the scrypt, so guesses sent together meet the lock too; a
    // name nobody has is counted and locked alike, so the lock does not tell which names exist.
    const reserved = await reserveLoginAttempt(deps.db, username, now, { log: req.log });
    if (!reserved.ok && !('busy' in reserved)) {
      req.log.warn({ username }, 'staff login refused: account locked / 账号已锁定，拒绝登录');
      return reply.status(423).send(lockedRefusal(reserved.locked_until));
    }
    const account = await getStaff(deps.db, username);
    // An unknown name costs the same scrypt as a wrong password, so timing does not tell; an
    // attempt refused in a flood is checked too, its answer unheard, for the same reason.
    const ok = await verifyPassword(password, account?.password_hash ?? (await dummyHash()));
    const inFlood = reserved.ok && reserved.flood === true;
    if (!reserved.ok || (inFlood && !(account && ok))) {
      // in a flood of made-up names: a name without a count, an account's wrong password, an
      // account locked in the flood; each settled alike (only an account's fifth wrong one locks)
      await settleFailedLogin(deps.db, username, now, { flood: true });
      req.log.warn({ username, in_flood: inFlood }, 'staff login refused: too many unknown user names tried, the name and password not confirmed / 尝试的未知用户名过多，未确认用户名和密码');
      return reply.status(503).header('retry-after', String(LOCK_MS / 1000)).send(busyRefusal());
    }
    // guesses spent in a flood and after it: the right password is answered as a wrong one, as a made-up name's is then
    const spent = reserved.ok && reserved.spent === true;
    if (!account || !ok || spent) {
      // an unknown name is settled (and locked) by the same step as an account
      const locked = await settleFailedLogin(deps.db, username, now);
      req.log.warn({ username, locked: Boolean(locked) }, 'staff login: wrong user name or password / 用户名或密码错误');
      return reply.status(401).send({ error: 'LOGIN_FAILED', message: 'wrong user name or password', zh: '用户名或密码错误', field: 'password' });
    }
    // Told only to whoever knows the password: a disabled account is not an oracle for it.
    if (account.disabled_at) {
      await releaseLoginAttempt(deps.db, account.username, { flood: inFlood });
      req.log.warn({ username }, 'staff login refused: account disabled / 账号已停用，拒绝登录');
      return reply.status(403).send({ error: 'ACCOUNT_DISABLED', message: 'this account is disabled; the town or its village can enable it again', zh: '该账号已停用，请联系镇里或本村管理员重新启用', field: 'username' });
    }
    const { password_hash: _h, ...user } = account;
    return signIn(req, reply, user);
  });

  /** Who is signed in, a CSRF token for the page's actions, and whether the setup is still open. */
  app.get('/staff/session', { config: page }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const token = req.cookies[STAFF_COOKIE];
    const user = req.staffUser;
    if (!token || !user) return reply.status(401).send({ error: 'UNAUTHENTICATED', message: 'not signed in', zh: '尚未登录或登录已过期，请重新登录', field: 'session', setup: (await countStaff(deps.db)) === 0 });
    return { user, csrf: deps.csrfFor(reply, token) };
  });

  // Signed in by the cookie, so the CSRF check of api.ts's hook runs before this.
  app.post('/staff/logout', { config: page }, async (req, reply) => {
    const token = req.cookies[STAFF_COOKIE];
    if (token) await endSession(deps.db, token);
    reply.clearCookie(STAFF_COOKIE, { path: '/' });
    return { ok: true };
  });

  registerStaffAccountRoutes(app, { ...deps, signIn, passwordAttempts });
}
