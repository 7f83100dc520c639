/**
 * A refusal of the caller's role: it fits the request (a read is not told it may not change),
 * and is 403 `FORBIDDEN` on the governance routes as on the plain ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`refusals of a role (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
  });
  afterAll(async () => {
    await g.close();
  });
  const refusal = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, who?: string) => {
    const r = await g.call(who ?? g.va, method, url, payload);
    return { status: r.statusCode, ...(r.json() as Record<string, unknown>) } as Record<string, unknown>;
  };

  it('the town\'s audit log refused to a village says it is the town\'s to read', async () => {
    expect(await refusal('GET', '/api/town/audit')).toEqual({ status: 403, error: 'FORBIDDEN', field: 'role', message: 'only the town reads the town\'s audit log', zh: '只有镇级账号可以查看全镇的操作记录' });
    // a write of the town's items still says it is the town's to change
    expect(await refusal('POST', '/api/town/items/ENV-SWEEP-LANE/retire')).toMatchObject({ status: 403, error: 'FORBIDDEN', zh: '只有镇级账号可以修改全镇积分细则' });
  });

  it('every role refused by a governance route answers 403 FORBIDDEN, as the plain routes do', async () => {
    const report = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'zhang' })).json() as { id: string };
    const refused: [string, 'GET' | 'POST' | 'PUT', string, unknown, string][] = [
      ['the town approves', 'POST', `/api/villages/${g.a}/claims/${report.id}/approve`, {}, g.town],
      ['the town files a report', 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'zhang' }, g.town],
      ['a villager approves', 'POST', `/api/villages/${g.a}/claims/${report.id}/approve`, {}, zhang],
      ['a villager reports for another', 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'li' }, zhang],
      ['a village reads the town roll-up', 'GET', '/api/town/rollup', undefined, g.va],
      ['a village retires a town item', 'POST', '/api/town/items/ENV-SWEEP-LANE/retire', undefined, g.va],
      ['a villager reads the village\'s audit log', 'GET', `/api/villages/${g.a}/audit`, undefined, zhang],
      ['the town writes a villager (plain route)', 'PUT', `/api/villages/${g.a}/villagers/zhang`, { name: '张三' }, g.town],
    ];
    for (const [what, method, url, body, who] of refused) {
      const r = await refusal(method, url, body, who);
      expect({ what, status: r.status, error: r.error }).toEqual({ what, status: 403, error: 'FORBIDDEN' });
    }
  });
});
