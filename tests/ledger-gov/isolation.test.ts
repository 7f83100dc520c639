/**
 * Roles and isolation: one village can never read or change another's data through any route
 * of the ledger API (the list of routes is read from the app itself, so a new route without a
 * case here fails this test); a villager sees only their own; the town reads but does not manage.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, routesOf, type GovApp } from './gov-app.ts';
import { tinyJpeg } from './photos.ts';
import { VILLAGER_LOGIN_RATE_PER_MINUTE } from '../../cloud-sync/ledger/governance/auth.ts';

const item = (code: string) => ({ code, name: '测试项', category: 'other', direction: 'add', points_min: 2, points_max: 2, evidence: 'none' });
const { code: _c, ...itemFields } = item('x');

/** A body each route would accept from its own village: the refusal is about the village, not the input. */
const BODIES: Record<string, unknown> = {
  'PUT /api/villages/:village/villagers/:id': { name: '改名' },
  'GET /api/villages/:village/villagers/:id': undefined,
  'GET /api/villages/:village/villagers': undefined,
  'PUT /api/villages/:village/villagers/:id/pin': { pin: '1111' },
  'POST /api/villages/:village/entries': { id: 'iso-1', villager: 'wang', kind: 'award', points: 50, reason: '越权' },
  'POST /api/villages/:village/commands': { command: 'block', villager: 'wang' },
  'PUT /api/villages/:village/stores/:id': { key_id: 'k', public_key: 'x' },
  'GET /api/villages/:village/sync': undefined,
  'GET /api/villages/:village/claims': undefined,
  'GET /api/villages/:village/claims/:claim': undefined,
  'POST /api/villages/:village/claims/:claim/report': { evidence: 'photo:1' },
  'POST /api/villages/:village/claims/:claim/approve': {},
  'POST /api/villages/:village/claims/:claim/reject': { reason: '越权' },
  'POST /api/villages/:village/claims/:claim/reverse': { reason: '越权' },
  'GET /api/villages/:village/items': undefined,
  'POST /api/villages/:village/items': item('B-NEW'),
  'PUT /api/villages/:village/items/:code': itemFields,
  'POST /api/villages/:village/items/:code/retire': undefined,
  'GET /api/villages/:village/items/:code/versions': undefined,
  'GET /api/villages/:village/me': undefined,
  'GET /api/villages/:village/audit': undefined,
  'GET /api/villages/:village/tasks': undefined,
  'POST /api/villages/:village/tasks': { title: '越权任务', item: 'VOL-SERVICE', points: 3, max_claimants: 1 },
  'GET /api/villages/:village/tasks/:task': undefined,
  'POST /api/villages/:village/tasks/:task/close': undefined,
  'POST /api/villages/:village/tasks/:task/claim': undefined,
  'POST /api/villages/:village/reports': { item: 'GOV-MEETING', villager: 'wang' },
  'GET /api/villages/:village/villagers/:id/passbook': undefined,
  'POST /api/villages/:village/villagers/:id/login-codes': { valid_days: 3 },
  'POST /api/villages/:village/villagers/:id/sign-out': {},
  'POST /api/villages/:village/evidence': 'a photo (multipart)',
  'GET /api/villages/:village/evidence/:id': undefined,
  'GET /api/villages/:village/me/passbook': undefined,
  'GET /api/villages/:village/me/qr': undefined,
  'GET /api/villages/:village/rollup': undefined,
  'GET /api/villages/:village/rollup.csv': undefined,
  'GET /api/villages/:village/statement': undefined,
  'GET /api/villages/:village/statement.csv': undefined,
  'GET /api/villages/:village/alarms': undefined,
  'GET /api/villages/:village/board': undefined,
  'PUT /api/villages/:village/board': { name_style: 'omit' },
  'POST /api/villages/:village/board/publish': undefined,
  'PUT /api/villages/:village/villagers/:id/board': { named: false },
  'GET /api/villages/:village/me/board': undefined,
  'PUT /api/villages/:village/me/board': { named: false },
  'PUT /api/villages/:village/me/pin': { current_pin: '2468', pin: '1357', pin_confirm: '1357' },
  'GET /api/villages/:village/products': undefined,
  'PUT /api/villages/:village/products/:sku': { name: '乙村的油', price: 1, unit_g: 500, tolerance_g: 10, active: true },
};
/** A query string a route needs to be valid. */
const QUERIES: Record<string, string> = { 'GET /api/villages/:village/rollup.csv': '?table=months' };

