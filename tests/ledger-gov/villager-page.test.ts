/**
 * The villager's side of the ledger: the store-door QR code (accepted by the store's own
 * verifier; expired and forged ones refused), the phone page's cookie session and CSRF, one-time
 * login codes, and the passbook with its running balance.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { issueQrToken, publicKeyFromPem, verifyQrToken } from '../../edge/entry/credentials.ts';
import { govApp, type GovApp } from './gov-app.ts';

const STORE_QR = { maxLifetimeS: 300, clockSkewS: 30 }; // the store's defaults (entry.qr_max_lifetime_s, qr_clock_skew_s)

/** The cookies a response set, as a Cookie header value merged over `jar`. */
function keep(jar: Record<string, string>, res: LightMyRequestResponse): Record<string, string> {
  for (const c of res.cookies as { name: string; value: string }[]) jar[c.name] = c.value;
  return jar;
}
const cookieHeader = (jar: Record<string, string>) => Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; ');

describe(`villager page, QR code, login codes and passbook (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  let li: string;
  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
    li = await g.villager(g.a, 'li');
  });
  afterAll(async () => {
    await g.close();
  });

  it('issues a short-lived QR token the store’s verifier accepts, with the key the store installs', async () => {
    const res = await g.call(zhang, 'GET', `/api/villages/${g.a}/me/qr`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const qr = res.json() as { token: string; svg: string; expires_at: string; issued_at: string; refresh_in_s: number };
    expect(qr.token).toMatch(/^VSQ1\.[\w-]+\.[\w-]+$/);
    expect(qr.svg).toMatch(/^<svg[^>]*>.*<\/svg>\s*$/s);
    expect(qr.refresh_in_s).toBeGreaterThan(0);
    expect(Date.parse(qr.expires_at) - Date.parse(qr.issued_at)).toBe(90_000);
    // The store loads the PEM the ledger hands out, exactly as entry.qr_public_key_file.
    const pem = await g.call(g.town, 'GET', '/api/qr-public-key');
    expect(pem.statusCode).toBe(200);
    const storeKey = publicKeyFromPem(pem.body);
    const claims = verifyQrToken(qr.token, storeKey, STORE_QR);
    expect(claims).toMatchObject({ vid: 'zhang' });
    expect(claims.exp - claims.iat).toBe(90);
    // Each call is a new token (the store uses each once).
    const again = (await g.call(zhang, 'GET', `/api/villages/${g.a}/me/qr`)).json() as { token: string };
    expect(verifyQrToken(again.token, storeKey, STORE_QR).tid).not.toBe(claims.tid);
    // Expired: the same token two minutes later.
    expect(() => verifyQrToken(qr.token, storeKey, STORE_QR, Date.now() + 130_000)).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID', details: { why: 'expired' } }));
    // Forged: signed by another key, or the villager id changed in a real token.
    const forged = issueQrToken(generateKeyPairSync('ed25519').privateKey, 'zhang', 90);
    expect(() => verifyQrToken(forged, storeKey, STORE_QR)).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID', details: { why: 'bad signature' } }));
    const [, payload, sig] = qr.token.split('.');
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), vid: 'li' })).toString('base64url');
    expect(() => verifyQrToken(`VSQ1.${other}.${sig}`, storeKey, STORE_QR)).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID' }));
  });

  it('gives the QR code to the villager only, never while blocked, and says so when the ledger has no QR key', async () => {
    for (const token of [g.va, g.town]) expect((await g.call(token, 'GET', `/api/villages/${g.a}/me/qr`)).statusCode).toBe(403);
    expect((await g.call(undefined, 'GET', `/api/villages/${g.a}/me/qr`)).statusCode).toBe(401);
    expect((await g.call(zhang, 'GET', '/api/qr-public-key')).statusCode).toBe(403);
    await g.villager(g.a, 'blocked1').then(async (t) => {
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/blocked1`, { name: '停用', status: 'blocked' })).statusCode).toBe(200);
      // The block signed the villager out (villager-sessions.test.ts): no session, no QR code.
      expect((await g.call(t, 'GET', `/api/villages/${g.a}/me/qr`)).statusCode).toBe(401);
    });
    const bare = await govApp({ noQrKey: true });
    try {
      const v = await bare.villager(bare.a, 'wu');
      const r = await bare.call(v, 'GET', `/api/villages/${bare.a}/me/qr`);
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ field: 'qr', zh: expect.stringContaining('二维码') });
      expect((await bare.call(bare.town, 'GET', '/api/qr-public-key')).statusCode).toBe(503);
    } finally {
      await bare.close();
    }
  });

  it('the phone page signs in with a cookie; actions need its CSRF token; logging out ends the session', async () => {
    const page = await g.app.inject({ method: 'GET', url: '/m/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('lang="zh-CN"');
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
    expect((await g.app.inject({ method: 'GET', url: '/assets/chart.umd.min.js' })).body).toContain('Chart');
    expect((await g.app.inject({ method: 'GET', url: '/m/session' })).statusCode).toBe(401);

    const bad = await g.app.inject({ method: 'POST', url: '/m/login', payload: { village: g.a, villager: 'zhang', pin: '0000' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ field: 'pin', zh: '村民编号或密码不正确' });
    const login = await g.app.inject({ method: 'POST', url: '/m/login', payload: { village: g.a, villager: 'zhang', pin: '2468' } });
    expect(login.statusCode).toBe(200);
    const session = (login.cookies as { name: string; httpOnly?: boolean; sameSite?: string }[]).find((c) => c.name === 'village_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const jar = keep({}, login);
    const csrf = (login.json() as { csrf: string }).csrf;
    const who = await g.app.inject({ method: 'GET', url: '/m/session', headers: { cookie: cookieHeader(jar) } });
    expect(who.json()).toMatchObject({ village: g.a, villager: 'zhang', name: '村民zhang' });
    // The API reads the cookie like a bearer token.
    expect((await g.app.inject({ method: 'GET', url: `/api/villages/${g.a}/me`, headers: { cookie: cookieHeader(jar) } })).json()).toMatchObject({ villager: 'zhang' });

    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '帮助孤寡老人', item: 'VOL-SERVICE', points: 3, max_claimants: 2 })).json() as { id: string };
    const claimUrl = `/api/villages/${g.a}/tasks/${task.id}/claim`;
    // Without the token, with a wrong one, or with li's: refused, and nothing claimed.
    const liLogin = await g.app.inject({ method: 'POST', url: '/m/login', payload: { village: g.a, villager: 'li', pin: '2468' } });
    for (const headers of [{}, { 'x-csrf-token': 'forged' }, { 'x-csrf-token': (liLogin.json() as { csrf: string }).csrf }]) {
      const r = await g.app.inject({ method: 'POST', url: claimUrl, headers: { cookie: cookieHeader(jar), ...headers } });
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ error: 'CSRF_REJECTED', field: 'csrf', zh: expect.stringContaining('刷新') });
    }
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/claims?villager=zhang`)).json()).toEqual({ claims: [] });
    const ok = await g.app.inject({ method: 'POST', url: claimUrl, headers: { cookie: cookieHeader(jar), 'x-csrf-token': csrf } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ villager_id: 'zhang', status: 'claimed' });
    // A bearer token needs no CSRF token (a browser never sends one by itself).
    expect((await g.call(li, 'POST', claimUrl)).statusCode).toBe(201);

    const out = await g.app.inject({ method: 'POST', url: '/m/logout', headers: { cookie: cookieHeader(jar), 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(200);
    expect((await g.app.inject({ method: 'GET', url: `/api/villages/${g.a}/me`, headers: { cookie: cookieHeader(jar) } })).statusCode).toBe(401);
  });

  it('one-time login codes: printed by the village, hashed at rest, single use, expiring', async () => {
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/villagers/zhang/login-codes`, {})).statusCode).toBe(403);
    expect((await g.call(g.town, 'POST', `/api/villages/${g.a}/villagers/zhang/login-codes`, {})).statusCode).toBe(403);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/nobody/login-codes`, {})).statusCode).toBe(404);
    const bad = await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/li/login-codes`, { valid_days: 0 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'valid_days' });
    const issued = await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/li/login-codes`, { valid_days: 2 });
    expect(issued.statusCode).toBe(201);
    const { code, expires_at } = issued.json() as { code: string; expires_at: string };
    expect(code).toMatch(/^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(47 * 3_600_000);
    const rows = await g.db.query<{ code_hash: string }>('SELECT code_hash FROM gov_login_codes WHERE villager_id = $1', ['li']);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.code_hash).toMatch(/^scrypt\$/);
    expect(rows[0]!.code_hash).not.toContain(code.replace('-', ''));
    // Typed in lower case without the dash: accepted, once.
    const first = await g.app.inject({ method: 'POST', url: '/m/login', payload: { village: g.a, villager: 'li', code: code.replace('-', '').toLowerCase() } });
    expect(first.statusCode).toBe(200);
    const second = await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'li', code });
    expect(second.statusCode).toBe(401);
    expect(second.json()).toMatchObject({ field: 'code', zh: expect.stringContaining('登录码') });
    // Another villager's code, and an expired code, do not log in.
    const zc = (await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/zhang/login-codes`, {})).json() as { code: string };
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'li', code: zc.code })).statusCode).toBe(401);
    await g.db.run('UPDATE gov_login_codes SET expires_at = $1 WHERE villager_id = $2', ['2000-01-01T00:00:00.000Z', 'zhang']);
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'zhang', code: zc.code })).statusCode).toBe(401);
    // Exactly one of PIN and code.
    for (const body of [{ village: g.a, villager: 'li' }, { village: g.a, villager: 'li', pin: '2468', code: 'AAAA-BBBB' }]) {
      const r = await g.call(undefined, 'POST', '/api/villager/login', body);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ zh: expect.stringContaining('二选一') });
    }
    const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string }[] };
    expect(audit.events.filter((e) => e.subject === 'villager:li').map((e) => e.action)).toEqual(expect.arrayContaining(['login-code.issue', 'login-code.use']));
  });

  it('no login code is printed for a villager who left or is blocked: 409 naming the status, nothing issued', async () => {
    for (const [id, status, zh] of [['wu', 'left', '已离村'], ['zheng2', 'blocked', '已冻结']] as const) {
      await g.villager(g.a, id);
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/${id}`, { name: `村民${id}`, status })).statusCode).toBe(200);
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/${id}/login-codes`, {});
      expect([id, r.statusCode]).toEqual([id, 409]);
      const body = r.json() as { field: string; zh: string; message: string };
      expect(body.field).toBe('villager');
      expect(body.zh).toContain(zh);
      expect(body.zh).toContain('不能发登录码');
      expect(body.message).toContain(status === 'left' ? 'left the village' : 'blocked');
      expect(await g.db.query('SELECT id FROM gov_login_codes WHERE villager_id = $1', [id])).toEqual([]);
      const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string }[] };
      expect(audit.events.filter((e) => e.subject === `villager:${id}` && e.action === 'login-code.issue')).toEqual([]);
    }
    // Back to active: a code is printed as usual.
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zheng2`, { name: '村民zheng2', status: 'active' })).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/zheng2/login-codes`, {})).statusCode).toBe(201);
  });

  it('a path the ledger does not have is 404 without a sign-in too (an old or mistyped link), and its routes still ask for one', async () => {
    for (const [method, url] of [['GET', '/m/passbok'], ['GET', '/m/index.html'], ['GET', '/board'], ['GET', '/api/nope'], ['POST', `/api/villages/${g.a}/claimz`], ['DELETE', `/api/villages/${g.a}/tasks`]] as const) {
      const r = await g.app.inject({ method, url: `${url}?token=secret` });
      expect({ url, status: r.statusCode, body: r.json() }).toEqual({ url, status: 404, body: { error: 'NOT_FOUND', message: `no route ${method} ${url}`, zh: '没有这个接口或页面' } });
    }
    // With the phone page's cookie and no CSRF token, an unknown path is still just not there.
    const cookie = `village_session=${(await g.app.inject({ method: 'POST', url: '/m/login', remoteAddress: '192.0.2.63', payload: { village: g.a, villager: 'li', pin: '2468' } })).cookies.find((c) => c.name === 'village_session')!.value}`;
    expect((await g.app.inject({ method: 'POST', url: '/m/nothing', headers: { cookie } })).statusCode).toBe(404);
    // The routes that exist answer 401 without a sign-in, as before.
    for (const [method, url] of [['GET', `/api/villages/${g.a}/me`], ['GET', `/api/villages/${g.a}/claims`], ['POST', `/api/villages/${g.a}/tasks`], ['GET', '/api/staff'], ['GET', '/api/whoami'], ['GET', `/api/villages/${g.a}/villagers/li/passbook`]] as const) {
      const r = await g.app.inject({ method, url });
      expect({ url, status: r.statusCode }).toEqual({ url, status: 401 });
    }
  });

  it('wrong codes count towards the same lock as wrong PINs', async () => {
    await g.villager(g.a, 'sun');
    for (let k = 0; k < 3; k++) expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'sun', code: 'AAAA-AAAA' })).statusCode).toBe(401);
    for (let k = 0; k < 2; k++) expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'sun', pin: '0000' })).statusCode).toBe(401);
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'sun', pin: '2468' })).statusCode).toBe(429);
  });

  it('wrong codes sent together on the page\'s login meet the same lock: at most five are checked', async () => {
    await g.villager(g.a, 'zhou');
    const codes = (await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/zhou/login-codes`, {})).json() as { code: string };
    const login = (code: string, k: number) => g.app.inject({ method: 'POST', url: '/m/login', remoteAddress: `10.0.3.${k}`, payload: { village: g.a, villager: 'zhou', code } });
    const burst = await Promise.all(Array.from({ length: 20 }, (_, k) => login(`AAAA-AA${String(k).padStart(2, '0')}`, k)));
    expect(burst.filter((r) => r.statusCode === 401).length).toBeLessThanOrEqual(5);
    expect(burst.filter((r) => r.statusCode === 429).length).toBeGreaterThanOrEqual(15);
    expect((await login(codes.code, 20)).statusCode).toBe(429);
  });

  it('the passbook lists every entry with the balance after it, for the village office and for the villager', async () => {
    const v = await g.villager(g.a, 'qian');
    const award = async (item: string, points?: number) => {
      const r = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item, villager: 'qian', evidence: 'witness:组长' })).json() as { id: string };
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${r.id}/approve`, points ? { points } : {})).statusCode).toBe(200);
    };
    await award('GOV-MEETING');
    await award('VOL-SERVICE', 5);
    await award('DED-MATERIALS-LANE', 6);
    const res = await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/qian/passbook`);
    expect(res.statusCode).toBe(200);
    const p = res.json() as { name: string; opening: number; balance: number; lines: { points: number; balance: number; kind: string; reason: string }[] };
    expect(p).toMatchObject({ name: '村民qian', opening: 0, balance: 1 });
    expect(p.lines.map((l) => [l.kind, l.points, l.balance])).toEqual([['奖励', 2, 2], ['奖励', 5, 7], ['扣分', -6, 1]]);
    expect(p.lines[0]!.reason).toContain('参加村民会议');
    // The last line only: the opening balance carries the rest.
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/qian/passbook?limit=1`)).json()).toMatchObject({ opening: 7, balance: 1, lines: [{ points: -6, balance: 1 }] });
    expect((await g.call(v, 'GET', `/api/villages/${g.a}/me/passbook`)).json()).toMatchObject({ villager: 'qian', balance: 1 });
    // A villager prints no one else's; the town reads; a page answers without a token (its script fetches with one).
    expect((await g.call(v, 'GET', `/api/villages/${g.a}/villagers/zhang/passbook`)).statusCode).toBe(403);
    expect((await g.call(g.town, 'GET', `/api/villages/${g.a}/villagers/qian/passbook`)).statusCode).toBe(200);
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/nobody/passbook`)).statusCode).toBe(404);
    expect((await g.app.inject({ method: 'GET', url: '/passbook' })).body).toContain('积分存折');
  });
});
