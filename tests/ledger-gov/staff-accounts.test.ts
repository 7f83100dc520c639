/**
 * Managing the ledger's staff accounts (/api/staff, the /accounts page's API): the town manages
 * every account, a village account only its own village's — it can never create a town account
 * nor touch another village's or a town account (404, and nothing changes); list with the state
 * of each account; add with field-level bilingual errors; a new password; unlock; disable and
 * enable (schema v9); nobody disables their own account or the last working town account; every
 * step audited with who did it; CSRF on every change made by the cookie.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { LEDGER_SCHEMA_VERSION, migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { getStaff, setStaffDisabled } from '../../cloud-sync/ledger/staff/accounts.ts';
import { govApp, routesOf, staffLogin, STAFF_PASSWORD, type GovApp, type StaffSession } from './gov-app.ts';

interface Listed { username: string; role: string; village: string | null; locked: boolean; locked_until: string | null; disabled_at: string | null; last_login_at: string | null; display_name: string }
interface Event { action: string; subject: string; actor: string; detail: Record<string, unknown> }

describe(`ledger staff account management (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  /** A login from an address of its own, so the per-address rate limit of g.staff's logins is not what answers. */
  const login = (app: GovApp, username: string, password: string, address = '192.0.2.44') => app.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: address, payload: { username, password } });
  const list = async (app: GovApp, who: StaffSession | string) => (await app.call(who, 'GET', '/api/staff')).json() as { accounts: Listed[]; villages: { id: string; name: string }[]; me: string | null };
  const events = async (app: GovApp, village?: string) =>
    ((await app.call(app.town, 'GET', village ? `/api/villages/${village}/audit` : '/api/town/audit')).json() as { events: Event[] }).events;
  const refusal = (res: LightMyRequestResponse) => ({ status: res.statusCode, ...(res.json() as { field?: string; zh?: string; message?: string }) });

  it('the town lists every account with its state; a village account only its own village’s', async () => {
    g = await govApp();
    const town = await g.staff('town-a');
    const clerkA = await g.staff('clerk-a', g.a);
    await g.staff('clerk-b', g.b);
    for (let k = 0; k < 5; k++) expect((await login(g, 'clerk-b', 'not the password')).statusCode).toBe(401);
    const all = await list(g, town);
    expect(all.me).toBe('town-a');
    expect(all.accounts.map((a) => a.username).sort()).toEqual(['clerk-a', 'clerk-b', 'town-a']);
    expect(all.accounts.find((a) => a.username === 'clerk-b')).toMatchObject({ role: 'village', village: g.b, locked: true, locked_until: expect.any(String), disabled_at: null });
    expect(all.accounts.find((a) => a.username === 'clerk-a')).toMatchObject({ locked: false, last_login_at: expect.any(String), display_name: '工作人员clerk-a' });
    expect(all.villages.map((v) => v.id)).toEqual(expect.arrayContaining([g.a, g.b]));
    for (const a of all.accounts) expect(a).not.toHaveProperty('password_hash');
    const own = await list(g, clerkA);
    expect({ accounts: own.accounts.map((a) => a.username), villages: own.villages.map((v) => v.id), me: own.me }).toEqual({ accounts: ['clerk-a'], villages: [g.a], me: 'clerk-a' });
    // A village's machine token sees the same; a villager is no staff.
    expect((await list(g, g.va)).accounts.map((a) => a.username)).toEqual(['clerk-a']);
    expect((await list(g, g.va)).me).toBeNull();
    const zhang = await g.villager(g.a, 'zhang');
    expect(refusal(await g.call(zhang, 'GET', '/api/staff'))).toMatchObject({ status: 403, field: 'role' });
    expect(refusal(await g.call(zhang, 'POST', '/api/staff/clerk-a/disable'))).toMatchObject({ status: 403, field: 'role' });
  }, 120_000);

  it('a village account can never create a town account nor touch another village’s or a town account', async () => {
    g = await govApp();
    const clerkA = await g.staff('clerk-a', g.a);
    await g.staff('town-a');
    await g.staff('clerk-b', g.b);
    const state = async () => ({
      accounts: await g!.db.query('SELECT username, role, village, password_hash, failed_logins, locked_until, disabled_at, updated_at FROM staff_accounts ORDER BY username'),
      sessions: await g!.db.query('SELECT token_hash, username FROM staff_sessions ORDER BY token_hash'),
      audit: await g!.db.query('SELECT seq FROM gov_events ORDER BY seq'),
    });
    const before = await state();
    const tried = ['PUT /api/staff/:username/password', 'POST /api/staff/:username/unlock', 'POST /api/staff/:username/disable', 'POST /api/staff/:username/enable'];
    // An account route with no case here is one whose isolation nobody checked.
    expect(routesOf(g.app.printRoutes({ commonPrefix: false })).filter((r) => r.includes('/api/staff/:username')).sort()).toEqual([...tried].sort());
    const acct = { username: 'spy', display_name: '冒充', password: 'a long enough pw', password_confirm: 'a long enough pw' };
    for (const who of [clerkA, g.va]) {
      expect(refusal(await g.call(who, 'POST', '/api/staff', { ...acct, role: 'town' }))).toMatchObject({ status: 403, field: 'role', zh: expect.stringContaining('镇级账号由镇里添加') });
      expect(refusal(await g.call(who, 'POST', '/api/staff', { ...acct, role: 'village', village: g.b }))).toMatchObject({ status: 403, field: 'village', zh: expect.stringContaining('本村') });
      for (const target of ['clerk-b', 'town-a', 'nobody']) {
        for (const [method, url, body] of [
          ['PUT', `/api/staff/${target}/password`, { password: 'taken over now!', password_confirm: 'taken over now!' }],
          ['POST', `/api/staff/${target}/unlock`, undefined],
          ['POST', `/api/staff/${target}/disable`, undefined],
          ['POST', `/api/staff/${target}/enable`, undefined],
        ] as const) {
          const res = await g.call(who, method, url, body);
          expect({ url, status: res.statusCode, field: (res.json() as { field: string }).field }).toEqual({ url, status: 404, field: 'username' });
        }
      }
    }
    expect(await state()).toEqual(before);
    // The town may add a town account and another village's.
    const town = await staffLogin(g.app, 'town-a', STAFF_PASSWORD);
    expect((await g.call(town, 'POST', '/api/staff', { ...acct, username: 'town-b', role: 'town' })).statusCode).toBe(201);
    expect((await g.call(town, 'POST', '/api/staff', { ...acct, username: 'clerk-b2', role: 'village', village: g.b })).statusCode).toBe(201);
  }, 120_000);

  it('adding names the wrong field in Chinese and English; the new account signs in; audited with who added it', async () => {
    g = await govApp();
    const clerk = await g.staff('clerk-a', g.a);
    const ok = { username: 'clerk-a2', display_name: ' 村文书 ', role: 'village', village: g.a, password: 'ten chars!', password_confirm: 'ten chars!' };
    for (const [over, field, status] of [
      [{ username: 'Bad Name' }, 'username', 400],
      [{ display_name: '  ' }, 'display_name', 400],
      [{ password: 'nine char', password_confirm: 'nine char' }, 'password', 400],
      // long enough, but nothing to guess: blanks only, or one character over and over
      [{ password: ' '.repeat(10), password_confirm: ' '.repeat(10) }, 'password', 400],
      [{ password: '\u3000'.repeat(12), password_confirm: '\u3000'.repeat(12) }, 'password', 400],
      [{ password: 'a'.repeat(12), password_confirm: 'a'.repeat(12) }, 'password', 400],
      [{ password_confirm: 'ten chars?' }, 'password_confirm', 400],
      [{ village: undefined }, 'village', 400],
      [{ username: 'clerk-a' }, 'username', 409],
    ] as const) {
      const res = await g.call(clerk, 'POST', '/api/staff', { ...ok, ...over });
      expect({ field, body: refusal(res) }).toMatchObject({ field, body: { status, field, zh: expect.stringMatching(/[\u4e00-\u9fff]/), message: expect.stringMatching(/[a-z]/) } });
    }
    const town = await g.staff('town-a');
    expect(refusal(await g.call(town, 'POST', '/api/staff', { ...ok, village: 'no-such-village' }))).toMatchObject({ status: 400, field: 'village' });
    expect(refusal(await g.call(town, 'POST', '/api/staff', { ...ok, role: 'town' }))).toMatchObject({ status: 400, field: 'village' });
    const made = await g.call(clerk, 'POST', '/api/staff', ok);
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ username: 'clerk-a2', display_name: '村文书', role: 'village', village: g.a, locked: false, disabled_at: null, last_login_at: null });
    expect((await login(g, 'clerk-a2', 'ten chars!')).statusCode).toBe(200);
    expect((await events(g, g.a))).toContainEqual(expect.objectContaining({ action: 'staff.create', subject: 'staff:clerk-a2', actor: `village:${g.a}`, detail: expect.objectContaining({ by: 'clerk-a' }) }));
  }, 120_000);

  it('sent twice at once (a double click): an account is added once (the second 409 on username), disabled and enabled once, never a 500', async () => {
    g = await govApp();
    const town = await g.staff('town-a');
    await g.staff('clerk-a', g.a);
    // a few rounds: on PostgreSQL the sends race inside the database, and one round may not meet
    for (let round = 0; round < 3; round++) {
      const body = { username: `clerk-twice${round}`, display_name: '村文书', role: 'village', village: g.a, password: 'ten chars!', password_confirm: 'ten chars!' };
      const adds = await Promise.all([g.call(town, 'POST', '/api/staff', body), g.call(town, 'POST', '/api/staff', body)]);
      expect(adds.map((r) => `${r.statusCode} ${r.statusCode >= 500 ? r.body : ''}`.trim()).sort()).toEqual(['201', '409']);
      expect(refusal(adds.find((r) => r.statusCode === 409)!)).toMatchObject({ field: 'username', error: 'DUPLICATE_ID', zh: expect.stringContaining('已被使用') });
    }
    expect((await list(g, town)).accounts.map((a) => a.username).filter((u) => u.startsWith('clerk-twice'))).toEqual(['clerk-twice0', 'clerk-twice1', 'clerk-twice2']);
    for (const act of ['disable', 'enable']) {
      const sends = await Promise.all([g.call(town, 'POST', `/api/staff/clerk-a/${act}`), g.call(town, 'POST', `/api/staff/clerk-a/${act}`)]);
      expect(sends.map((r) => r.statusCode)).toEqual([200, 200]);
      expect(sends.map((r) => (r.json() as { changed: boolean }).changed).sort()).toEqual([false, true]);
    }
    const steps = (await events(g, g.a)).filter((e) => e.subject.startsWith('staff:clerk-')).map((e) => `${e.subject} ${e.action}`).sort();
    expect(steps).toEqual(['staff:clerk-a staff.create', 'staff:clerk-a staff.disable', 'staff:clerk-a staff.enable', 'staff:clerk-twice0 staff.create', 'staff:clerk-twice1 staff.create', 'staff:clerk-twice2 staff.create']);
  }, 120_000);

  it('a NUL character anywhere in what is sent (the public login too) is 400 on its field, in both languages, on SQLite and PostgreSQL alike', async () => {
    g = await govApp();
    const app = g;
    const { a, town, va } = app;
    // Each is refused on its own field, before anything reaches the database.
    const cases: [string, Promise<LightMyRequestResponse>, string][] = [
      ['login user name (no sign-in needed)', login(app, 'admin\u0000', STAFF_PASSWORD, '192.0.2.45'), 'username'],
      ['login password', login(app, 'admin', 'correct\u0000horse battery', '192.0.2.45'), 'password'],
      ['account in the path', app.call(town, 'POST', '/api/staff/a%00b/unlock'), 'username'],
      ['a new account’s name', app.call(town, 'POST', '/api/staff', { username: 'wang.li', display_name: '王\u0000丽', role: 'town', password: 'abcdefghijkl' }), 'display_name'],
      ['a villager’s name', app.call(va, 'PUT', `/api/villages/${a}/villagers/wang`, { name: '王\u0000五' }), 'name'],
      ['a task’s title', app.call(va, 'POST', `/api/villages/${a}/tasks`, { title: '修\u0000路', item: 'GOV-SUGGESTION', points: 8, max_claimants: 2 }), 'title'],
      ['a query', app.call(va, 'GET', `/api/villages/${a}/claims?villager=w%00`), 'villager'],
      ['a field’s name', app.call(va, 'PUT', `/api/villages/${a}/villagers/wang`, { name: '王五', 'x\u0000': 1 }), 'x\\u0000'],
    ];
    for (const [what, sent, field] of cases) {
      const r = await sent;
      expect({ what, ...refusal(r) }).toMatchObject({ what, status: 400, error: 'INVALID_ARGUMENT', field, zh: expect.stringContaining('空字符'), message: expect.stringContaining('NUL') });
    }
    expect(await app.db.query("SELECT username FROM staff_accounts WHERE username = 'wang.li'")).toEqual([]);
    expect(await app.db.query("SELECT id FROM villagers WHERE id = 'wang'")).toEqual([]);
    // Without a sign-in a route that needs one still answers 401 first, NUL or not.
    expect((await app.call(undefined, 'POST', '/api/staff/a%00b/unlock')).statusCode).toBe(401);
  });

  it('disabling ends the sessions and refuses the login; enabling lets the account in again; both audited', async () => {
    g = await govApp();
    const town = await g.staff('town-a');
    const clerk = await g.staff('clerk-a', g.a);
    const clerk2 = await g.staff('clerk-a2', g.a);
    expect((await g.call(clerk, 'GET', `/api/villages/${g.a}/tasks`)).statusCode).toBe(200);
    // By the cookie, a change needs the session's CSRF token.
    expect(refusal(await g.call({ ...clerk2, csrf: '' }, 'POST', '/api/staff/clerk-a/disable'))).toMatchObject({ status: 403, error: 'CSRF_REJECTED' });
    const off = await g.call(clerk2, 'POST', '/api/staff/clerk-a/disable');
    expect(off.json()).toEqual({ username: 'clerk-a', disabled: true, changed: true });
    expect((await g.call(clerk, 'GET', `/api/villages/${g.a}/tasks`)).statusCode).toBe(401);
    expect(await g.db.query('SELECT token_hash FROM staff_sessions WHERE username = $1', ['clerk-a'])).toEqual([]);
    // Only the right password learns that the account is disabled.
    expect(refusal(await login(g, 'clerk-a', 'not the password'))).toMatchObject({ status: 401, error: 'LOGIN_FAILED' });
    expect(refusal(await login(g, 'clerk-a', STAFF_PASSWORD))).toMatchObject({ status: 403, error: 'ACCOUNT_DISABLED', zh: expect.stringContaining('停用') });
    expect((await g.call(town, 'POST', '/api/staff/clerk-a/disable')).json()).toMatchObject({ changed: false });
    expect((await list(g, town)).accounts.find((a) => a.username === 'clerk-a')!.disabled_at).toEqual(expect.any(String));
    expect((await g.call(town, 'POST', '/api/staff/clerk-a/enable')).json()).toEqual({ username: 'clerk-a', disabled: false, changed: true });
    expect((await login(g, 'clerk-a', STAFF_PASSWORD)).statusCode).toBe(200);
    const steps = (await events(g, g.a)).filter((e) => e.subject === 'staff:clerk-a');
    expect(steps).toContainEqual(expect.objectContaining({ action: 'staff.disable', actor: `village:${g.a}`, detail: { by: 'clerk-a2' } }));
    expect(steps).toContainEqual(expect.objectContaining({ action: 'staff.enable', actor: 'town', detail: { by: 'town-a' } }));
    expect(steps.filter((e) => e.action === 'staff.disable')).toHaveLength(1);
  }, 120_000);

  it('nobody disables their own account, nor the last working town account', async () => {
    g = await govApp();
    const townA = await g.staff('town-a');
    const clerk = await g.staff('clerk-a', g.a);
    expect(refusal(await g.call(townA, 'POST', '/api/staff/town-a/disable'))).toMatchObject({ status: 409, field: 'username', zh: expect.stringContaining('自己') });
    expect(refusal(await g.call(clerk, 'POST', '/api/staff/clerk-a/disable'))).toMatchObject({ status: 409, field: 'username' });
    // The town's machine token is no person, but the last town account stays.
    expect(refusal(await g.call(g.town, 'POST', '/api/staff/town-a/disable'))).toMatchObject({ status: 409, field: 'username', zh: expect.stringContaining('最后一个') });
    const townB = await g.staff('town-b');
    expect((await g.call(townA, 'POST', '/api/staff/town-b/disable')).statusCode).toBe(200);
    expect((await g.call(townB, 'GET', '/api/staff')).statusCode).toBe(401);
    expect(refusal(await g.call(g.town, 'POST', '/api/staff/town-a/disable'))).toMatchObject({ status: 409 });
    expect((await g.call(townA, 'POST', '/api/staff/town-b/enable')).statusCode).toBe(200);
    expect((await g.call(g.town, 'POST', '/api/staff/town-a/disable')).statusCode).toBe(200);
    expect(await g.db.query("SELECT username FROM staff_accounts WHERE role = 'town' AND disabled_at IS NULL")).toEqual([{ username: 'town-b' }]);
    expect((await events(g)).filter((e) => e.action === 'staff.disable').map((e) => e.subject).sort()).toEqual(['staff:town-a', 'staff:town-b']);
  }, 120_000);

  it('a new password, set by the town or the account’s village, unlocks and signs out; one’s own needs the current one', async () => {
    g = await govApp();
    const town = await g.staff('town-a');
    const clerk = await g.staff('clerk-a', g.a);
    const clerk2 = await g.staff('clerk-a2', g.a);
    for (let k = 0; k < 5; k++) await login(g, 'clerk-a', 'not the password');
    expect((await login(g, 'clerk-a', STAFF_PASSWORD)).statusCode).toBe(423);
    const url = '/api/staff/clerk-a/password';
    expect(refusal(await g.call(clerk2, 'PUT', url, { password: 'short', password_confirm: 'short' }))).toMatchObject({ status: 400, field: 'password', zh: '密码至少 10 位' });
    expect(refusal(await g.call(clerk2, 'PUT', url, { password: ' '.repeat(10), password_confirm: ' '.repeat(10) }))).toMatchObject({ status: 400, field: 'password', message: expect.stringContaining('blank'), zh: '密码不能全为空格' });
    expect(refusal(await g.call(clerk2, 'PUT', url, { password: '1'.repeat(10), password_confirm: '1'.repeat(10) }))).toMatchObject({ status: 400, field: 'password', zh: expect.stringContaining('同一个字符') });
    expect(refusal(await g.call(clerk2, 'PUT', url, { password: 'a new password', password_confirm: 'a new passw0rd' }))).toMatchObject({ status: 400, field: 'password_confirm' });
    expect((await g.call(clerk2, 'PUT', url, { password: 'a new password', password_confirm: 'a new password' })).json()).toEqual({ username: 'clerk-a', password_set: true });
    expect((await g.call(clerk, 'GET', `/api/villages/${g.a}/tasks`)).statusCode).toBe(401);
    expect((await login(g, 'clerk-a', STAFF_PASSWORD, '192.0.2.45')).statusCode).toBe(401);
    expect((await login(g, 'clerk-a', 'a new password', '192.0.2.45')).statusCode).toBe(200);
    // One's own: the current password first; then this browser is signed in again, the others out.
    const own = '/api/staff/town-a/password';
    const other = await staffLogin(g.app, 'town-a', STAFF_PASSWORD);
    expect(refusal(await g.call(town, 'PUT', own, { password: 'town password 2' }))).toMatchObject({ status: 400, field: 'current_password' });
    expect(refusal(await g.call(town, 'PUT', own, { password: 'town password 2', current_password: 'not the password' }))).toMatchObject({ status: 403, field: 'current_password', zh: '当前密码不正确' });
    // A wrong current password counts as a wrong login (five lock the account).
    expect(await g.db.query('SELECT failed_logins FROM staff_accounts WHERE username = $1', ['town-a'])).toEqual([{ failed_logins: 1 }]);
    const mine = await g.call(town, 'PUT', own, { password: 'town password 2', password_confirm: 'town password 2', current_password: STAFF_PASSWORD });
    expect(mine.statusCode).toBe(200);
    const renewed = { cookie: mine.cookies.find((c) => c.name === 'ledger_staff')!.value, csrf: (mine.json() as { csrf: string }).csrf, secret: mine.cookies.find((c) => c.name === '_csrf')?.value ?? town.secret };
    expect(mine.cookies.find((c) => c.name === 'ledger_staff')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    for (const old of [town, other]) expect((await g.call(old, 'GET', '/api/staff')).statusCode).toBe(401);
    expect((await g.call(renewed, 'POST', '/api/staff/clerk-a/unlock')).statusCode).toBe(200);
    expect((await login(g, 'town-a', 'town password 2', '192.0.2.46')).statusCode).toBe(200);
    const steps = [...await events(g, g.a), ...await events(g)].filter((e) => e.action === 'staff.password');
    expect(steps).toEqual(expect.arrayContaining([
      expect.objectContaining({ subject: 'staff:clerk-a', actor: `village:${g.a}`, detail: { by: 'clerk-a2' } }),
      expect.objectContaining({ subject: 'staff:town-a', actor: 'town', detail: { by: 'town-a' } }),
    ]));
  }, 120_000);

  it('one\'s own password change meets the login\'s lock: wrong current passwords lock the account, and a locked one answers 423 even for the right one', async () => {
    g = await govApp();
    const clerk = await g.staff('clerk-a', g.a);
    // from an address of its own: the sign-ins of g.staff count towards the same limit on theirs
    const own = (current: string) => g!.app.inject({ method: 'PUT', url: '/api/staff/clerk-a/password', remoteAddress: '192.0.2.59', headers: { cookie: `ledger_staff=${clerk.cookie}; _csrf=${clerk.secret}`, 'x-csrf-token': clerk.csrf }, payload: { password: 'a new password', password_confirm: 'a new password', current_password: current } });
    for (let k = 0; k < 5; k++) expect((await own(`wrong guess ${k}`)).statusCode).toBe(403);
    const locked = await own(`wrong guess 5`);
    expect(locked.statusCode).toBe(423);
    expect(locked.json()).toMatchObject({ error: 'ACCOUNT_LOCKED', field: 'password', locked_until: expect.any(String), zh: expect.stringContaining('锁定') });
    expect((await own(STAFF_PASSWORD)).statusCode).toBe(423);
    expect((await login(g, 'clerk-a', STAFF_PASSWORD, '192.0.2.60')).statusCode).toBe(423);
    // And the login's limit per address: seven tries so far, three more, then 429.
    for (let k = 0; k < 3; k++) expect((await own(`try ${k}`)).statusCode).toBe(423);
    expect((await own('one more')).json()).toMatchObject({ error: 'RATE_LIMITED', zh: expect.stringContaining('次数过多') });
    expect((await g.db.query<{ password_hash: string; locked_until: string | null }>('SELECT locked_until FROM staff_accounts WHERE username = $1', ['clerk-a']))[0]!.locked_until).not.toBeNull();
    // Sent together, the guesses meet the lock as well: at most five are checked.
    const other = await g.staff('clerk-b', g.a);
    // (from another address than the guesses above: the limit per address is not what answers)
    const headers = { cookie: `ledger_staff=${other.cookie}; _csrf=${other.secret}`, 'x-csrf-token': other.csrf };
    const burst = await Promise.all(Array.from({ length: 8 }, (_, k) => g!.app.inject({ method: 'PUT', url: '/api/staff/clerk-b/password', remoteAddress: '192.0.2.61', headers, payload: { password: 'a new password', password_confirm: 'a new password', current_password: `guess ${k}` } })));
    expect(burst.filter((r) => r.statusCode === 403).length).toBeLessThanOrEqual(5);
    expect(burst.filter((r) => r.statusCode === 423).length).toBeGreaterThanOrEqual(3);
  });

  it('an account of a v8 ledger is still there and working after the v9 migration', async () => {
    const old = await tempLedgerDb(8);
    try {
      await old.db.run("INSERT INTO staff_accounts (username, display_name, role, village, password_hash, created_by, created_at, updated_at) VALUES ('town-a', '镇干部', 'town', NULL, 'scrypt$x', 'cli', $1, $1)", [new Date().toISOString()]);
      await migrateLedger(old.db);
      expect(Number((await old.db.query<{ version: number }>('SELECT version FROM ledger_schema'))[0]!.version)).toBe(LEDGER_SCHEMA_VERSION);
      expect(await getStaff(old.db, 'town-a')).toMatchObject({ username: 'town-a', disabled_at: null });
      // It is the only town account, so it stays working.
      await expect(setStaffDisabled(old.db, 'town-a', true, 'test', new Date())).rejects.toMatchObject({ details: { field: 'username', status: 409 } });
    } finally {
      await old.drop();
    }
  });
});
