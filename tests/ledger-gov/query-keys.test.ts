/**
 * A query key no route takes is refused by name, on every ledger route with a query string: a
 * typo (`?statsu=reported`) must not answer with everything, as if it were the filtered answer.
 * The refusal is the ledger's usual 400 (`INVALID_ARGUMENT`, English and Chinese, `field`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, routesOf, type GovApp } from './gov-app.ts';

type Who = 'town' | 'village' | 'villager';
/** Every route with a query string, who may read it, and a query it takes. */
const QUERY_ROUTES: Record<string, { who: Who; query: string }> = {
  'GET /api/villages/:village/items': { who: 'village', query: 'all=true' },
  'GET /api/town/audit': { who: 'town', query: 'limit=5' },
  'GET /api/villages/:village/audit': { who: 'village', query: 'limit=5' },
  'GET /api/villages/:village/tasks': { who: 'village', query: 'status=open' },
  'GET /api/villages/:village/claims': { who: 'village', query: 'status=reported&villager=zhang' },
  'GET /api/town/rollup': { who: 'town', query: 'from=2025-10' },
  'GET /api/town/rollup.csv': { who: 'town', query: 'table=months' },
  'GET /api/villages/:village/rollup': { who: 'village', query: 'from=2025-10' },
  'GET /api/villages/:village/rollup.csv': { who: 'village', query: 'table=months' },
  'GET /api/villages/:village/villagers': { who: 'village', query: 'limit=5' },
  'GET /api/villages/:village/villagers/:id/passbook': { who: 'village', query: 'limit=1' },
  'GET /api/villages/:village/me/passbook': { who: 'villager', query: 'limit=1' },
  'GET /api/villages/:village/statement': { who: 'village', query: 'month=2026-11' },
  'GET /api/villages/:village/statement.csv': { who: 'village', query: 'month=2026-11' },
  'GET /api/villages/:village/alarms': { who: 'village', query: 'recent=5' },
  'GET /api/town/alarms': { who: 'town', query: 'recent=5' },
};

describe(`unknown query keys on the ledger API (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
  });
  afterAll(async () => {
    await g.close();
  });
  const caller = (who: Who) => (who === 'town' ? g.town : who === 'village' ? g.va : zhang);
  const url = (route: string, query: string) => `${route.split(' ')[1]!.replace(':village', g.a).replace(':id', 'zhang')}?${query}`;

  it('every route with a query string answers what it takes, and refuses a key it does not take by name (400, both languages)', async () => {
    const routes = routesOf(g.app.printRoutes({ commonPrefix: false }));
    expect(Object.keys(QUERY_ROUTES).filter((r) => !routes.includes(r))).toEqual([]);
    for (const [route, { who, query }] of Object.entries(QUERY_ROUTES)) {
      const ok = await g.call(caller(who), 'GET', url(route, query));
      expect({ route, status: ok.statusCode }, ok.body).toEqual({ route, status: 200 });
      for (const typo of [`${query}&statsu=reported`, 'statsu=reported', `${query}&limit_=5&x=1`]) {
        const res = await g.call(caller(who), 'GET', url(route, typo));
        expect({ route, typo, status: res.statusCode }, res.body).toEqual({ route, typo, status: 400 });
        const body = res.json() as { error: string; message: string; zh: string; field: string };
        const key = typo.includes('statsu') ? 'statsu' : 'limit_';
        expect(body).toMatchObject({ error: 'INVALID_ARGUMENT', field: key });
        expect(body.message).toContain(key);
        expect(body.zh).toContain(key);
        expect(body.zh).toMatch(/[\u4e00-\u9fff]/);
      }
    }
  });

  it('a typo in a filter is no unfiltered answer: the claims a village asked about by status are never all of them', async () => {
    const res = await g.call(g.va, 'GET', `/api/villages/${g.a}/claims?statsu=reported`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'statsu' });
    expect((res.json() as { message: string }).message).toMatch(/status/); // what it does take
  });
});
