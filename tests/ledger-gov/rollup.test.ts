/** The town roll-up: points per village and month, most-used items, participation, the stores' sales; CSV; who sees what. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { monthOf } from '../../cloud-sync/ledger/governance/rollup.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { govApp, type GovApp } from './gov-app.ts';

interface Rollup {
  period: { from: string; to: string };
  villages: string[];
  months: { village: string; month: string; issued: number; deducted: number; redeemed: number; refunded: number; adjusted: number; awards: number; villagers_awarded: number }[];
  items: { village: string; code: string; name: string; approvals: number; points: number }[];
  participation: { village: string; villagers: number; awarded: number; rate: number }[];
  sales: { village: string; sku: string; name: string; count: number; points: number; sessions: number }[];
}

describe(`town roll-up (${ledgerDbKind})`, () => {
  let g: GovApp;
  const thisMonth = monthOf(new Date());
  const signer = { key: privateEd25519('k1', newKeyPair().privatePem), lifetimeMs: 60_000 };

  beforeAll(async () => {
    g = await govApp();
    const zhang = await g.villager(g.a, 'zhang');
    await g.villager(g.a, 'li');
    await g.villager(g.a, 'zhao');
    const wang = await g.villager(g.b, 'wang');
    // a: zhang sweeps a lane (task, approved); li is penalised; a village item named like a formula is used once.
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫东巷', item: 'ENV-SWEEP-LANE', max_claimants: 3 })).json() as { id: string };
    const claim = (await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).json() as { id: string };
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { evidence: 'witness:村长' })).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim.id}/approve`, {})).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'A-FORMULA', name: '=1+2 门前三包', category: 'other', direction: 'add', points_min: 3, points_max: 3, evidence: 'none' })).statusCode).toBe(201);
    const f = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'A-FORMULA', villager: 'zhang' })).json() as { id: string };
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${f.id}/approve`, {})).statusCode).toBe(200);
    const pen = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'DED-MATERIALS-LANE', villager: 'li', evidence: 'witness:组长' })).json() as { id: string };
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${pen.id}/approve`, { points: 6 })).statusCode).toBe(200);
    // A reversed award counts in no item's approvals.
    const rev = (await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING' })).json() as { id: string };
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${rev.id}/approve`, {})).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${rev.id}/reverse`, { reason: '重复申报' })).statusCode).toBe(200);
    // b: wang's self-report.
    const self = (await g.call(wang, 'POST', `/api/villages/${g.b}/reports`, { item: 'GOV-MEETING' })).json() as { id: string };
    expect((await g.call(g.vb, 'POST', `/api/villages/${g.b}/claims/${self.id}/approve`, {})).statusCode).toBe(200);
    // The store of a syncs a product, a purchase (session + redemption) and a cancelled session.
    const now = new Date().toISOString();
    const rows: Row[] = [
      { id: 'st1:1', seq: 1, topic: 'product', payload: { sku: 'salt', name: '食盐', price: 5, unit_g: 500, tolerance_g: 20, active: true }, created_at: now },
      { id: 'st1:2', seq: 2, topic: 'entry', payload: { id: 'redemption:s1', villager: 'zhang', kind: 'redemption', points: -10, reference: 'session:s1', created_at: now }, created_at: now },
      { id: 'st1:3', seq: 3, topic: 'session', payload: { id: 's1', kind: 'shopping', villager: 'zhang', total_points: 10, lines: [{ sku: 'salt', count: 2, points: 10 }], opened_at: now, closed_at: now }, created_at: now },
      { id: 'st1:4', seq: 4, topic: 'session', payload: { id: 's2', kind: 'shopping', villager: 'li', cancelled: 'timeout', closed_at: now }, created_at: now },
      { id: 'st1:5', seq: 5, topic: 'session', payload: { id: 's3', kind: 'restock', villager: 'chen', lines: [{ sku: 'salt', count: 30, points: 0 }], closed_at: now }, created_at: now },
      { id: 'st1:6', seq: 6, topic: 'session', payload: 'not an object', created_at: now },
    ];
    await applyStoreRows(g.db, g.a, 'st1', rows, signer, new Date());
  });
  afterAll(async () => {
    await g.close();
  });

  it('participation counts neither in `villagers` nor in `awarded` a villager who left, so the rate stays within 1', async () => {
    const status = async (st: string) => expect((await g.call(g.vb, 'PUT', `/api/villages/${g.b}/villagers/wang`, { name: '王', status: st })).statusCode).toBe(200);
    await status('left');
    try {
      const r = (await g.call(g.town, 'GET', `/api/town/rollup?village=${g.b}`)).json() as Rollup;
      expect(r.participation.find((p) => p.village === g.b)).toEqual(expect.objectContaining({ villagers: 0, awarded: 0, rate: 0 }));
    } finally {
      await status('active');
    }
  });

  it('the town sees every village: points per month, most-used items, participation and sales', async () => {
    const res = await g.call(g.town, 'GET', '/api/town/rollup');
    expect(res.statusCode).toBe(200);
    const r = res.json() as Rollup;
    expect(r.villages).toEqual(expect.arrayContaining([g.a, g.b]));
    expect(r.period.to).toBe(thisMonth);
    const a = r.months.find((m) => m.village === g.a && m.month === thisMonth);
    // awards: 2 (sweep) + 3 (formula item) + 2 (meeting, later reversed); penalty 5 (materials in the lane); redeemed 10
    expect(a).toMatchObject({ issued: 7, deducted: 6, awards: 3, villagers_awarded: 1, redeemed: 10, adjusted: -2 });
    expect(r.months.find((m) => m.village === g.b)).toMatchObject({ issued: 2, awards: 1, villagers_awarded: 1, redeemed: 0 });
    expect(r.participation.find((p) => p.village === g.a)).toEqual(expect.objectContaining({ villagers: 3, awarded: 1, rate: 0.3333 }));
    expect(r.participation.find((p) => p.village === g.b)).toEqual(expect.objectContaining({ villagers: 1, awarded: 1, rate: 1 }));
    const itemsOfA = r.items.filter((i) => i.village === g.a);
    expect(itemsOfA.map((i) => i.code).sort()).toEqual(['A-FORMULA', 'DED-MATERIALS-LANE', 'ENV-SWEEP-LANE']);
    expect(itemsOfA.find((i) => i.code === 'ENV-SWEEP-LANE')).toMatchObject({ name: '清扫街巷', approvals: 1, points: 2 });
    // Sales: settled shopping sessions only (not the cancelled one, the restock, or a malformed row).
    expect(r.sales).toEqual([{ village: g.a, village_name: '村', sku: 'salt', name: '食盐', count: 2, points: 10, sessions: 1 }]);
    // One village of the town's choosing.
    const onlyB = (await g.call(g.town, 'GET', `/api/town/rollup?village=${g.b}`)).json() as Rollup;
    expect(onlyB.villages).toEqual([g.b]);
    expect(onlyB.months.every((m) => m.village === g.b)).toBe(true);
    expect((await g.call(g.town, 'GET', '/api/town/rollup?village=nowhere')).statusCode).toBe(404);
  });

  it('a village sees its own roll-up only; the town-wide one is the town’s', async () => {
    const own = await g.call(g.va, 'GET', `/api/villages/${g.a}/rollup`);
    expect(own.statusCode).toBe(200);
    const r = own.json() as Rollup;
    expect(r.villages).toEqual([g.a]);
    expect(JSON.stringify(r)).not.toContain(g.b);
    const town = await g.call(g.va, 'GET', '/api/town/rollup');
    expect(town.statusCode).toBe(403);
    expect(town.json()).toMatchObject({ field: 'role', zh: expect.stringContaining('镇级') });
    expect((await g.call(g.va, 'GET', `/api/town/rollup.csv?table=months`)).statusCode).toBe(403);
    expect((await g.call(g.va, 'GET', `/api/villages/${g.b}/rollup`)).statusCode).toBe(404);
    expect((await g.call(g.va, 'GET', `/api/villages/${g.b}/rollup.csv?table=sales`)).statusCode).toBe(404);
    expect((await g.call(undefined, 'GET', `/api/villages/${g.a}/rollup`)).statusCode).toBe(401);
    // A villager has the phone page, not the roll-up.
    const li = await g.villager(g.a, 'li2');
    expect((await g.call(li, 'GET', `/api/villages/${g.a}/rollup`)).statusCode).toBe(403);
    expect((await g.call(g.town, 'GET', `/api/villages/${g.a}/rollup`)).json()).toMatchObject({ villages: [g.a] });
  });

  it('exports CSV for Excel: UTF-8 BOM, bilingual headers, CRLF, formulas defused', async () => {
    const res = await g.call(g.town, 'GET', '/api/town/rollup.csv?table=items');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="town-items-\d{4}-\d{2}_\d{4}-\d{2}\.csv"$/);
    const bytes = res.rawPayload;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('村 village,村名 village name,范围 scope,编号 code,细则 item,加减 direction,次数 approvals,积分 points');
    // the village by code and name; scope and direction in Chinese (the JSON keeps town/village, add/deduct)
    expect(text).toContain(`${g.a},村,镇级,ENV-SWEEP-LANE,清扫街巷,加分,1,2`);
    expect(text).toContain(`${g.a},村,镇级,DED-MATERIALS-LANE,`);
    expect(text).toMatch(/,DED-MATERIALS-LANE,[^,\r\n]+,扣分,1,-?6\r\n/);
    // A name beginning with "=" would be a formula in Excel: it is written as text.
    expect(text).toContain(`${g.a},村,村级,A-FORMULA,'=1+2 门前三包,加分,1,3`);
    const sales = (await g.call(g.va, 'GET', `/api/villages/${g.a}/rollup.csv?table=sales`)).rawPayload.subarray(3).toString('utf8');
    expect(sales.split('\r\n').slice(0, 2)).toEqual(['村 village,村名 village name,商品编号 sku,商品 product,件数 count,积分 points,购买次数 sessions', `${g.a},村,salt,食盐,2,10,1`]);
    const part = (await g.call(g.town, 'GET', `/api/town/rollup.csv?table=participation&village=${g.a}`)).rawPayload.subarray(3).toString('utf8');
    // li2 joined in the test before: 4 villagers, 1 awarded.
    expect(part.split('\r\n')[1]).toBe(`${g.a},村,4,1,0.25`);
    for (const t of ['months', 'participation', 'sales', 'items']) expect((await g.call(g.town, 'GET', `/api/town/rollup.csv?table=${t}`)).statusCode).toBe(200);
  });

  it('refuses a bad period or table on the field at fault', async () => {
    for (const [q, field] of [['from=2026-13', 'from'], ['to=26-01', 'to'], ['from=2026-05&to=2026-01', 'from'], ['from=2000-01&to=2026-01', 'from'], ['from=0999-01&to=0999-02', 'from'], ['to=0999-02', 'to'], ['from=0000-01&to=1000-01', 'from']] as const) {
      const res = await g.call(g.town, 'GET', `/api/town/rollup?${q}`);
      expect({ q, status: res.statusCode, field: (res.json() as { field?: string }).field }).toEqual({ q, status: 400, field });
      expect((res.json() as { zh: string }).zh).toMatch(/月份|区间/);
    }
    const t = await g.call(g.town, 'GET', '/api/town/rollup.csv?table=bogus');
    expect(t.statusCode).toBe(400);
    expect(t.json()).toMatchObject({ field: 'table' });
    expect((await g.call(g.town, 'GET', '/api/town/rollup.csv')).json()).toMatchObject({ field: 'table' });
  });

  it('counts months in village time (UTC+8) and only the months asked for', async () => {
    // 17:30 UTC on 31 October is 01:30 on 1 November in the village.
    const late = '2025-10-31T17:30:00.000Z';
    await applyStoreRows(g.db, g.a, 'st1', [{ id: 'st1:7', seq: 7, topic: 'entry', payload: { id: 'redemption:old', villager: 'zhang', kind: 'redemption', points: -4, created_at: late }, created_at: late }], signer, new Date());
    const r = (await g.call(g.town, 'GET', '/api/town/rollup?from=2025-10&to=2025-11')).json() as Rollup;
    expect(r.months).toEqual([expect.objectContaining({ village: g.a, month: '2025-11', redeemed: 4 })]);
    const oct = (await g.call(g.town, 'GET', '/api/town/rollup?from=2025-10&to=2025-10')).json() as Rollup;
    expect(oct.months).toEqual([]);
  });
});

describe(`sales roll-up product names (${ledgerDbKind})`, () => {
  let g: GovApp;
  const signer = { key: privateEd25519('k1', newKeyPair().privatePem), lifetimeMs: 60_000 };
  const product = { price: 5, unit_g: 500, tolerance_g: 10, active: true };
  beforeAll(async () => {
    g = await govApp();
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms);
    const row = (seq: number, topic: Row['topic'], payload: Row['payload'], t: Date): Row => ({ id: `st1:${seq}`, seq, topic, payload, created_at: t.toISOString() });
    const bought = (seq: number, sku: string, t: Date) => row(seq, 'session', { id: `s${seq}`, kind: 'shopping', villager: 'zhang', total_points: 10, lines: [{ sku, count: 2, points: 10 }], opened_at: t.toISOString(), closed_at: t.toISOString() }, t);
    await g.villager(g.a, 'zhang');
    // An hour ago the store's maintainer named the salt 盐 on the admin page; then the village renamed it in its catalogue.
    await applyStoreRows(g.db, g.a, 'st1', [row(1, 'product', { op: 'upsert', sku: 'salt', name: '盐', price: 5 }, at(-3_600_000)), bought(2, 'salt', at(-3_000_000))], signer, at(-3_000_000));
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/products/salt`, { name: '加碘食盐（500克）', ...product })).statusCode).toBe(200);
    // The village published the soap; a minute later the store renamed it on its admin page: the store's later change stands.
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/products/soap`, { name: '香皂', ...product })).statusCode).toBe(200);
    await applyStoreRows(g.db, g.a, 'st1', [row(3, 'product', { op: 'upsert', sku: 'soap', name: '硫磺皂', price: 5 }, at(60_000)), bought(4, 'soap', at(60_000))], signer, at(60_000));
  });
  afterAll(async () => {
    await g.close();
  });

  it('names each product by its latest name, the village catalogue’s or a store’s, whichever is newer', async () => {
    const r = (await g.call(g.va, 'GET', `/api/villages/${g.a}/rollup`)).json() as Rollup;
    expect(r.sales.map((s) => [s.sku, s.name, s.count]).sort()).toEqual([['salt', '加碘食盐（500克）', 2], ['soap', '硫磺皂', 2]]);
  });
});

describe(`sales roll-up: a store's rename made offline counts from its own time (${ledgerDbKind})`, () => {
  let g: GovApp;
  const signer = { key: privateEd25519('k1', newKeyPair().privatePem), lifetimeMs: 60_000 };
  const product = { price: 5, unit_g: 500, tolerance_g: 10, active: true };
  const DAY = 86_400_000;
  beforeAll(async () => {
    g = await govApp();
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms);
    const row = (store: string, seq: number, topic: Row['topic'], payload: Row['payload'], t: Date): Row => ({ id: `${store}:${seq}`, seq, topic, payload, created_at: t.toISOString() });
    const rename = (store: string, seq: number, sku: string, name: string, t: Date) => row(store, seq, 'product', { op: 'upsert', sku, name, price: 5 }, t);
    const bought = (store: string, seq: number, sku: string) => row(store, seq, 'session', { id: `${store}-s${seq}`, kind: 'shopping', villager: 'zhang', total_points: 10, lines: [{ sku, count: 1, points: 10 }], opened_at: at(0).toISOString(), closed_at: at(0).toISOString() }, at(0));
    await g.villager(g.a, 'zhang');
    // Rice: st2's clock ran two days fast when its maintainer renamed it; the row arrived a minute
    // ago and the village published the rice since: its stamp is beyond the allowed skew, so it
    // counts from its receipt, before the village's name.
    await applyStoreRows(g.db, g.a, 'st2', [rename('st2', 1, 'rice', '大米（钟快）', at(2 * DAY)), bought('st2', 2, 'rice')], signer, at(-60_000));
    // Oil: st1 was offline three days; its maintainer renamed the oil on the first of them. The
    // village has since published the oil under its own name; the store's rename arrives a minute from now.
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/products/oil`, { name: '菜籽油（村）', ...product })).statusCode).toBe(200);
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/products/rice`, { name: '大米（村）', ...product })).statusCode).toBe(200);
    // Flour: renamed at st1 two days ago (offline) and at st3 yesterday; st3's row arrived first.
    await applyStoreRows(g.db, g.a, 'st3', [rename('st3', 1, 'flour', '面粉（昨天）', at(-DAY)), bought('st3', 2, 'flour')], signer, at(0));
    await applyStoreRows(g.db, g.a, 'st1', [rename('st1', 1, 'oil', '花生油（离线）', at(-3 * DAY)), rename('st1', 2, 'flour', '面粉（前天）', at(-2 * DAY)), bought('st1', 3, 'oil')], signer, at(60_000));
  });
  afterAll(async () => {
    await g.close();
  });

  it('names each product by the latest change by when it was made, not when it arrived; a stamp beyond the clock skew by its arrival', async () => {
    const r = (await g.call(g.va, 'GET', `/api/villages/${g.a}/rollup`)).json() as Rollup;
    expect(r.sales.map((s) => [s.sku, s.name]).sort()).toEqual([['flour', '面粉（昨天）'], ['oil', '菜籽油（村）'], ['rice', '大米（村）']]);
  });
});
