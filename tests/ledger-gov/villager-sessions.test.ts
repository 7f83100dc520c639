/**
 * A villager's sessions end as a staff account's do on a new password or a disable: a PIN the
 * village sets again, a block (by the villager route, by the block command, or from a store's
 * status row) or leaving the village signs the villager out everywhere, by bearer token and by
 * the phone page's cookie; an unblock does not bring an old session back, and other villagers
 * stay signed in. The sessions live in the ledger's database (gov_sessions, schema v13), so a
 * restart of the API keeps them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { silentLogger } from '../../edge/log.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { applyStoreStatus } from '../../cloud-sync/ledger/store-status.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`villager sessions end with a new PIN or a block (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  const me = async (app: GovApp, token: string) => (await app.call(token, 'GET', `/api/villages/${app.a}/me`)).statusCode;
  /** The phone page's login (an address of its own, so the per-address limit is not what answers): its cookie. */
  const pageLogin = async (app: GovApp, villager: string, pin: string) => {
    const res = await app.app.inject({ method: 'POST', url: '/m/login', remoteAddress: '192.0.2.61', payload: { village: app.a, villager, pin } });
    expect(res.statusCode, res.body).toBe(200);
    return `village_session=${res.cookies.find((c) => c.name === 'village_session')!.value}`;
  };
  const pageSession = async (app: GovApp, cookie: string) => (await app.app.inject({ method: 'GET', url: '/m/session', headers: { cookie } })).statusCode;
  const login = async (app: GovApp, villager: string, pin: string) => {
    const res = await app.call(undefined, 'POST', '/api/villager/login', { village: app.a, villager, pin });
    return { status: res.statusCode, token: (res.json() as { token?: string }).token };
  };

  it('a PIN set again ends every session of that villager, by token and by cookie, and only theirs', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    const li = await g.villager(g.a, 'li');
    const phone = await pageLogin(g, 'zhang', '2468');
    expect([await me(g, zhang), await pageSession(g, phone)]).toEqual([200, 200]);
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang/pin`, { pin: '1357' })).statusCode).toBe(200);
    expect([await me(g, zhang), await pageSession(g, phone)]).toEqual([401, 401]);
    expect(await g.db.query('SELECT token_hash FROM gov_sessions WHERE villager_id = $1', ['zhang'])).toEqual([]);
    expect(await me(g, li)).toBe(200);
    // The old PIN is refused; the new one signs in.
    expect((await login(g, 'zhang', '2468')).status).toBe(401);
    const again = await login(g, 'zhang', '1357');
    expect(again.status).toBe(200);
    expect(await me(g, again.token!)).toBe(200);
  }, 120_000);

  it('a block ends the sessions whoever makes it, and an unblock does not bring them back', async () => {
    g = await govApp();
    const li = await g.villager(g.a, 'li');
    const signer = { key: privateEd25519('k-store-status', newKeyPair().privatePem), lifetimeMs: 3_600_000 };
    const ways: Record<string, (id: string, status: 'active' | 'blocked') => Promise<unknown>> = {
      'the villager route': (id, status) => g!.call(g!.va, 'PUT', `/api/villages/${g!.a}/villagers/${id}`, { name: `村民${id}`, status }),
      'the block command': (id, status) => g!.call(g!.va, 'POST', `/api/villages/${g!.a}/commands`, { command: status === 'blocked' ? 'block' : 'unblock', villager: id }),
      'a store’s status row': (id, status) => g!.db.transaction((tx) => applyStoreStatus(tx, [{ op: 'status', id, status, batch: 1, village: g!.a, store: 's1', seq: Date.now(), createdAt: new Date().toISOString() }], signer, new Date())),
    };
    for (const [way, set] of Object.entries(ways)) {
      const id = `v${Object.keys(ways).indexOf(way)}`;
      const token = await g.villager(g.a, id);
      const phone = await pageLogin(g, id, '2468');
      await set(id, 'blocked');
      expect([way, await me(g, token), await pageSession(g, phone)]).toEqual([way, 401, 401]);
      // the right PIN is told the account is blocked (403), not signed in
      expect((await login(g, id, '2468')).status).toBe(403);
      await set(id, 'active');
      expect([way, await me(g, token), await pageSession(g, phone)]).toEqual([way, 401, 401]);
      expect((await login(g, id, '2468')).status).toBe(200);
    }
    expect(await me(g, li)).toBe(200);
  }, 120_000);

  it('a villager who left the village is signed out', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang`, { name: '张三', status: 'left' })).statusCode).toBe(200);
    expect(await me(g, zhang)).toBe(401);
  }, 120_000);

  it('the right PIN or code of a blocked or left villager is told so, is not a wrong guess, and the lock stays for wrong ones', async () => {
    g = await govApp();
    const app = g;
    await app.villager(app.a, 'zhao');
    await app.villager(app.a, 'wang');
    const code = (await app.call(app.va, 'POST', `/api/villages/${app.a}/villagers/zhao/login-codes`, {})).json() as { code: string };
    const setStatus = async (id: string, status: 'active' | 'blocked' | 'left') => expect((await app.call(app.va, 'PUT', `/api/villages/${app.a}/villagers/${id}`, { name: `村民${id}`, status })).statusCode).toBe(200);
    const pageTry = async (villager: string, secret: { pin: string } | { code: string }) => {
      const r = await app.app.inject({ method: 'POST', url: '/m/login', remoteAddress: '192.0.2.62', payload: { village: app.a, villager, ...secret } });
      return { status: r.statusCode, body: r.json() as { error: string; field: string; zh: string; message: string } };
    };
    await setStatus('zhao', 'blocked');
    // Six right PINs in a row: each says the account is blocked, none counts towards the lock (five would lock).
    for (let k = 0; k < 6; k++) {
      const r = await pageTry('zhao', { pin: '2468' });
      expect(r).toMatchObject({ status: 403, body: { error: 'VILLAGER_INACTIVE', field: 'villager' } });
      expect(r.body.zh).toContain('已冻结');
      expect(r.body.zh).toContain('村委会');
      expect(r.body.message).toContain('blocked');
    }
    // The right code says the same and is not used up by it.
    expect(await pageTry('zhao', { code: code.code })).toMatchObject({ status: 403, body: { error: 'VILLAGER_INACTIVE' } });
    // A wrong PIN of a blocked villager is the same answer as a wrong PIN of an id nobody has: no oracle without the PIN.
    const wrong = await pageTry('zhao', { pin: '0000' });
    expect(wrong).toEqual(await pageTry('nobody', { pin: '2468' }));
    expect(wrong).toMatchObject({ status: 401, body: { field: 'pin', zh: '村民编号或密码不正确' } });
    // Unblocked (the debt paid off): the right PIN signs in, and the code printed before still works once.
    await setStatus('zhao', 'active');
    expect((await pageTry('zhao', { pin: '2468' })).status).toBe(200);
    expect((await pageTry('zhao', { code: code.code })).status).toBe(200);
    // Left the village: named as such.
    await setStatus('wang', 'left');
    const left = await pageTry('wang', { pin: '2468' });
    expect(left).toMatchObject({ status: 403, body: { error: 'VILLAGER_INACTIVE', field: 'villager' } });
    expect(left.body.zh).toContain('已离村');
    expect(left.body.message).toContain('left the village');
    // Wrong PINs still lock, blocked or not: five wrong, then even the right one waits (429), and the lock outlives an unblock.
    await setStatus('zhao', 'blocked');
    for (let k = 0; k < 5; k++) expect((await pageTry('zhao', { pin: '1111' })).status).toBe(401);
    expect((await pageTry('zhao', { pin: '2468' })).status).toBe(429);
    await setStatus('zhao', 'active');
    expect((await pageTry('zhao', { pin: '2468' })).status).toBe(429);
  }, 120_000);

  it('a session outlives a restart of the API, and a logout ends it at once', async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    const again = buildLedgerApi({ db: g.db, service: undefined as never, log: silentLogger(), tokens: [] });
    try {
      expect((await again.inject({ method: 'GET', url: `/api/villages/${g.a}/me`, headers: { authorization: `Bearer ${zhang}` } })).statusCode).toBe(200);
    } finally {
      await again.close();
    }
    const phone = await pageLogin(g, 'zhang', '2468');
    const s = await g.app.inject({ method: 'GET', url: '/m/session', headers: { cookie: phone } });
    const csrf = (s.json() as { csrf: string }).csrf;
    const secret = s.cookies.find((c) => c.name === '_csrf')!.value;
    expect((await g.app.inject({ method: 'POST', url: '/m/logout', headers: { cookie: `${phone}; _csrf=${secret}`, 'x-csrf-token': csrf } })).statusCode).toBe(200);
    expect(await pageSession(g, phone)).toBe(401);
    expect(await me(g, zhang)).toBe(200);
  }, 120_000);
});
