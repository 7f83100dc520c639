/**
 * The town's roll-up and the village's public board count the same things: points issued for
 * deeds (approved claims of the item library or a task) and participation (villagers with one of
 * them), never opening points (开户积分) or other awards with no claim. The tester's repro: of
 * three villagers, a1 got only opening points and a2 one approved 拾金不昧.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind, uid } from '../../harness/sync/rig.ts';
import { monthOf } from '../../cloud-sync/ledger/governance/rollup.ts';
import { computeBoard } from '../../cloud-sync/ledger/board/compute.ts';
import { govApp, type GovApp, type StaffSession } from './gov-app.ts';

interface Rollup {
  months: { village: string; village_name: string; month: string; issued: number; other_awards: number; awards: number; villagers_awarded: number }[];
  participation: { village: string; name: string; villagers: number; awarded: number; rate: number }[];
}

describe(`roll-up and board agree on issued and participation (${ledgerDbKind})`, () => {
  let g: GovApp;
  let staff: StaffSession;
  const v = uid('qianjin');
  const month = monthOf(new Date());
  let deedPoints = 0;

  beforeAll(async () => {
    // village a is this test's own village (its token the village's machine, which posts the opening points)
    g = await govApp({ village: v });
    expect((await g.call(g.town, 'POST', '/api/villages', { id: v, name: '前进村' })).statusCode).toBe(201);
    staff = await g.staff(uid('acct'), v);
    for (const id of ['a1', 'a2', 'a3']) expect((await g.call(staff, 'PUT', `/api/villages/${v}/villagers/${id}`, { name: `村民${id}` })).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${v}/entries`, { id: 'open-a1', villager: 'a1', kind: 'award', points: 50, reason: '开户积分' })).statusCode).toBeLessThan(300);
    const r = await g.call(staff, 'POST', `/api/villages/${v}/reports`, { item: 'CIV-GOOD-DEED', villager: 'a2', evidence: 'witness:村长' });
    expect(r.statusCode, r.body).toBe(201);
    const ok = await g.call(staff, 'POST', `/api/villages/${v}/claims/${(r.json() as { id: string }).id}/approve`, { points: 10 });
    expect(ok.statusCode, ok.body).toBe(200);
    deedPoints = (await g.call(staff, 'GET', `/api/villages/${v}/rollup`)).json<{ items: { points: number }[] }>().items.reduce((n, i) => n + i.points, 0);
    expect(deedPoints).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await g.close();
  });

  it('participation is 1 of 3 in the roll-up (JSON and CSV) as on the board: opening points are not participation', async () => {
    const r = (await g.call(g.town, 'GET', `/api/town/rollup?village=${v}`)).json() as Rollup;
    const board = await computeBoard(g.db, v, new Date());
    expect(r.participation).toEqual([{ village: v, name: '前进村', villagers: 3, awarded: 1, rate: 0.3333 }]);
    expect({ awarded: r.participation[0]!.awarded, villagers: r.participation[0]!.villagers }).toEqual({ awarded: board.totals!.participants, villagers: board.totals!.villagers });
    const csv = (await g.call(g.town, 'GET', `/api/town/rollup.csv?table=participation&village=${v}`)).rawPayload.subarray(3).toString('utf8');
    expect(csv.split('\r\n')[1]).toBe(`${v},前进村,3,1,0.3333`);
  });

  it('issued is the points for deeds, as on the board; the opening points are other awards', async () => {
    const r = (await g.call(staff, 'GET', `/api/villages/${v}/rollup`)).json() as Rollup;
    const board = await computeBoard(g.db, v, new Date());
    expect(r.months).toEqual([expect.objectContaining({ village: v, village_name: '前进村', month, issued: deedPoints, other_awards: 50, awards: 1, villagers_awarded: 1 })]);
    expect(board.totals!.issued).toBe(r.months[0]!.issued);
    const csv = (await g.call(staff, 'GET', `/api/villages/${v}/rollup.csv?table=months`)).rawPayload.subarray(3).toString('utf8').split('\r\n');
    expect(csv[0]).toBe('村 village,村名 village name,月份 month,发放积分 issued,其他发放（开户等） other awards,扣减积分 deducted,兑换积分 redeemed,退回积分 refunded,调整积分 adjusted,奖励笔数 awards,获奖励人数 villagers awarded,补录笔数 late entries,补录积分 late points');
    expect(csv[1]).toBe(`${v},前进村,${month},${deedPoints},50,0,0,0,0,1,1,0,0`);
  });
});
