/**
 * The village office page (/village) as the ledger serves it: the page and its scripts with
 * helmet's headers and no inline script, each script under 400 lines; and every route the page
 * reads answering a village account's session for its own village and a town account's for
 * any, while the town's changes are refused (403) as the page's read-only view says.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp, type StaffSession } from './gov-app.ts';

describe(`village office page (${ledgerDbKind})`, () => {
  let g: GovApp;
  let clerk: StaffSession;
  let town: StaffSession;
  let claim: string;
  beforeAll(async () => {
    g = await govApp();
    clerk = await g.staff('clerk-a', g.a);
    town = await g.staff('town-office');
    const zhang = await g.villager(g.a, 'zhang');
    claim = ((await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING' })).json() as { id: string }).id;
  }, 60_000);
  afterAll(async () => {
    await g?.close();
  });

  it('is served with its scripts, no inline script, each script under 400 lines', async () => {
    const page = await g.app.inject({ method: 'GET', url: '/village' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('lang="zh-CN"');
    const tags = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(tags.length).toBe(15); // village-statement.js (月度积分对账) and signed-in.js among them (who is signed in, in both languages), sha256.min.js, photo-key.js and photo-shrink.js (the record form's photo)
    for (const [, attrs, inner] of tags) {
      expect(inner).toBe('');
      const src = /src="([^"]+)"/.exec(attrs!)![1]!;
      const js = await g.app.inject({ method: 'GET', url: src });
      expect({ src, status: js.statusCode, type: js.headers['content-type'] }).toEqual({ src, status: 200, type: 'text/javascript; charset=utf-8' });
      // js-sha256's browser build comes from node_modules (pages.ts), not the page's own scripts
      const file = /^\/assets\/([\w.-]+)\?v=[0-9a-f]+$/.exec(src)![1]!; // versioned (pages.ts; page-caching.test.ts)
      if (file === 'sha256.min.js') continue;
      const lines = readFileSync(new URL(`../../cloud-sync/ledger/web/static/${file}`, import.meta.url), 'utf8').split('\n').length;
      expect({ src, under400: lines < 400 }).toEqual({ src, under400: true });
    }
    // A page asks for the login itself (village.js); the page's data does not answer without one.
    expect((await g.app.inject({ method: 'GET', url: `/api/villages/${g.a}/claims` })).statusCode).toBe(401);
  });

  it('the routes it reads answer the village for its own village and the town for any; the town changes nothing', async () => {
    const reads = ['/items?all=true', '/items', '/claims?status=reported', '/claims', '/tasks', '/products', '/villagers/zhang', '/villagers?limit=200'];
    for (const who of [clerk, town]) {
      expect((await g.call(who, 'GET', '/api/staff')).statusCode).toBe(200);
      for (const r of reads) {
        const res = await g.call(who, 'GET', `/api/villages/${g.a}${r}`);
        expect({ r, status: res.statusCode }).toEqual({ r, status: 200 });
      }
    }
    // Another village's data is out of the village account's sight.
    expect((await g.call(clerk, 'GET', `/api/villages/${g.b}/claims`)).statusCode).toBe(404);
    // The town reads; approving, publishing, pricing and login codes are the village's.
    for (const [method, url, body] of [
      ['POST', `/claims/${claim}/approve`, {}],
      ['POST', '/villagers/zhang/login-codes', { request: 'town-tries-a-login-code' }],
      ['POST', '/tasks', { title: '打扫', item: 'GOV-MEETING', max_claimants: 1 }],
      ['PUT', '/products/salt', { name: '食盐', price: 3, unit_g: 400, tolerance_g: 20, active: true }],
    ] as const) {
      const res = await g.call(town, method, `/api/villages/${g.a}${url}`, body);
      expect({ url, status: res.statusCode, field: res.json().field }).toEqual({ url, status: 403, field: 'role' });
    }
    const ok = await g.call(clerk, 'POST', `/api/villages/${g.a}/claims/${claim}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ balance: 2 });
  });

  it('lists the village\'s villagers by id with balances, a page at a time; only staff, only their village', async () => {
    for (const id of ['wu', 'li', 'qian']) await g.villager(g.a, id);
    await g.villager(g.b, 'zhao');
    const list = async (who: StaffSession | string | undefined, q: string) => g.call(who, 'GET', `/api/villages/${g.a}/villagers${q}`);
    const all = (await list(clerk, '')).json() as { villagers: { id: string; balance: number; status: string }[]; next: string | null };
    expect(all.villagers.map((v) => v.id)).toEqual(['li', 'qian', 'wu', 'zhang']);
    expect(all.next).toBeNull();
    // zhang's approved claim (the test above) is in his balance, as GET …/villagers/zhang says
    const zhang = (await g.call(clerk, 'GET', `/api/villages/${g.a}/villagers/zhang`)).json() as { balance: number };
    expect(all.villagers.find((v) => v.id === 'zhang')).toMatchObject({ balance: zhang.balance, status: 'active' });
    // pages of two: the second starts after the first's last id
    const first = (await list(town, '?limit=2')).json() as typeof all;
    expect({ ids: first.villagers.map((v) => v.id), next: first.next }).toEqual({ ids: ['li', 'qian'], next: 'qian' });
    const second = (await list(town, `?limit=2&after=${first.next}`)).json() as typeof all;
    expect({ ids: second.villagers.map((v) => v.id), next: second.next }).toEqual({ ids: ['wu', 'zhang'], next: null });
    expect(((await list(clerk, '?status=left')).json() as typeof all).villagers).toEqual([]);
    // another village's list is out of sight; a villager sees only their own balance; bad queries name the field
    expect((await g.call(clerk, 'GET', `/api/villages/${g.b}/villagers`)).statusCode).toBe(404);
    const villager = await g.villager(g.a, 'sun');
    expect((await list(villager, '')).statusCode).toBe(403);
    for (const q of ['?limit=0', '?limit=5000', '?status=gone', '?after=a%20b']) {
      const res = await list(clerk, q);
      expect({ q, status: res.statusCode, zh: typeof res.json().zh }).toEqual({ q, status: 400, zh: 'string' });
    }
  });
});
