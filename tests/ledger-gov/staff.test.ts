/**
 * Staff sign-in on the village ledger: the first-run setup behind its one-time token, login by
 * password with the lockout (which answers an unknown name as an account, so it tells no name
 * apart) and the per-address rate limit, the HTTP-only SameSite cookie, CSRF
 * on every state change made by the cookie, logout and a new password ending sessions, and the
 * roles: a town account reads every village, a village account only its own (another village
 * answers 404, as for its bearer token) and adds accounts of its own village only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { setStaffPassword } from '../../cloud-sync/ledger/staff/accounts.ts';
import { LOCK_MS, MAX_UNKNOWN_NAME_COUNTS } from '../../cloud-sync/ledger/staff/login-counts.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { govApp, staffLogin, STAFF_PASSWORD, type GovApp } from './gov-app.ts';

describe(`ledger staff accounts (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  /** From `address` (each test's own, apart from g.staff's logins, so the rate limit is not what answers). */
  const login = (app: GovApp, username: string, password: string, address = '192.0.2.7') => app.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: address, payload: { username, password } });

  it('the first account needs the setup link’s token; then the setup is closed and the pages ask for a login', async () => {
    g = await govApp({ setupToken: 'one-time-setup-token-123' });
    // Before any account, the staff login page sends the browser to the setup.
    const before = await g.app.inject({ method: 'GET', url: '/staff/session' });
    expect(before.statusCode).toBe(401);
    expect(before.json()).toMatchObject({ setup: true, zh: expect.any(String) });
    const body = { username: 'town-chief', display_name: '镇干部', role: 'town', password: 'a long enough pw', password_confirm: 'a long enough pw' };
    const noToken = await g.app.inject({ method: 'POST', url: '/staff/setup', payload: body });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toMatchObject({ field: 'token', zh: expect.stringContaining('设置链接') });
    const wrong = await g.app.inject({ method: 'POST', url: '/staff/setup', payload: { ...body, token: 'one-time-setup-token-124' } });
    expect(wrong.statusCode).toBe(403);
    // Bad fields are named, bilingually.
    for (const [over, field] of [[{ username: 'Bad Name' }, 'username'], [{ password: 'short', password_confirm: 'short' }, 'password'], [{ password: ' '.repeat(16), password_confirm: ' '.repeat(16) }, 'password'], [{ password_confirm: 'something else' }, 'password_confirm'], [{ role: 'village' }, 'village'], [{ display_name: ' ' }, 'display_name']] as const) {
      const res = await g.app.inject({ method: 'POST', url: '/staff/setup', payload: { ...body, ...over, token: 'one-time-setup-token-123' } });
      expect({ field, status: res.statusCode, body: res.json() }).toMatchObject({ field, status: 400, body: { field, zh: expect.any(String), message: expect.any(String) } });
    }
    const ok = await g.app.inject({ method: 'POST', url: '/staff/setup', payload: { ...body, token: 'one-time-setup-token-123' } });
    expect(ok.statusCode).toBe(201);
    const cookie = ok.cookies.find((c) => c.name === 'ledger_staff')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const me = await g.app.inject({ method: 'GET', url: '/api/whoami', cookies: { ledger_staff: cookie.value } });
    expect(me.json()).toEqual({ role: 'town', staff: 'town-chief' });
    const again = await g.app.inject({ method: 'POST', url: '/staff/setup', payload: { ...body, username: 'intruder', token: 'one-time-setup-token-123' } });
    expect(again.statusCode).toBe(403);
    expect(again.json()).toMatchObject({ field: 'setup' });
    const hash = (await g.db.query<{ password_hash: string }>('SELECT password_hash FROM staff_accounts'))[0]!.password_hash;
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$/);
    // The pages are served to anyone (they ask for the login themselves), with helmet's headers.
    const page = await g.app.inject({ method: 'GET', url: '/login' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    const audit = (await g.call(g.town, 'GET', '/api/town/audit')).json() as { events: { action: string; subject: string }[] };
    expect(audit.events).toContainEqual(expect.objectContaining({ action: 'staff.create', subject: 'staff:town-chief' }));
  }, 120_000);

  it('five wrong passwords lock the account for 15 minutes, even for the right one; the town unlocks it', async () => {
    g = await govApp();
    const town = await g.staff('town-a');
    await g.staff('clerk', g.a);
    expect((await login(g, 'nobody', 'whatever-it-is')).statusCode).toBe(401);
    for (let k = 0; k < 4; k++) expect((await login(g, 'clerk', 'wrong password!')).json()).toMatchObject({ error: 'LOGIN_FAILED', zh: '用户名或密码错误' });
    expect((await login(g, 'clerk', 'wrong password!')).statusCode).toBe(401);
    const locked = await login(g, 'clerk', STAFF_PASSWORD);
    expect(locked.statusCode).toBe(423);
    expect(locked.json()).toMatchObject({ error: 'ACCOUNT_LOCKED', locked_until: expect.any(String), zh: expect.stringContaining('锁定') });
    // A village account of another village cannot see it to unlock it; the town can.
    const other = await g.staff('clerk-b', g.b);
    expect((await g.call(other, 'POST', '/api/staff/clerk/unlock')).statusCode).toBe(404);
    expect((await g.call(town, 'POST', '/api/staff/clerk/unlock')).statusCode).toBe(200);
    expect((await login(g, 'clerk', STAFF_PASSWORD)).statusCode).toBe(200);
    const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { action: string }[] };
    expect(audit.events.map((e) => e.action)).toEqual(expect.arrayContaining(['staff.lock', 'staff.unlock']));
  }, 120_000);

  it('wrong passwords sent together meet the lock too: at most five are checked, and the account locks', async () => {
    g = await govApp();
    await g.staff('clerk', g.a);
    // 29 wrong and the right one last, each from an address of its own: only the lock can answer
    const burst = await Promise.all(Array.from({ length: 30 }, (_, k) => login(g!, 'clerk', k < 29 ? `wrong password ${k}` : STAFF_PASSWORD, `198.51.100.${k + 1}`)));
    const checked = burst.filter((r) => r.statusCode !== 423);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(burst.filter((r) => r.statusCode === 423)[0]!.json()).toMatchObject({ error: 'ACCOUNT_LOCKED', field: 'password', zh: expect.stringContaining('锁定') });
    if (burst[29]!.statusCode !== 200) {
      expect((await login(g, 'clerk', STAFF_PASSWORD, '198.51.100.200')).statusCode).toBe(423);
      expect((await g.db.query<{ locked_until: string | null }>('SELECT locked_until FROM staff_accounts WHERE username = $1', ['clerk']))[0]!.locked_until).not.toBeNull();
    }
  }, 120_000);

  it('an unknown user name answers as an account does: five wrong passwords, then locked; a burst is checked at most five times', async () => {
    g = await govApp();
    await g.staff('clerk', g.a);
    // from different addresses, so the per-address rate limit plays no part
    const answers = async (username: string, net: number) => {
      const out: { status: number; error: string; until: boolean }[] = [];
      for (let k = 0; k < 6; k++) {
        const r = await login(g!, username, 'wrong password 123', `203.0.${net}.${k + 1}`);
        const body = r.json() as { error: string; locked_until?: string | null };
        out.push({ status: r.statusCode, error: body.error, until: typeof body.locked_until === 'string' });
      }
      return out;
    };
    const existing = await answers('clerk', 113);
    expect(existing.at(-1)).toEqual({ status: 423, error: 'ACCOUNT_LOCKED', until: true });
    expect(await answers('no-such-clerk', 114)).toEqual(existing);
    const burst = await Promise.all(Array.from({ length: 12 }, (_, k) => login(g!, 'nobody-at-all', `wrong password ${k}`, `198.51.101.${k + 1}`)));
    expect(burst.filter((r) => r.statusCode !== 423).length).toBeLessThanOrEqual(5);
    expect(burst.filter((r) => r.statusCode === 423)[0]!.json()).toMatchObject({ error: 'ACCOUNT_LOCKED', zh: expect.stringContaining('锁定') });
    // no account is made for a name nobody has
    expect((await g.db.query<{ username: string }>('SELECT username FROM staff_accounts ORDER BY username')).map((r) => r.username)).toEqual(['clerk']);
  }, 120_000);

  it('an unknown user name\'s wrong passwords are forgotten as an account\'s are, 15 minutes after the last; its row goes then', async () => {
    let at = Date.parse('2026-12-01T08:00:00Z');
    g = await govApp({ clock: () => new Date(at) });
    await g.staff('clerk', g.a);
    const names = async () => (await g!.db.query<{ login: string }>("SELECT login FROM gov_login_failures WHERE login LIKE 'staff-name:%' ORDER BY login")).map((r) => r.login);
    const answers = async (username: string, net: number) => {
      const out: { status: number; error: string; until: boolean }[] = [];
      for (let k = 0; k < 8; k++) {
        // two wrong passwords, then a quarter of an hour and a second without any: the count
        // starts again, and the fifth wrong one after the wait locks
        if (k === 2) at += 15 * 60_000 + 1000;
        const r = await login(g!, username, 'wrong password 123', `203.0.${net}.${k + 1}`);
        const body = r.json() as { error: string; locked_until?: string | null };
        out.push({ status: r.statusCode, error: body.error, until: typeof body.locked_until === 'string' });
      }
      return out;
    };
    // names tried once or twice are not kept past their window: the next attempt, of any name, clears them
    await login(g, 'tried-once', 'wrong password 123', '203.0.119.1');
    for (let k = 0; k < 2; k++) await login(g, 'tried-twice', 'wrong password 123', `203.0.119.${k + 2}`);
    expect(await names()).toEqual(['staff-name:tried-once', 'staff-name:tried-twice']);
    at += 15 * 60_000 + 1000;
    expect((await login(g, 'clerk', 'wrong password 123', '203.0.119.9')).statusCode).toBe(401);
    expect(await names()).toEqual([]);
    at += 15 * 60_000 + 1000;
    const existing = await answers('clerk', 115);
    expect(existing.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 401, 401, 423]);
    expect(await answers('no-such-clerk', 116)).toEqual(existing);
  }, 120_000);

  it('a flood of names nobody has is bounded: once MAX_UNKNOWN_NAME_COUNTS are counted, a name without a count is refused, an account\'s wrong password alike, while its right one signs in', async () => {
    let at = Date.parse('2026-12-01T08:00:00Z');
    g = await govApp({ clock: () => new Date(at) });
    await g.staff('clerk', g.a);
    await g.staff('typo', g.a);
    const stored = async () => Number((await g!.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM gov_login_failures WHERE login LIKE 'staff-name:%'"))[0]!.n);
    // a real and an unknown name each with a wrong password counted before the flood
    expect((await login(g, 'typo', 'wrong password 123', '203.0.120.1')).statusCode).toBe(401);
    expect((await login(g, 'held-name', 'wrong password 123', '203.0.120.2')).statusCode).toBe(401);
    // the flood: distinct names, each counted once, as their logins leave them (made here in one statement)
    await g.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'staff-name:flood-' || k, 1, $2 FROM n",
      [MAX_UNKNOWN_NAME_COUNTS - 1, new Date(at + LOCK_MS).toISOString()]);
    expect(await stored()).toBe(MAX_UNKNOWN_NAME_COUNTS);
    // a name without a count is refused alike, existing or not (an account's wrong password); nothing more is stored
    const refused = [await login(g, 'clerk', 'wrong password 123', '203.0.120.4'), await login(g, 'nobody-new', 'wrong password 123', '203.0.120.5')];
    expect(refused.map((r) => [r.statusCode, r.headers['retry-after']])).toEqual(Array(2).fill([503, String(LOCK_MS / 1000)]));
    expect(refused[1]!.json()).toEqual(refused[0]!.json());
    expect(refused[0]!.json()).toMatchObject({ error: 'LOGIN_BUSY', message: expect.any(String), zh: expect.stringContaining('稍后') });
    // the account's right password signs in all the same (staff-login-flood.test.ts: the rest)
    expect((await login(g, 'clerk', STAFF_PASSWORD, '203.0.120.3')).statusCode).toBe(200);
    expect(await stored()).toBe(MAX_UNKNOWN_NAME_COUNTS);
    // names with a count go on being counted alike, and the real one's count was not reset: four more lock both
    for (const [name, net] of [['typo', 121], ['held-name', 122]] as const) {
      const statuses: number[] = [];
      for (let k = 0; k < 5; k++) statuses.push((await login(g, name, 'wrong password 123', `203.0.${net}.${k + 1}`)).statusCode);
      expect({ name, statuses }).toEqual({ name, statuses: [401, 401, 401, 401, 423] });
    }
    // once the flood's counts end (and held-name's lock, set at the same time), they go, and the account signs in
    at += LOCK_MS;
    expect((await login(g, 'clerk', STAFF_PASSWORD, '203.0.120.6')).statusCode).toBe(200);
    expect(await stored()).toBe(0);
  }, 120_000);

  it('the login takes at most 10 attempts a minute per address', async () => {
    g = await govApp();
    // Malformed attempts count too, and answer at once (no scrypt), so all eleven fall in one minute's window.
    const codes: number[] = [];
    for (let k = 0; k < 9; k++) codes.push((await g.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: '192.0.2.7', payload: { username: `u${k}x` } })).statusCode);
    codes.push((await login(g, 'u9x', 'not the password')).statusCode);
    const eleventh = await login(g, 'u10x', 'not the password');
    expect([...codes, eleventh.statusCode]).toEqual([...Array<number>(9).fill(400), 401, 429]);
    expect(eleventh.json()).toMatchObject({ error: 'RATE_LIMITED', field: 'password', zh: expect.stringContaining('尝试次数过多') });
    // Another address is not limited by this one's attempts.
    expect((await login(g, 'u13x', 'not the password', '198.51.100.9')).statusCode).toBe(401);
  }, 120_000);

  it('the setup sent twice at once (a double click) makes one account: one 201, the other 403 on setup, never a 500', async () => {
    g = await govApp({ setupToken: 'one-time-setup-token-123' });
    const body = { username: 'town-chief', display_name: '镇干部', role: 'town', password: 'a long enough pw', password_confirm: 'a long enough pw', token: 'one-time-setup-token-123' };
    const sends = await Promise.all([0, 1].map((k) => g!.app.inject({ method: 'POST', url: '/staff/setup', remoteAddress: `192.0.2.9${k}`, payload: body })));
    expect(sends.map((r) => `${r.statusCode} ${r.statusCode >= 500 ? r.body : ''}`.trim()).sort()).toEqual(['201', '403']);
    expect(sends.find((r) => r.statusCode === 403)!.json()).toMatchObject({ field: 'setup', zh: expect.stringContaining('请登录') });
    expect(await g.db.query('SELECT username FROM staff_accounts')).toEqual([{ username: 'town-chief' }]);
  }, 120_000);

  it('the login, the setup and one\'s own password change share those 10 attempts a minute per address', async () => {
    g = await govApp();
    const clerk = await g.staff('clerk', g.a);
    const addr = '192.0.2.8';
    const setup = () => g!.app.inject({ method: 'POST', url: '/staff/setup', remoteAddress: addr, payload: { username: 'boss', display_name: '镇长', role: 'town', password: 'a long enough password 1', password_confirm: 'a long enough password 1' } });
    const own = () => g!.app.inject({ method: 'PUT', url: '/api/staff/clerk/password', remoteAddress: addr, headers: { cookie: `ledger_staff=${clerk.cookie}; _csrf=${clerk.secret}`, 'x-csrf-token': clerk.csrf }, payload: { password: 'a new password', password_confirm: 'a new password', current_password: 'not the password' } });
    // four logins, three setups (closed: an account exists), three wrong current passwords: ten in all
    const codes: number[] = [];
    for (let k = 0; k < 4; k++) codes.push((await login(g, `u${k}y`, 'not the password', addr)).statusCode);
    for (let k = 0; k < 3; k++) codes.push((await setup()).statusCode);
    for (let k = 0; k < 3; k++) codes.push((await own()).statusCode);
    expect(codes).toEqual([401, 401, 401, 401, 403, 403, 403, 403, 403, 403]);
    for (const refused of [await login(g, 'u4y', 'not the password', addr), await setup(), await own()]) {
      expect({ status: refused.statusCode, body: refused.json() }).toMatchObject({ status: 429, body: { error: 'RATE_LIMITED', field: 'password', zh: expect.stringContaining('尝试次数过多') } });
    }
    // Setting another's password checks none, and is no attempt; another address is not limited by this one's attempts.
    const chief = await g.staff('chief', g.a);
    const reset = await g.app.inject({ method: 'PUT', url: '/api/staff/clerk/password', remoteAddress: addr, headers: { cookie: `ledger_staff=${chief.cookie}; _csrf=${chief.secret}`, 'x-csrf-token': chief.csrf }, payload: { password: 'a new password', password_confirm: 'a new password' } });
    expect(reset.statusCode).toBe(200);
    expect((await login(g, 'u5y', 'not the password', '198.51.100.10')).statusCode).toBe(401);
  }, 120_000);

  it('a state change by the cookie needs the session’s CSRF token; logout and a new password end sessions', async () => {
    g = await govApp();
    const clerk = await g.staff('clerk', g.a);
    const task = { title: '清扫村道', item: 'ENV-SWEEP-LANE', max_claimants: 2 };
    const url = `/api/villages/${g.a}/tasks`;
    const none = await g.call({ cookie: clerk.cookie, csrf: '' }, 'POST', url, task);
    expect(none.statusCode).toBe(403);
    expect(none.json()).toMatchObject({ error: 'CSRF_REJECTED', field: 'csrf' });
    // Another session's token is not this one's.
    const other = await g.staff('clerk2', g.a);
    expect((await g.call({ cookie: clerk.cookie, csrf: other.csrf }, 'POST', url, task)).statusCode).toBe(403);
    expect((await g.call(clerk, 'POST', url, task)).statusCode).toBe(201);
    expect(await g.db.query('SELECT id FROM gov_tasks WHERE village = $1', [g.a])).toHaveLength(1);
    // The session's own page call gives the same user and a token.
    const s = await g.app.inject({ method: 'GET', url: '/staff/session', cookies: { ledger_staff: clerk.cookie } });
    expect(s.json()).toMatchObject({ user: { username: 'clerk', role: 'village', village: g.a }, csrf: expect.any(String) });
    expect(s.json().user).not.toHaveProperty('password_hash');
    // Logging out ends it at once; the cookie is worth nothing after.
    expect((await g.call(clerk, 'POST', '/staff/logout')).statusCode).toBe(200);
    expect((await g.call(clerk, 'GET', `/api/villages/${g.a}/tasks`)).statusCode).toBe(401);
    // A new password ends the account's other sessions.
    expect((await g.call(other, 'GET', `/api/villages/${g.a}/tasks`)).statusCode).toBe(200);
    await setStaffPassword(g.db, 'clerk2', await hashPassword('a brand new password', 2 ** 14), 'cli', new Date());
    expect((await g.call(other, 'GET', `/api/villages/${g.a}/tasks`)).statusCode).toBe(401);
    expect((await login(g, 'clerk2', STAFF_PASSWORD)).statusCode).toBe(401);
    await staffLogin(g.app, 'clerk2', 'a brand new password');
  }, 120_000);

  it('a village account reads and manages its own village only; the town reads all and adds accounts', async () => {
    g = await govApp();
    const town = await g.staff('town-a');
    const a = await g.staff('clerk-a', g.a);
    expect((await g.call(a, 'GET', '/api/whoami')).json()).toEqual({ role: 'village', village: g.a, staff: 'clerk-a' });
    expect((await g.call(a, 'GET', `/api/villages/${g.a}/rollup`)).statusCode).toBe(200);
    expect((await g.call(a, 'GET', `/api/villages/${g.b}/rollup`)).statusCode).toBe(404);
    expect((await g.call(a, 'GET', `/api/villages/${g.b}/claims`)).statusCode).toBe(404);
    expect((await g.call(a, 'GET', '/api/town/rollup')).statusCode).toBe(403);
    expect((await g.call(a, 'PUT', `/api/villages/${g.b}/villagers/w1`, { name: '外村' })).statusCode).toBe(404);
    expect((await g.call(a, 'PUT', `/api/villages/${g.a}/villagers/w1`, { name: '本村' })).statusCode).toBe(200);
    expect((await g.call(town, 'GET', `/api/villages/${g.b}/claims`)).statusCode).toBe(200);
    expect((await g.call(town, 'GET', '/api/town/rollup')).statusCode).toBe(200);
    expect((await g.call(town, 'POST', `/api/villages/${g.a}/tasks`, { title: 't', item: 'VOL-SERVICE', points: 3, max_claimants: 1 })).statusCode).toBe(403);
    // Accounts: a village adds its own village's only, and lists only its own.
    const acct = { username: 'clerk-a2', display_name: '村文书', role: 'village', village: g.a, password: 'another long pw' };
    expect((await g.call(a, 'POST', '/api/staff', { ...acct, village: g.b, username: 'spy' })).statusCode).toBe(403);
    expect((await g.call(a, 'POST', '/api/staff', { ...acct, role: 'town', village: undefined, username: 'spy' })).statusCode).toBe(403);
    expect((await g.call(a, 'POST', '/api/staff', acct)).statusCode).toBe(201);
    expect((await g.call(a, 'POST', '/api/staff', acct)).statusCode).toBe(409);
    expect((await g.call(town, 'POST', '/api/staff', { ...acct, username: 'clerk-b', village: g.b })).statusCode).toBe(201);
    expect((await g.call(town, 'POST', '/api/staff', { ...acct, username: 'clerk-c', village: 'no-such-village' })).json()).toMatchObject({ field: 'village' });
    const listed = (await g.call(a, 'GET', '/api/staff')).json() as { accounts: { username: string }[] };
    expect(listed.accounts.map((x) => x.username).sort()).toEqual(['clerk-a', 'clerk-a2']);
    expect(((await g.call(town, 'GET', '/api/staff')).json() as { accounts: unknown[] }).accounts).toHaveLength(4);
    // A villager is no staff.
    const zhang = await g.villager(g.a, 'zhang');
    expect((await g.call(zhang, 'GET', '/api/staff')).statusCode).toBe(403);
    // One identity per browser: a villager signing in there clears the staff cookie.
    await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang/pin`, { pin: '2468' });
    const vl = await g.app.inject({ method: 'POST', url: '/m/login', cookies: { ledger_staff: a.cookie }, payload: { village: g.a, villager: 'zhang', pin: '2468' } });
    expect(vl.statusCode).toBe(200);
    expect(vl.cookies.find((c) => c.name === 'ledger_staff')?.value).toBe('');
  }, 120_000);
});
