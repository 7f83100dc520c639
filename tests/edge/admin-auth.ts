/** Signing in to the admin page from tests: an account in the ledger, a session cookie, a CSRF token. */
import type { Db } from '../../edge/ledger/db.ts';
import { addAdminAccount, type AdminRole } from '../../edge/ledger/admin-accounts.ts';
import { hashPassword } from '../../edge/http/passwords.ts';
import type { InjectOptions } from 'fastify';
import type { App } from '../../edge/http/app.ts';

export const TEST_PASSWORD = 'correct horse battery';

export async function createAccount(db: Db, username = 'wang', role: AdminRole = 'maintainer', password = TEST_PASSWORD): Promise<void> {
  addAdminAccount(db, { username, displayName: `${username} 师傅`, role, passwordHash: await hashPassword(password) });
}

export interface Signed {
  /** The Cookie header of the session. */
  cookie: string;
  csrf: string;
  /** Headers of a state-changing JSON request: the cookie and the CSRF token. */
  post: Record<string, string>;
}

const cookieNamed = (name: string) => (setCookie: string | string[] | undefined): string => {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const c = list.find((s) => s.startsWith(`${name}=`));
  if (!c) throw new Error(`no ${name} cookie in ${JSON.stringify(list)}`);
  return c.split(';')[0]!;
};
const sessionCookie = cookieNamed('store_admin');
/** The cookie the login and setup forms' CSRF token goes with (edge/http/login-csrf.ts). */
const loginCookie = cookieNamed('store_login');

/** Signs in through the app (inject), as a browser's script or an API client would. */
export async function signIn(app: App, username = 'wang', password = TEST_PASSWORD): Promise<Signed> {
  const me = await app.inject({ url: '/api/me' });
  const pre = loginCookie(me.headers['set-cookie']);
  const res = await app.inject({ method: 'POST', url: '/login', headers: { cookie: pre, 'x-csrf-token': me.json().csrf_token }, payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const cookie = sessionCookie(res.headers['set-cookie']);
  const csrf = res.json().csrf_token as string;
  return { cookie, csrf, post: { cookie, 'x-csrf-token': csrf } };
}

/** Signs in to a listening daemon (fetch); `get` then fetches with the session. */
export async function signInHttp(base: string, username = 'wang', password = TEST_PASSWORD): Promise<Signed & { get: (path: string) => Promise<Response> }> {
  const me = await politeFetch(new URL('/api/me', base));
  const pre = loginCookie(me.headers.getSetCookie());
  const token = ((await me.json()) as { csrf_token: string }).csrf_token;
  const res = await politeFetch(new URL('/login', base), { method: 'POST', headers: { cookie: pre, 'x-csrf-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = sessionCookie(res.headers.getSetCookie());
  const csrf = ((await res.json()) as { csrf_token: string }).csrf_token;
  return { cookie, csrf, post: { cookie, 'x-csrf-token': csrf }, get: (path) => politeFetch(new URL(path, base), { headers: { cookie } }) };
}

/** The session key tests give `buildApp`: apps built on one ledger accept each other's cookies. */
export const TEST_AUTH = { sessionSecret: 'test-session-secret-0123456789abcdef0123456789' };

/** `inject` with a session: `as(signed)(app, '/api/events')`. */
export function as(s: Signed) {
  return (app: App, o: string | InjectOptions) => {
    const opts: InjectOptions = typeof o === 'string' ? { url: o } : o;
    return app.inject({ ...opts, headers: { ...(opts.headers ?? {}), cookie: s.cookie } });
  };
}

/**
 * fetch as a browser user would use a busy store: a 503 BUSY (the page shedding load while
 * the daemon's event loop is full, edge/http/pressure.ts) never reached a handler, so it is
 * tried again after its Retry-After, until the store answers.
 */
export async function politeFetch(url: string | URL, init?: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, init);
    if (res.status !== 503 || attempt >= 60) return res;
    const body = await res.clone().text();
    if (!body.includes('"BUSY"')) return res;
    await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
  }
}

/** An account (made once per ledger) and a signed-in session on `app`. */
export async function signedIn(app: App, db: Db): Promise<Signed> {
  const { countAdminAccounts } = await import('../../edge/ledger/admin-accounts.ts');
  if (countAdminAccounts(db) === 0) await createAccount(db);
  return signIn(app);
}

/** Creates the first account through the setup link a fresh daemon prints, and stays signed in. */
export async function setupHttp(setupUrl: string, username = 'wang', password = TEST_PASSWORD): Promise<Signed & { get: (path: string) => Promise<Response> }> {
  const page = await politeFetch(setupUrl);
  if (page.status !== 200) throw new Error(`setup page: ${page.status} ${await page.text()}`);
  const pre = loginCookie(page.headers.getSetCookie());
  const html = await page.text();
  const csrf0 = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  const token = new URL(setupUrl).searchParams.get('token') ?? '';
  const res = await politeFetch(new URL('/setup', setupUrl), {
    method: 'POST',
    headers: { cookie: pre, 'x-csrf-token': csrf0, 'content-type': 'application/json' },
    body: JSON.stringify({ token, username, display_name: `${username} 师傅`, password, password_confirm: password }),
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  const cookie = sessionCookie(res.headers.getSetCookie());
  const csrf = ((await res.json()) as { csrf_token: string }).csrf_token;
  return { cookie, csrf, post: { cookie, 'x-csrf-token': csrf }, get: (path) => politeFetch(new URL(path, setupUrl), { headers: { cookie } }) };
}
