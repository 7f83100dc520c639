/**
 * A villager changes their own PIN (改密码, `PUT /api/villages/:v/me/pin`): the current PIN, the
 * new one twice, by the staff's rule (4 to 8 digits). A wrong current PIN is counted with wrong
 * logins towards the one lock (tries left, then minutes to wait), bad input is refused (400, both
 * languages) before anything is counted, and a change ends the villager's other sessions, by
 * token and by cookie, keeping the one that made it; audited `pin.change`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { hashPin, VillagerSessions } from '../../cloud-sync/ledger/governance/auth.ts';
import { changeOwnPin } from '../../cloud-sync/ledger/governance/pin-change.ts';

describe(`a villager changes their own PIN (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  const url = (app: GovApp) => `/api/villages/${app.a}/me/pin`;
  const me = async (app: GovApp, token: string) => (await app.call(token, 'GET', `/api/villages/${app.a}/me`)).statusCode;
  /** The phone page's login (an address of its own): its cookies and CSRF token. */
  const pageLogin = async (app: GovApp, villager: string, pin: string) => {
    const res = await app.app.inject({ method: 'POST', url: '/m/login', remoteAddress: '192.0.2.71', payload: { village: app.a, villager, pin } });
    expect(res.statusCode, res.body).toBe(200);
    const cookie = (n: string) => res.cookies.find((c) => c.name === n)!.value;
    return { cookie: `village_session=${cookie('village_session')}; _csrf=${cookie('_csrf')}`, csrf: (res.json() as { csrf: string }).csrf };
  };
  const pageSession = async (app: GovApp, cookie: string) => (await app.app.inject({ method: 'GET', url: '/m/session', headers: { cookie } })).statusCode;
  const login = async (app: GovApp, villager: string, pin: string) => app.call(undefined, 'POST', '/api/villager/login', { village: app.a, villager, pin });
  const failures = async (app: GovApp) => (await app.db.query<{ failures: number | string }>('SELECT failures FROM gov_login_failures WHERE login = $1', [`${app.a}/zhang`])).map((f) => Number(f.failures));

  it('the right current PIN sets the new one and ends the other sessions only; audited', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    const li = await g.villager(g.a, 'li');
    const other = ((await login(g, 'zhang', '2468')).json() as { token: string }).token;
    const phone = await pageLogin(g, 'zhang', '2468');
    const res = await g.call(zhang, 'PUT', url(g), { current_pin: '2468', pin: '1357', pin_confirm: '1357' });
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 200, body: { villager: 'zhang', sessions_ended: 2 } });
    // this session stays; the other token and the phone's cookie are signed out; li is not touched
    expect([await me(g, zhang), await me(g, other), await pageSession(g, phone.cookie), await me(g, li)]).toEqual([200, 401, 401, 200]);
    expect((await login(g, 'zhang', '2468')).statusCode).toBe(401);
    expect((await login(g, 'zhang', '1357')).statusCode).toBe(200);
    const events = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string; actor: string; detail: unknown }[] };
    expect(events.events.filter((e) => e.action === 'pin.change')).toEqual([{ subject: 'villager:zhang', action: 'pin.change', actor: 'villager:zhang', detail: { sessions_ended: 2 }, seq: expect.any(Number), at: expect.any(String) }]);
  }, 120_000);

  it('by the phone page\'s cookie: the CSRF token is needed, and the page stays signed in', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    const phone = await pageLogin(g, 'zhang', '2468');
    const body = { current_pin: '2468', pin: '8642', pin_confirm: '8642' };
    const bare = await g.app.inject({ method: 'PUT', url: url(g), headers: { cookie: phone.cookie }, payload: body });
    expect({ status: bare.statusCode, error: (bare.json() as { error: string }).error }).toEqual({ status: 403, error: 'CSRF_REJECTED' });
    const res = await g.app.inject({ method: 'PUT', url: url(g), headers: { cookie: phone.cookie, 'x-csrf-token': phone.csrf }, payload: body });
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 200, body: { villager: 'zhang', sessions_ended: 1 } });
    expect([await pageSession(g, phone.cookie), await me(g, zhang)]).toEqual([200, 401]);
  }, 120_000);

  it('bad input is refused in both languages, naming the field, and counts nothing; staff may not use it', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    const cases: [unknown, string, string][] = [
      [{ current_pin: '2468', pin: '12', pin_confirm: '12' }, 'pin', '密码须为 4 到 8 位数字'],
      [{ current_pin: '2468', pin: '12ab', pin_confirm: '12ab' }, 'pin', '密码须为 4 到 8 位数字'],
      [{ current_pin: '2468', pin: '123456789', pin_confirm: '123456789' }, 'pin', '密码须为 4 到 8 位数字'],
      [{ current_pin: '2468', pin: '1357', pin_confirm: '1358' }, 'pin_confirm', '两次输入的新密码不一致，请重新输入'],
      [{ pin: '1357', pin_confirm: '1357' }, 'current_pin', '缺少字段：当前密码'],
      [{ current_pin: '', pin: '1357', pin_confirm: '1357' }, 'current_pin', '当前密码不能为空'],
      [{ current_pin: '2468', pin: '1357' }, 'pin_confirm', '缺少字段：确认新密码'],
    ];
    for (const [body, field, zh] of cases) {
      const res = await g.call(zhang, 'PUT', url(g), body);
      expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 400, body: { error: 'INVALID_ARGUMENT', field, zh, message: expect.any(String) } });
      expect((res.json() as { message: string }).message).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(await failures(g)).toEqual([]);
    expect((await g.call(g.va, 'PUT', url(g), { current_pin: '2468', pin: '1357', pin_confirm: '1357' })).statusCode).toBe(403);
    // the rule is the staff's: a PIN staff may set, the villager may set too
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang/pin`, { pin: '12' })).json()).toMatchObject({ field: 'pin', zh: '密码须为 4 到 8 位数字' });
    expect((await g.call(zhang, 'PUT', url(g), { current_pin: '2468', pin: '000000', pin_confirm: '000000' })).statusCode).toBe(200);
  }, 120_000);

  it('wrong current PINs count with wrong logins towards the one lock: tries left, then minutes to wait', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    const wrong = () => g!.call(zhang, 'PUT', url(g!), { current_pin: '9999', pin: '1357', pin_confirm: '1357' });
    const said = async (res: Awaited<ReturnType<typeof wrong>>) => ({ status: res.statusCode, field: (res.json() as { field: string }).field, zh: (res.json() as { zh: string }).zh });
    expect(await said(await wrong())).toEqual({ status: 403, field: 'current_pin', zh: '当前密码不正确' });
    expect((await login(g, 'zhang', '0000')).statusCode).toBe(401);
    expect(await failures(g)).toEqual([2]);
    expect(await said(await wrong())).toEqual({ status: 403, field: 'current_pin', zh: '当前密码不正确，还可再试 2 次' });
    expect(await said(await wrong())).toEqual({ status: 403, field: 'current_pin', zh: '当前密码不正确，还可再试 1 次' });
    expect(await said(await wrong())).toEqual({ status: 403, field: 'current_pin', zh: '当前密码不正确；错误次数过多，请约 15 分钟后再试' });
    // locked: the right current PIN, and the login, wait too
    const right = await g.call(zhang, 'PUT', url(g), { current_pin: '2468', pin: '1357', pin_confirm: '1357' });
    expect({ ...(await said(right)), retry: Number(right.headers['retry-after']) }).toEqual({ status: 429, field: 'current_pin', zh: '密码错误次数过多，请约 15 分钟后再试', retry: expect.any(Number) });
    expect((await login(g, 'zhang', '2468')).statusCode).toBe(429);
    const locks = ((await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { action: string }[] }).events.filter((e) => e.action === 'villager.lock');
    expect(locks).toHaveLength(1);
    // nothing changed: the session still works
    expect(await me(g, zhang)).toBe(200);
  }, 120_000);

  it('the right current PIN clears the count; a villager without a PIN is told to ask the village office, uncounted', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    expect((await g.call(zhang, 'PUT', url(g), { current_pin: '9999', pin: '1357', pin_confirm: '1357' })).statusCode).toBe(403);
    expect(await failures(g)).toEqual([1]);
    expect((await g.call(zhang, 'PUT', url(g), { current_pin: '2468', pin: '1357', pin_confirm: '1357' })).statusCode).toBe(200);
    expect(await failures(g)).toEqual([]);
    // wu signs in by a one-time code and has no PIN
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/wu`, { name: '吴五' })).statusCode).toBe(200);
    const code = ((await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/wu/login-codes`, {})).json() as { code: string }).code;
    const wu = ((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'wu', code })).json() as { token: string }).token;
    const none = await g.call(wu, 'PUT', url(g), { current_pin: '1234', pin: '1357', pin_confirm: '1357' });
    expect({ status: none.statusCode, body: none.json() }).toMatchObject({ status: 409, body: { field: 'current_pin', zh: expect.stringContaining('村委会') } });
    expect(await g.db.query('SELECT failures FROM gov_login_failures WHERE login = $1', [`${g.a}/wu`])).toEqual([]);
  }, 120_000);
  it('a session that had expired already is not counted as a phone signed out, and goes with the rest', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    await g.db.run('INSERT INTO gov_sessions (token_hash, village, villager_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', ['expired-one', g.a, 'zhang', '2020-01-01T00:00:00.000Z', '2020-01-02T00:00:00.000Z']);
    const res = await g.call(zhang, 'PUT', url(g), { current_pin: '2468', pin: '1357', pin_confirm: '1357' });
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 200, body: { villager: 'zhang', sessions_ended: 0 } });
    expect(await g.db.query('SELECT token_hash FROM gov_sessions WHERE token_hash = $1', ['expired-one'])).toEqual([]);
  }, 120_000);

  it('a PIN set meanwhile (another phone, the office) between the check and the write wins; this change is refused', async () => {
    g = await govApp();
    await g.villager(g.a, 'zhang');
    const keep = 'this-phone';
    await g.db.run('INSERT INTO gov_sessions (token_hash, village, villager_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [keep, g.a, 'zhang', new Date().toISOString(), new Date(Date.now() + 3_600_000).toISOString()]);
    const real = new VillagerSessions(g.db);
    const meanwhile = await hashPin('8080');
    // the other change lands right after this one's current PIN was checked
    const racing = { attempt: async (...a: Parameters<VillagerSessions['attempt']>) => {
      const status = await real.attempt(...a);
      await g!.db.run('UPDATE gov_pins SET pin_hash = $2 WHERE villager_id = $1', ['zhang', meanwhile]);
      return status;
    } } as unknown as VillagerSessions;
    await expect(changeOwnPin(g.db, racing, g.a, 'zhang', '2468', '1357', keep, () => new Date())).rejects.toMatchObject({ details: { field: 'current_pin', status: 409 } });
    expect(await g.db.query('SELECT pin_hash FROM gov_pins WHERE villager_id = $1', ['zhang'])).toEqual([{ pin_hash: meanwhile }]);
    expect((await login(g, 'zhang', '8080')).statusCode).toBe(200);
  }, 120_000);
});
