/** The rule library: the default items, versions on every change, and awards keeping their version. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { ensureDefaultItems, loadDefaultItems, localDate, periodStart } from '../../cloud-sync/ledger/governance/rules.ts';
import { govApp, type GovApp } from './gov-app.ts';

const item = (code: string, over: Record<string, unknown> = {}) => ({ code, name: '护村河巡查', category: 'safety', direction: 'add', points_min: 3, points_max: 3, evidence: 'none', ...over });

describe(`governance rule library (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
  });
  afterAll(async () => {
    await g.close();
  });

  it('ships a realistic default library as the town items, loaded once', async () => {
    const defaults = loadDefaultItems();
    expect(defaults.length).toBeGreaterThanOrEqual(40);
    const names = defaults.map((i) => i.name).join(' ');
    for (const n of ['说法评理', '清扫街巷', '垃圾分类', '志愿服务', '防汛', '建筑材料乱堆占道']) expect(names).toContain(n);
    expect(new Set(defaults.map((i) => i.code)).size).toBe(defaults.length);
    expect(defaults.filter((i) => i.direction === 'deduct').length).toBeGreaterThanOrEqual(8);
    expect(await ensureDefaultItems(g.db, new Date())).toBe(0);
    const town = (await g.call(g.va, 'GET', '/api/town/items')).json() as { items: { code: string; version: number }[] };
    expect(town.items).toHaveLength(defaults.length);
  });

  it('a village adds, changes and retires its own items; each change is a version; a claim keeps the version it was rated under', async () => {
    const add = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-RIVER'));
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({ scope: g.a, version: 1, retired: false, changed_by: `village:${g.a}` });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-RIVER'))).statusCode).toBe(409);
    // The town's code cannot be taken by a village.
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('ENV-SWEEP-LANE'))).statusCode).toBe(409);
    const zhang = await g.villager(g.a, 'zhang');
    const r1 = (await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'A-RIVER' })).json() as { id: string; item_version: number };
    expect(r1.item_version).toBe(1);
    const { code: _c, ...fields } = item('A-RIVER', { points_min: 4, points_max: 6, name: '护村河巡查（汛期）' });
    const changed = await g.call(g.va, 'PUT', `/api/villages/${g.a}/items/A-RIVER`, fields);
    expect(changed.json()).toMatchObject({ version: 2, points_min: 4, points_max: 6 });
    // Rated under version 1 (3 points fixed) even though version 2 is in force now.
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${r1.id}/approve`, {})).json()).toMatchObject({ entry: { points: 3, reference: 'rule:village/A-RIVER@1' } });
    const r2 = (await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'A-RIVER', points: 5 })).json() as { id: string; item_version: number };
    expect(r2.item_version).toBe(2);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items/A-RIVER/retire`)).json()).toMatchObject({ version: 3, retired: true, points_min: 4 });
    // Retired: no new reports or tasks, but the report already filed is still decided under version 2.
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'A-RIVER', points: 5 })).json()).toMatchObject({ field: 'item', zh: expect.stringContaining('未启用') });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${r2.id}/approve`, {})).json()).toMatchObject({ entry: { points: 5, reference: 'rule:village/A-RIVER@2' } });
    const versions = (await g.call(g.va, 'GET', `/api/villages/${g.a}/items/A-RIVER/versions`)).json() as { versions: { version: number; retired: boolean }[] };
    expect(versions.versions.map((v) => [v.version, v.retired])).toEqual([[1, false], [2, false], [3, true]]);
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/items/A-RIVER`, fields)).statusCode).toBe(409);
    const log = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string }[] };
    expect(log.events.filter((e) => e.subject === 'item:A-RIVER').map((e) => e.action).reverse()).toEqual(['item.add', 'item.change', 'item.retire']);
  });

  it('the town publishes town-wide items; villages see them and cannot change them; a village item of the same code wins in that village', async () => {
    expect((await g.call(g.va, 'POST', '/api/town/items', item('T-PATROL'))).statusCode).toBe(403);
    expect((await g.call(g.town, 'POST', '/api/town/items', item('T-PATROL'))).statusCode).toBe(201);
    for (const [tok, v] of [[g.va, g.a], [g.vb, g.b]] as const) {
      const items = (await g.call(tok, 'GET', `/api/villages/${v}/items`)).json() as { items: { code: string }[] };
      expect(items.items.map((i) => i.code)).toContain('T-PATROL');
    }
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/items/T-PATROL`, { ...item('x'), code: undefined })).statusCode).toBe(404);
    expect((await g.call(g.vb, 'PUT', '/api/town/items/T-PATROL', { ...item('x'), code: undefined })).statusCode).toBe(403);
    const { code: _c, ...fields } = item('T-PATROL', { points_max: 5 });
    expect((await g.call(g.town, 'PUT', '/api/town/items/T-PATROL', fields)).json()).toMatchObject({ version: 2, scope: '*' });
    const log = (await g.call(g.town, 'GET', '/api/town/audit')).json() as { events: { subject: string; action: string; actor: string }[] };
    expect(log.events.filter((e) => e.subject === 'item:T-PATROL').map((e) => [e.action, e.actor]).reverse()).toEqual([['item.add', 'town'], ['item.change', 'town']]);
    expect((await g.call(g.va, 'GET', '/api/town/audit')).statusCode).toBe(403);
    // The town only reads a village: it cannot add an item there.
    expect((await g.call(g.town, 'POST', `/api/villages/${g.a}/items`, item('T-OTHER'))).statusCode).toBe(403);
  });

  it('refuses bad items field by field', async () => {
    const low = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BAD', { points_min: 5, points_max: 2 }));
    expect(low.json()).toMatchObject({ field: 'points_max', zh: expect.any(String) });
    const neg = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BAD', { points_min: -5 }));
    expect(neg.json()).toMatchObject({ field: 'points_min', zh: '分值下限不能小于 1' });
    const cap = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BAD', { cap_count: 2 }));
    expect(cap.json()).toMatchObject({ field: 'cap_period' });
    const cat = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BAD', { category: 'fun' }));
    expect(cat.json()).toMatchObject({ field: 'category' });
    const dates = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BAD', { active_from: '2026-06-01', active_to: '2026-05-01' }));
    expect(dates.json()).toMatchObject({ field: 'active_to' });
    // A day that does not exist is refused on its field, for a new item and for a change.
    for (const [field, day] of [['active_from', '2026-13-45'], ['active_to', '2026-99-99'], ['active_to', '2027-02-29'], ['active_from', '0000-01-01']] as const) {
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BAD', { [field]: day }));
      expect({ day, status: r.statusCode, body: r.json() }).toMatchObject({ day, status: 400, body: { field, zh: expect.stringContaining('不是有效日期') } });
    }
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-LEAP', { active_from: '2028-02-29' }))).statusCode).toBe(201);
    const { code: _code, ...fields } = item('A-LEAP', { active_to: '2028-02-30' });
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/items/A-LEAP`, fields)).json()).toMatchObject({ field: 'active_to' });
    // A name of blanks, for a new item and a change, the village's and the town's; blanks around a name are trimmed.
    const { code: _c2, ...blankFields } = item('A-LEAP', { name: ' \u3000 ' });
    for (const [tok, method, url, body] of [
      [g.va, 'POST', `/api/villages/${g.a}/items`, item('A-BLANK', { name: '   ' })],
      [g.va, 'PUT', `/api/villages/${g.a}/items/A-LEAP`, blankFields],
      [g.town, 'POST', '/api/town/items', item('T-BLANK', { name: '\t' })],
    ] as const) {
      const r = await g.call(tok, method, url, body);
      expect({ url, status: r.statusCode, body: r.json() }).toMatchObject({ url, status: 400, body: { error: 'INVALID_ARGUMENT', field: 'name', message: expect.stringContaining('blank'), zh: '名称不能为空' } });
    }
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-TRIM', { name: ' 护村河巡查 ' }))).json()).toMatchObject({ name: '护村河巡查' });
  });

  it('an item outside its active dates is not in force', async () => {
    const today = localDate(new Date());
    const later = `${Number(today.slice(0, 4)) + 1}-01-01`;
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-LATER', { active_from: later }))).statusCode).toBe(201);
    const t = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '明年的事', item: 'A-LATER', max_claimants: 1 });
    expect(t.statusCode).toBe(400);
    expect(t.json()).toMatchObject({ field: 'item', zh: expect.stringContaining('未启用') });
    // The list a villager picks from (the phone page's) holds only items in force; ?all=true every one.
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-OLD'))).statusCode).toBe(201);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items/A-OLD/retire`)).statusCode).toBe(200);
    const zhou = await g.villager(g.a, 'zhou');
    const listed = async (query = '') => ((await g.call(zhou, 'GET', `/api/villages/${g.a}/items${query}`)).json() as { items: { code: string }[] }).items.map((i) => i.code);
    expect(await listed()).toContain('GOV-MEETING');
    expect(await listed()).not.toContain('A-LATER');
    expect(await listed()).not.toContain('A-OLD');
    expect(await listed('?all=true')).toEqual(expect.arrayContaining(['A-LATER', 'A-OLD', 'GOV-MEETING']));
  });

  it('a task whose item was retired after it was published takes no new claim nor report (400 on item); what was reported is still decided', async () => {
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, item('A-SNOW', { name: '清扫积雪' }))).statusCode).toBe(201);
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫村口积雪', item: 'A-SNOW', max_claimants: 5 })).json() as { id: string };
    const [early, late, fresh] = [await g.villager(g.a, 'snow1'), await g.villager(g.a, 'snow2'), await g.villager(g.a, 'snow3')];
    const claim = async (who: string) => g.call(who, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`);
    const report = async (who: string, id: string) => g.call(who, 'POST', `/api/villages/${g.a}/claims/${id}/report`, {});
    expect((await claim(early)).statusCode).toBe(201);
    expect((await report(early, `${task.id}.snow1`)).statusCode).toBe(200);
    expect((await claim(late)).statusCode).toBe(201);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items/A-SNOW/retire`)).statusCode).toBe(200);
    for (const r of [await claim(fresh), await report(late, `${task.id}.snow2`)]) {
      expect({ status: r.statusCode, body: r.json() }).toMatchObject({ status: 400, body: { error: 'INVALID_ARGUMENT', field: 'item', message: expect.stringContaining('not in force'), zh: expect.stringContaining('未启用') } });
    }
    // claiming again answers the claim made before, as ever; the claim not reported stays claimed (the village may reject it)
    expect((await claim(late)).json()).toMatchObject({ status: 'claimed', duplicate: true });
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${task.id}.snow3`)).statusCode).toBe(404);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${task.id}.snow1/approve`, {})).json()).toMatchObject({ claim: { status: 'approved' }, entry: { points: 3, reference: 'rule:village/A-SNOW@1' } });
  });

  it('cap periods start at local midnight (UTC+8), weeks on Monday', () => {
    // 2026-12-01 is a Tuesday; 23:30 UTC is already Wednesday 07:30 in the village.
    const now = new Date('2026-12-01T23:30:00Z');
    expect(periodStart('day', now).toISOString()).toBe('2026-12-01T16:00:00.000Z');
    expect(periodStart('week', now).toISOString()).toBe('2026-11-29T16:00:00.000Z');
    expect(periodStart('month', now).toISOString()).toBe('2026-11-30T16:00:00.000Z');
    expect(periodStart('year', now).toISOString()).toBe('2025-12-31T16:00:00.000Z');
  });
});