describe(`governance roles and isolation (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  let li: string;
  let wang: string;
  /** A staff member of village a, signed in to the pages by password (cookie and CSRF token). */
  let staffA: Awaited<ReturnType<GovApp['staff']>>;
  let ids: { task: string; claim: string; approved: string; photo: string };
  /** Everything of village b, to compare before and after. */
  const stateOfB = async () => ({
    claims: await g.db.query('SELECT id, status, points, evidence, reason, entry_id FROM gov_claims WHERE village = $1 ORDER BY id', [g.b]),
    tasks: await g.db.query('SELECT id, status FROM gov_tasks WHERE village = $1 ORDER BY id', [g.b]),
    items: await g.db.query('SELECT code, version FROM gov_items WHERE scope = $1 ORDER BY code, version', [g.b]),
    entries: await g.db.query('SELECT id, points FROM entries WHERE village = $1 ORDER BY seq', [g.b]),
    villagers: await g.db.query('SELECT id, name, status FROM villagers WHERE village = $1 ORDER BY id', [g.b]),
    sessions: await g.db.query('SELECT token_hash, villager_id FROM gov_sessions WHERE village = $1 ORDER BY token_hash', [g.b]),
    pins: await g.db.query('SELECT p.villager_id, p.pin_hash FROM gov_pins p JOIN villagers v ON v.id = p.villager_id WHERE v.village = $1 ORDER BY 1', [g.b]),
    stores: await g.db.query('SELECT id, key_id FROM stores WHERE village = $1', [g.b]),
    codes: await g.db.query('SELECT id, used_at FROM gov_login_codes WHERE village = $1 ORDER BY id', [g.b]),
    evidence: await g.db.query('SELECT id, sha256 FROM gov_evidence WHERE village = $1 ORDER BY id', [g.b]),
    audit: await g.db.query('SELECT seq FROM gov_events WHERE village = $1 ORDER BY seq', [g.b]),
    board: await g.db.query('SELECT * FROM board_settings WHERE village = $1', [g.b]),
    named: await g.db.query('SELECT bv.villager_id, bv.named, bv.staff FROM board_villagers bv JOIN villagers v ON v.id = bv.villager_id WHERE v.village = $1 ORDER BY 1', [g.b]),
    seq: await g.db.query('SELECT next_seq FROM villages WHERE id = $1', [g.b]),
    products: await g.db.query('SELECT * FROM products WHERE village = $1', [g.b]),
  });

  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
    li = await g.villager(g.a, 'li');
    wang = await g.villager(g.b, 'wang');
    staffA = await g.staff('clerk-a', g.a);
    expect((await g.call(g.vb, 'POST', `/api/villages/${g.b}/items`, item('B-ITEM'))).statusCode).toBe(201);
    const task = (await g.call(g.vb, 'POST', `/api/villages/${g.b}/tasks`, { title: '乙村任务', item: 'GOV-PUBLIC-WORK', points: 4, max_claimants: 3 })).json() as { id: string };
    const claim = (await g.call(wang, 'POST', `/api/villages/${g.b}/tasks/${task.id}/claim`)).json() as { id: string };
    expect((await g.call(wang, 'POST', `/api/villages/${g.b}/claims/${claim.id}/report`, { evidence: 'witness:村长' })).statusCode).toBe(200);
    const self = (await g.call(wang, 'POST', `/api/villages/${g.b}/reports`, { item: 'B-ITEM' })).json() as { id: string };
    expect((await g.call(g.vb, 'POST', `/api/villages/${g.b}/claims/${self.id}/approve`, {})).statusCode).toBe(200);
    const photo = await g.upload(wang, `/api/villages/${g.b}/evidence`, await tinyJpeg());
    expect(photo.statusCode).toBe(201);
    expect((await g.call(g.vb, 'POST', `/api/villages/${g.b}/villagers/wang/login-codes`, {})).statusCode).toBe(201);
    // a new login code signed wang's phone out (a lost phone, login-codes.ts): he signs in again
    wang = ((await g.call(undefined, 'POST', '/api/villager/login', { village: g.b, villager: 'wang', pin: '2468' })).json() as { token: string }).token;
    ids = { task: task.id, claim: claim.id, approved: self.id, photo: (photo.json() as { id: string }).id };
  });
  afterAll(async () => {
    await g.close();
  });

  it('village a (its token, its staff signed in by password, or a villager of a) can neither read nor change village b through any route', async () => {
    const routes = routesOf(g.app.printRoutes({ commonPrefix: false })).filter((r) => r.includes(':village'));
    expect(routes.length).toBeGreaterThanOrEqual(25);
    // A route with no case here is a route whose isolation nobody checked.
    expect(routes.filter((r) => !(r in BODIES))).toEqual([]);
    const before = await stateOfB();
    for (const r of routes) {
      const [method, pattern] = r.split(' ') as ['GET' | 'POST' | 'PUT', string];
      for (const claim of [ids.claim, ids.approved]) {
        const url = pattern.replace(':village', g.b).replace('evidence/:id', `evidence/${ids.photo}`).replace(':id', 'wang').replace(':claim', claim).replace(':task', ids.task).replace(':code', 'B-ITEM').replace(':sku', 'oil');
        for (const [who, token] of [['village a', g.va], ['staff of a', staffA], ['villager of a', zhang]] as const) {
          const res = r === 'POST /api/villages/:village/evidence' ? await g.upload(token, url, await tinyJpeg()) : await g.call(token, method, url + (QUERIES[r] ?? ''), BODIES[r]);
          expect({ route: r, who, claim, status: res.statusCode }).toEqual({ route: r, who, claim, status: 404 });
          expect(res.body).not.toContain('wang');
          expect(res.body).not.toContain('乙村');
        }
      }
    }
    expect(await stateOfB()).toEqual(before);
  });

  it('the town (its token or a town account) gets 404 on village from every route for a village that does not exist, as the roll-up answers', async () => {
    const townStaff = await g.staff('town-typo');
    const routes = routesOf(g.app.printRoutes({ commonPrefix: false })).filter((r) => r.includes(':village'));
    for (const r of routes) {
      const [method, pattern] = r.split(' ') as ['GET' | 'POST' | 'PUT', string];
      const url = pattern.replace(':village', 'no-such-village').replace('evidence/:id', `evidence/${ids.photo}`).replace(':id', 'wang').replace(':claim', ids.claim).replace(':task', ids.task).replace(':code', 'B-ITEM').replace(':sku', 'oil');
      for (const [who, token] of [['town', g.town], ['town account', townStaff]] as const) {
        const res = r === 'POST /api/villages/:village/evidence' ? await g.upload(token, url, await tinyJpeg()) : await g.call(token, method, url + (QUERIES[r] ?? ''), BODIES[r]);
        expect({ route: r, who, status: res.statusCode, body: res.json() }).toMatchObject({ route: r, who, status: 404, body: { field: 'village', zh: expect.stringContaining('找不到') } });
      }
    }
    expect((await g.call(g.town, 'GET', '/api/town/rollup?village=no-such-village')).statusCode).toBe(404);
    expect((await g.call(g.town, 'GET', `/api/villages/${g.b}/tasks`)).statusCode).toBe(200);
  });

  it('b’s ids inside a’s own URLs are unknown there', async () => {
    const before = await stateOfB();
    const a = `/api/villages/${g.a}`;
    const tries: [string, 'GET' | 'POST' | 'PUT', string, unknown][] = [
      ['get b’s claim', 'GET', `${a}/claims/${ids.claim}`, undefined],
      ['approve b’s claim', 'POST', `${a}/claims/${ids.claim}/approve`, {}],
      ['reject b’s claim', 'POST', `${a}/claims/${ids.claim}/reject`, { reason: 'x' }],
      ['reverse b’s award', 'POST', `${a}/claims/${ids.approved}/reverse`, { reason: 'x' }],
      ['read b’s task', 'GET', `${a}/tasks/${ids.task}`, undefined],
      ['close b’s task', 'POST', `${a}/tasks/${ids.task}/close`, undefined],
      ['set b’s villager’s PIN', 'PUT', `${a}/villagers/wang/pin`, { pin: '1111' }],
      ['read b’s villager', 'GET', `${a}/villagers/wang`, undefined],
      ['change b’s item', 'PUT', `${a}/items/B-ITEM`, itemFields],
      ['retire b’s item', 'POST', `${a}/items/B-ITEM/retire`, undefined],
      ['read b’s item history', 'GET', `${a}/items/B-ITEM/versions`, undefined],
      ['award b’s villager', 'POST', `${a}/entries`, { id: 'iso-2', villager: 'wang', kind: 'award', points: 5, reason: 'x' }],
      ['file a record on b’s villager', 'POST', `${a}/reports`, { item: 'GOV-MEETING', villager: 'wang' }],
      ['print b’s villager’s passbook', 'GET', `${a}/villagers/wang/passbook`, undefined],
      ['print a login code for b’s villager', 'POST', `${a}/villagers/wang/login-codes`, {}],
      ['sign b’s villager out of every phone', 'POST', `${a}/villagers/wang/sign-out`, {}],
      ['see b’s photo', 'GET', `${a}/evidence/${ids.photo}`, undefined],
      ['block b’s villager', 'POST', `${a}/commands`, { command: 'block', villager: 'wang' }],
      ['unblock b’s villager', 'POST', `${a}/commands`, { command: 'unblock', villager: 'wang' }],
    ];
    for (const [what, method, url, body] of tries) expect({ what, status: (await g.call(g.va, method, url, body)).statusCode }).toEqual({ what, status: 404 });
    expect((await g.call(zhang, 'POST', `${a}/tasks/${ids.task}/claim`)).statusCode).toBe(404);
    expect((await g.call(g.va, 'GET', `${a}/claims?villager=wang`)).json()).toEqual({ claims: [] });
    expect(JSON.stringify((await g.call(g.va, 'GET', `${a}/items`)).json())).not.toContain('B-ITEM');
    expect(JSON.stringify((await g.call(g.va, 'GET', `${a}/audit`)).json())).not.toContain('wang');
    // A villager of b cannot log in as a villager of a.
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'wang', pin: '2468' })).statusCode).toBe(401);
    expect(await stateOfB()).toEqual(before);
    // b's villager is still signed in: a's block signed nobody out in b
    expect((await g.call(wang, 'GET', `/api/villages/${g.b}/me`)).statusCode).toBe(200);
  });

  it('a villager sees only their own claims and page, and cannot act for the village', async () => {
    const r = (await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING' })).json() as { id: string };
    expect((await g.call(zhang, 'GET', `/api/villages/${g.a}/claims/${r.id}`)).statusCode).toBe(404);
    expect((await g.call(zhang, 'GET', `/api/villages/${g.a}/claims?villager=li`)).json()).toEqual({ claims: [] });
    expect((await g.call(li, 'GET', `/api/villages/${g.a}/claims`)).json()).toMatchObject({ claims: [{ id: r.id }] });
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'li' })).statusCode).toBe(403);
    for (const [method, url, body] of [
      ['POST', `/api/villages/${g.a}/claims/${r.id}/approve`, {}],
      ['POST', `/api/villages/${g.a}/tasks`, { title: 't', item: 'VOL-SERVICE', points: 3, max_claimants: 1 }],
      ['POST', `/api/villages/${g.a}/items`, item('A-X')],
      ['GET', `/api/villages/${g.a}/audit`, undefined],
      ['GET', `/api/villages/${g.a}/sync`, undefined],
      ['POST', `/api/villages/${g.a}/entries`, { id: 'self-award', villager: 'zhang', kind: 'award', points: 100, reason: '自己给自己' }],
    ] as const) expect([403, 404]).toContain((await g.call(zhang, method, url, body)).statusCode);
    expect((await g.call(zhang, 'GET', `/api/villages/${g.a}/me`)).json()).toMatchObject({ villager: 'zhang', balance: 0, claims: [] });
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/me`)).statusCode).toBe(403);
  });

  it('the town reads every village but manages none; PINs are hashed with scrypt; wrong PINs lock the login', async () => {
    expect((await g.call(g.town, 'GET', `/api/villages/${g.b}/claims`)).json()).toMatchObject({ claims: expect.arrayContaining([expect.objectContaining({ id: ids.claim })]) });
    expect((await g.call(g.town, 'GET', `/api/villages/${g.a}/audit`)).statusCode).toBe(200);
    expect((await g.call(g.town, 'POST', `/api/villages/${g.b}/claims/${ids.claim}/approve`, {})).statusCode).toBe(403);
    expect((await g.call(g.town, 'POST', `/api/villages/${g.b}/tasks`, { title: 't', item: 'VOL-SERVICE', points: 3, max_claimants: 1 })).statusCode).toBe(403);
    const pins = await g.db.query<{ pin_hash: string }>('SELECT pin_hash FROM gov_pins');
    for (const p of pins) expect(p.pin_hash).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(new Set(pins.map((p) => p.pin_hash)).size).toBe(pins.length);
    for (let k = 0; k < 5; k++) expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'li', pin: '0000' })).statusCode).toBe(401);
    const locked = await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'li', pin: '2468' });
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ field: 'pin', zh: expect.stringMatching(/^密码错误次数过多，请约 \d+ 分钟后再试$/) });
    expect((await g.call('not-a-session', 'GET', `/api/villages/${g.a}/me`)).statusCode).toBe(401);
  });

  it('the town (its token or a town account signed in) writes no village\'s data through the plain routes: 403, and village b is as it was', async () => {
    const before = await stateOfB();
    const townStaff = await g.staff('town-clerk');
    const storeKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const who of [g.town, townStaff]) {
      for (const [method, url, body] of [
        ['PUT', `/api/villages/${g.b}/villagers/wang`, { name: '王', status: 'blocked' }],
        ['POST', `/api/villages/${g.b}/entries`, { id: 'town-award', villager: 'wang', kind: 'award', points: 500, reason: '镇里给的' }],
        ['POST', `/api/villages/${g.b}/entries`, { id: 'town-penalty', villager: 'wang', kind: 'penalty', points: -200, reason: '镇里扣的' }],
        ['POST', `/api/villages/${g.b}/commands`, { command: 'block', villager: 'wang' }],
        ['PUT', `/api/villages/${g.b}/stores/town-store`, { key_id: 'k1', public_key: storeKey }],
      ] as const) {
        const r = await g.call(who, method, url, body);
        expect({ url, status: r.statusCode, body: r.json() }).toMatchObject({ url, status: 403, body: { error: 'FORBIDDEN', field: 'role', zh: expect.stringContaining('镇级账号') } });
      }
    }
    expect(await stateOfB()).toEqual(before);
    // Reading stays the town's; the village writes its own.
    expect((await g.call(g.town, 'GET', `/api/villages/${g.b}/villagers/wang`)).statusCode).toBe(200);
    expect((await g.call(g.vb, 'PUT', `/api/villages/${g.b}/stores/own-store`, { key_id: 'k1', public_key: storeKey })).statusCode).toBe(200);
  });

  it('wrong PINs sent together meet the lock too: at most five are checked, and the right PIN after them is refused', async () => {
    await g.villager(g.a, 'burst');
    const login = (pin: string, k: number) => g.app.inject({ method: 'POST', url: '/api/villager/login', remoteAddress: `10.0.1.${k}`, payload: { village: g.a, villager: 'burst', pin } });
    // from many addresses, so the per-address limit plays no part: only the villager's lock
    const burst = await Promise.all([...Array.from({ length: 20 }, (_, k) => login(String(k).padStart(4, '0'), k)), login('2468', 20)]);
    const checked = burst.filter((r) => r.statusCode !== 429).length;
    expect(checked).toBeLessThanOrEqual(5);
    expect(burst.filter((r) => r.statusCode === 429)).toHaveLength(21 - checked);
    if (burst[20]!.statusCode !== 200) expect((await login('2468', 21)).statusCode).toBe(429);
  });

  it('each address gets a limited number of villager logins a minute, both login routes together', async () => {
    const from = (url: string, remoteAddress: string) => g.app.inject({ method: 'POST', url, remoteAddress, payload: { village: g.a, villager: `nobody${Math.random()}`.replace('.', ''), pin: '0000' } });
    const routes = ['/api/villager/login', '/m/login'] as const;
    // half of them on each route: one count, so after them either route refuses this address
    for (let k = 0; k < VILLAGER_LOGIN_RATE_PER_MINUTE; k++) expect((await from(routes[k % 2]!, '10.0.2.1')).statusCode).toBe(401);
    for (const url of routes) {
      const refused = await from(url, '10.0.2.1');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ error: 'RATE_LIMITED', field: 'pin', zh: expect.stringContaining('次数过多') });
      expect((await from(url, '10.0.2.3')).statusCode).toBe(401);
    }
  });
});
