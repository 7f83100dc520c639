/**
 * A lost phone (老王's): the village office signs a villager out of every phone
 * (结束该村民所有手机登录, POST /api/villages/:v/villagers/:id/sign-out) without blocking him, and a
 * new one-time login code (the usual reason for one is a lost or replaced phone) does the same.
 * Bearer tokens and the phone page's cookie end alike, /me/qr issues no further store-door code,
 * other villagers stay signed in, the PIN still signs in, and the audit log says who did it. The
 * route is the village's only (town and villagers refused), a cookie needs its CSRF token, and a
 * villager of another village (or none) is 404.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

interface AuditEvent { subject: string; action: string; actor: string; detail: Record<string, unknown> }

describe(`signing a villager out of every phone (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  const status = async (app: GovApp, token: string, path: string) => (await app.call(token, 'GET', `/api/villages/${app.a}${path}`)).statusCode;
  const pageLogin = async (app: GovApp, villager: string) => {
    const res = await app.app.inject({ method: 'POST', url: '/m/login', remoteAddress: '192.0.2.71', payload: { village: app.a, villager, pin: '2468' } });
    expect(res.statusCode, res.body).toBe(200);
    return `village_session=${res.cookies.find((c) => c.name === 'village_session')!.value}`;
  };
  const pageSession = async (app: GovApp, cookie: string) => (await app.app.inject({ method: 'GET', url: '/m/session', headers: { cookie } })).statusCode;
  const audit = async (app: GovApp, action: string) => ((await app.call(app.va, 'GET', `/api/villages/${app.a}/audit?limit=1000`)).json() as { events: AuditEvent[] }).events.filter((e) => e.action === action);

  it('ends every phone of that villager, token and cookie, and no further QR code; others stay; the PIN signs in again; audited', async () => {
    const app = await govApp();
    g = app;
    const wang = await app.villager(app.a, 'laowang');
    const li = await app.villager(app.a, 'li');
    const phone = await pageLogin(app, 'laowang');
    expect([await status(app, wang, '/me'), await status(app, wang, '/me/qr'), await pageSession(app, phone)]).toEqual([200, 200, 200]);

    const res = await app.call(app.va, 'POST', `/api/villages/${app.a}/villagers/laowang/sign-out`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ villager: 'laowang', sessions_ended: 2 });
    expect([await status(app, wang, '/me'), await status(app, wang, '/me/qr'), await pageSession(app, phone)]).toEqual([401, 401, 401]);
    expect(await status(app, li, '/me')).toBe(200);
    // not a block: he is still active, and his PIN signs in on the new phone
    expect((await app.call(app.va, 'GET', `/api/villages/${app.a}/villagers?status=active`)).json()).toMatchObject({ villagers: expect.arrayContaining([expect.objectContaining({ id: 'laowang' })]) });
    expect((await app.call(undefined, 'POST', '/api/villager/login', { village: app.a, villager: 'laowang', pin: '2468' })).statusCode).toBe(200);
    expect(await audit(app, 'villager.sign-out')).toEqual([expect.objectContaining({ subject: 'villager:laowang', actor: `village:${app.a}`, detail: { sessions_ended: 2 } })]);
    // again, with nobody signed in: nothing to end, said so
    expect((await app.call(app.va, 'POST', `/api/villages/${app.a}/villagers/li/sign-out`)).json()).toEqual({ villager: 'li', sessions_ended: 1 });
    expect((await app.call(app.va, 'POST', `/api/villages/${app.a}/villagers/li/sign-out`)).json()).toEqual({ villager: 'li', sessions_ended: 0 });
  }, 120_000);

  it('is the village\'s only: town and villagers refused, another village\'s villager or none is 404, a cookie needs its CSRF token', async () => {
    const app = await govApp();
    g = app;
    const wang = await app.villager(app.a, 'laowang');
    await app.villager(app.b, 'zhou');
    const url = (v: string, id: string) => `/api/villages/${v}/villagers/${id}/sign-out`;
    expect((await app.call(app.town, 'POST', url(app.a, 'laowang'))).statusCode).toBe(403);
    expect((await app.call(wang, 'POST', url(app.a, 'laowang'))).statusCode).toBe(403);
    expect((await app.call(app.va, 'POST', url(app.a, 'zhou'))).json()).toMatchObject({ error: 'UNKNOWN_VILLAGER', field: 'villager', zh: '本村没有村民 zhou' });
    expect((await app.call(app.va, 'POST', url(app.a, 'nobody'))).statusCode).toBe(404);
    expect((await app.call(app.va, 'POST', url(app.b, 'zhou'))).statusCode).toBe(404);
    expect(await status(app, wang, '/me')).toBe(200);
    const staff = await app.staff('office-a', app.a);
    const noCsrf = await app.app.inject({ method: 'POST', url: url(app.a, 'laowang'), headers: { cookie: `ledger_staff=${staff.cookie}; _csrf=${staff.secret}` } });
    expect(noCsrf.json()).toMatchObject({ error: 'CSRF_REJECTED' });
    expect(await status(app, wang, '/me')).toBe(200);
    const ok = await app.call(staff, 'POST', url(app.a, 'laowang'));
    expect(ok.json()).toEqual({ villager: 'laowang', sessions_ended: 1 });
    expect(await audit(app, 'villager.sign-out')).toEqual([expect.objectContaining({ actor: `village:${app.a}`, detail: { sessions_ended: 1, by: 'office-a' } })]);
  }, 120_000);

  it('a new one-time login code ends the earlier phones, says how many, and its own login stays', async () => {
    const app = await govApp();
    g = app;
    const wang = await app.villager(app.a, 'laowang');
    const issued = await app.call(app.va, 'POST', `/api/villages/${app.a}/villagers/laowang/login-codes`, {});
    expect(issued.statusCode).toBe(201);
    expect(issued.json()).toMatchObject({ villager: 'laowang', sessions_ended: 1 });
    expect([await status(app, wang, '/me'), await status(app, wang, '/me/qr')]).toEqual([401, 401]);
    const login = await app.call(undefined, 'POST', '/api/villager/login', { village: app.a, villager: 'laowang', code: (issued.json() as { code: string }).code });
    expect(login.statusCode).toBe(200);
    expect(await status(app, (login.json() as { token: string }).token, '/me')).toBe(200);
    expect((await audit(app, 'login-code.issue'))[0]?.detail).toMatchObject({ sessions_ended: 1 });
  }, 120_000);
});
