/**
 * Direct entries (`POST …/entries`) are the village's machines' route (scripts, the demo's
 * village office): a staff account signed in files a record for approval instead (403 here);
 * what a machine posts is capped as a rule item is, may not take an id of the ids the ledger and
 * the stores make themselves (`gov:…`, `…:reversal`, `redemption:…`, `…#debt…`, …) and is a step
 * of the audit log. A villager's record changed (added, renamed, blocked) is audited too, and
 * every audit step made signed in names the account (`by`). On SQLite, and on PostgreSQL with
 * DATABASE_URL set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type Caller, type GovApp, type StaffSession } from './gov-app.ts';

type Event = { subject: string; action: string; actor: string; detail: Record<string, unknown> };

describe(`direct entries are the machines' route, capped, in no reserved namespace, audited (${ledgerDbKind})`, () => {
  let g: GovApp;
  let clerk: StaffSession;
  let chief: StaffSession;
  beforeAll(async () => {
    g = await govApp();
    clerk = await g.staff('clerk-a', g.a);
    chief = await g.staff('chief-a', g.a);
    await g.villager(g.a, 'nephew');
  });
  afterAll(async () => {
    await g.close();
  });
  const events = async (village = g.a): Promise<Event[]> => ((await g.call(g.town, 'GET', `/api/villages/${village}/audit?limit=1000`)).json() as { events: Event[] }).events;
  const entry = (who: Caller, body: Record<string, unknown>) => g.call(who, 'POST', `/api/villages/${g.a}/entries`, { villager: 'nephew', kind: 'award', reason: '志愿服务', ...body });
  const balance = async (id: string) => (await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/${id}`)).json<{ balance: number }>().balance;

  it('a staff account signed in gets 403 (both languages, pointing to the record form) and nothing is written', async () => {
    const before = await balance('nephew');
    const r = await entry(clerk, { id: 'x-nephew-1', points: 5000 });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ error: 'FORBIDDEN', field: 'role', message: expect.stringContaining('/village'), zh: expect.stringContaining('登记') });
    expect(await balance('nephew')).toBe(before);
    expect(await g.db.query('SELECT id FROM entries WHERE id = $1', ['x-nephew-1'])).toEqual([]);
  });

  it('ids the ledger and the stores make are refused on `id` (400, both languages); a pending record keeps its entry id', async () => {
    const record = (await g.call(clerk, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'nephew' })).json() as { id: string };
    for (const id of [`gov:${record.id}`, `gov:${record.id}:reversal`, 'road-1:reversal', 'redemption:s1', 'refund:s1:r1', 'review:s1:7', 'cli:0f1e', 'aw-1#debt@store-1', 'aw-1#debt', 'debt#0a1b2c']) {
      const r = await entry(g.va, { id, points: 5, reason: '冲正：审核有误' });
      expect({ id, status: r.statusCode, body: r.json() }).toMatchObject({ id, status: 400, body: { error: 'INVALID_ARGUMENT', field: 'id', message: expect.stringContaining(id), zh: expect.stringContaining(id) } });
    }
    expect(await balance('nephew')).toBe(0);
    const ok = await g.call(chief, 'POST', `/api/villages/${g.a}/claims/${record.id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ entry: { id: `gov:${record.id}` } });
  });

  it('points beyond a rule item\'s bound (10,000) are refused on `points`; the bound itself is taken', async () => {
    for (const [kind, points] of [['award', 10_001], ['award', 1_000_000], ['penalty', -10_001]] as const) {
      const r = await entry(g.va, { id: `big-${points}`, kind, points });
      expect({ points, status: r.statusCode, body: r.json() }).toMatchObject({ points, status: 400, body: { field: 'points', message: expect.stringContaining('10000'), zh: expect.stringContaining('10000') } });
    }
    expect((await entry(g.va, { id: 'big-ok', points: 10_000 })).statusCode).toBe(201);
  });

  it('a direct entry is a step of the audit log (once, retries not again; a refused one not at all)', async () => {
    expect((await entry(g.va, { id: 'road-7', points: 12, reason: '打扫村道' })).statusCode).toBe(201);
    expect((await entry(g.va, { id: 'road-7', points: 12, reason: '打扫村道' })).statusCode).toBe(200);
    expect((await entry(g.va, { id: 'road-7', points: 13, reason: '打扫村道' })).statusCode).toBe(409);
    const steps = (await events()).filter((e) => e.action === 'entry.direct' && e.detail.entry === 'road-7');
    expect(steps).toEqual([{ subject: 'villager:nephew', action: 'entry.direct', actor: `village:${g.a}`, detail: { entry: 'road-7', kind: 'award', points: 12, reason: '打扫村道' }, at: expect.any(String), seq: expect.any(Number) }]);
  });

  it('a villager added, renamed, blocked (by the record or a command) and unblocked is audited, with `by` when signed in; the same record again is no step', async () => {
    const put = (who: Caller, body: Record<string, unknown>) => g.call(who, 'PUT', `/api/villages/${g.a}/villagers/cousin`, body);
    expect((await put(clerk, { name: '表哥' })).statusCode).toBe(200);
    expect((await put(clerk, { name: '表哥' })).statusCode).toBe(200);
    expect((await put(clerk, { name: '王表哥' })).statusCode).toBe(200);
    expect((await put(g.va, { name: '王表哥', status: 'blocked' })).statusCode).toBe(200);
    expect((await g.call(clerk, 'POST', `/api/villages/${g.a}/commands`, { command: 'unblock', villager: 'cousin' })).statusCode).toBe(200);
    expect((await g.call(chief, 'POST', `/api/villages/${g.a}/commands`, { command: 'block', villager: 'cousin' })).statusCode).toBe(200);
    const steps = (await events()).filter((e) => e.subject === 'villager:cousin').reverse().map((e) => [e.action, e.actor, e.detail]);
    const actor = `village:${g.a}`;
    expect(steps).toEqual([
      ['villager.add', actor, { name: '表哥', status: 'active', by: 'clerk-a' }],
      ['villager.change', actor, { name: { from: '表哥', to: '王表哥' }, by: 'clerk-a' }],
      ['villager.change', actor, { status: { from: 'active', to: 'blocked' } }],
      ['villager.change', actor, { status: { from: 'blocked', to: 'active' }, command: 'unblock', by: 'clerk-a' }],
      ['villager.change', actor, { status: { from: 'active', to: 'blocked' }, command: 'block', by: 'chief-a' }],
    ]);
  });

  it('every audit step made signed in names the account as `by` (PIN set, reject, reverse, tasks, login codes, items, board)', async () => {
    expect((await g.call(clerk, 'PUT', `/api/villages/${g.a}/villagers/nephew/pin`, { pin: '1357' })).statusCode).toBe(200);
    const rec = async () => (await g.call(clerk, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'nephew' })).json() as { id: string };
    const toReject = await rec();
    expect((await g.call(chief, 'POST', `/api/villages/${g.a}/claims/${toReject.id}/reject`, { reason: '没有参加' })).statusCode).toBe(200);
    const toReverse = await rec();
    expect((await g.call(chief, 'POST', `/api/villages/${g.a}/claims/${toReverse.id}/approve`, {})).statusCode).toBe(200);
    expect((await g.call(clerk, 'POST', `/api/villages/${g.a}/claims/${toReverse.id}/reverse`, { reason: '审核有误' })).statusCode).toBe(200);
    const task = await g.call(clerk, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫村道', item: 'GOV-MEETING', max_claimants: 3 });
    expect(task.statusCode, task.body).toBe(201);
    const taskId = (task.json() as { id: string }).id;
    expect((await g.call(chief, 'POST', `/api/villages/${g.a}/tasks/${taskId}/close`, {})).statusCode).toBe(200);
    expect((await g.call(clerk, 'POST', `/api/villages/${g.a}/villagers/nephew/login-codes`, {})).statusCode).toBe(201);
    const item = { name: '帮扶孤寡老人', category: 'other', direction: 'add', points_min: 3, points_max: 3, evidence: 'none' };
    expect((await g.call(clerk, 'POST', `/api/villages/${g.a}/items`, { code: 'V-HELP', ...item })).statusCode).toBe(201);
    expect((await g.call(chief, 'POST', `/api/villages/${g.a}/items/V-HELP/retire`, {})).statusCode).toBe(200);
    expect((await g.call(clerk, 'PUT', `/api/villages/${g.a}/board`, { red_list_size: 5 })).statusCode).toBe(200);
    expect((await g.call(clerk, 'PUT', `/api/villages/${g.a}/villagers/nephew/board`, { named: false })).statusCode).toBe(200);
    const byOf = async (action: string, village = g.a) => (await events(village)).find((e) => e.action === action)?.detail.by;
    expect({
      'pin.set': await byOf('pin.set'), reject: await byOf('reject'), reverse: await byOf('reverse'), 'task.publish': await byOf('task.publish'), 'task.close': await byOf('task.close'),
      'login-code.issue': await byOf('login-code.issue'), 'item.add': await byOf('item.add'), 'item.retire': await byOf('item.retire'), 'board.settings': await byOf('board.settings'), 'board.villager': await byOf('board.villager'),
    }).toEqual({
      'pin.set': 'clerk-a', reject: 'chief-a', reverse: 'clerk-a', 'task.publish': 'clerk-a', 'task.close': 'chief-a',
      'login-code.issue': 'clerk-a', 'item.add': 'clerk-a', 'item.retire': 'chief-a', 'board.settings': 'clerk-a', 'board.villager': 'clerk-a',
    });
    // the town's own steps: a town account signed in is named too; its token is nobody
    const townClerk = await g.staff('town-clerk');
    expect((await g.call(townClerk, 'POST', '/api/town/items', { code: 'T-HELP', ...item })).statusCode).toBe(201);
    const town = ((await g.call(g.town, 'GET', '/api/town/audit?limit=1000')).json() as { events: Event[] }).events;
    expect(town.find((e) => e.subject === 'item:T-HELP')).toMatchObject({ action: 'item.add', actor: 'town', detail: { by: 'town-clerk' } });
    // a machine's token names no account
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/nephew/pin`, { pin: '2468' })).statusCode).toBe(200);
    expect((await events()).find((e) => e.action === 'pin.set')?.detail).toEqual({});
  });
});
