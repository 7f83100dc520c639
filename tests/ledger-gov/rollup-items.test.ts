/**
 * The roll-up's `items` table is per village and item, and the town reads every village at once:
 * 13 villages that each used the 41 default items are 533 rows. Every one is in the JSON, the CSV
 * and so in what /town adds up per item for its chart; none is dropped past some row count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

const VILLAGES = 13;

describe(`town roll-up, items of many villages (${ledgerDbKind})`, () => {
  let g: GovApp;
  let villages: string[];
  let items: Array<{ code: string; version: number; points_min: number }>;

  beforeAll(async () => {
    g = await govApp();
    villages = [g.a, g.b, ...Array.from({ length: VILLAGES - 2 }, (_, n) => `${g.a}-${n}`)];
    for (const v of villages.slice(2)) expect((await g.call(g.town, 'POST', '/api/villages', { id: v, name: `村${v}` })).statusCode).toBe(201);
    items = (await g.db.query<{ code: string; version: number; points_min: number }>("SELECT code, version, points_min FROM gov_items WHERE scope = '*' ORDER BY code, version DESC"))
      .filter((i, n, all) => n === 0 || all[n - 1]!.code !== i.code);
    expect(items.length).toBe(41);
    // Each village approved each item once. The claims are written as an approval leaves them
    // (the roll-up reads only the claims): 533 approvals through the API would take the test a minute.
    const now = new Date().toISOString();
    await g.db.runEach("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ($1, $2, '村民', 'active', $3, $3)", villages.map((v) => [`p-${v}`, v, now]));
    await g.db.runEach(
      "INSERT INTO gov_claims (id, village, origin, villager_id, item_scope, item_code, item_version, points, status, created_at, decided_at) VALUES ($1, $2, 'village', $3, '*', $4, $5, $6, 'approved', $7, $7)",
      villages.flatMap((v) => items.map((i) => [`c-${v}-${i.code}`, v, `p-${v}`, i.code, i.version, i.points_min, now])),
    );
  });
  afterAll(async () => {
    await g.close();
  });

  it('has a row for every village and item, in the JSON and in the CSV', async () => {
    const expected = VILLAGES * items.length;
    const r = (await g.call(g.town, 'GET', '/api/town/rollup')).json() as { items: Array<{ village: string; code: string; approvals: number }> };
    expect({ rows: r.items.length, approvals: r.items.reduce((n, i) => n + i.approvals, 0) }).toEqual({ rows: expected, approvals: expected });
    for (const v of villages) expect({ v, items: r.items.filter((i) => i.village === v).length }).toEqual({ v, items: items.length });
    const csv = (await g.call(g.town, 'GET', '/api/town/rollup.csv?table=items')).rawPayload.subarray(3).toString('utf8');
    expect(csv.trim().split('\r\n').length - 1).toBe(expected);
  });
});
