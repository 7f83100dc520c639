/**
 * What a refusal of bad input says: a schema error names its field and what it may be (the
 * values allowed, the limit) once, in both languages, never the schema's path or one line per
 * value of a list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`refusals say what is wrong (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
    await g.villager(g.a, 'zhang');
  });
  afterAll(async () => {
    await g.close();
  });
  const refusal = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, who?: string) => {
    const r = await g.call(who ?? g.va, method, url, payload);
    return { status: r.statusCode, ...(r.json() as Record<string, unknown>) } as Record<string, unknown>;
  };

  it('a value outside a list names the field and every value allowed, once, in both languages', async () => {
    const cases: [string, 'GET' | 'PUT', string, unknown, string, string, string][] = [
      ['claims', 'GET', `/api/villages/${g.a}/claims?status=bogus`, undefined, 'status', 'status must be one of: claimed, reported, approved, rejected, reversed', '状态须为 claimed、reported、approved、rejected、reversed 之一'],
      ['csv', 'GET', `/api/villages/${g.a}/rollup.csv?table=bogus`, undefined, 'table', 'table must be one of: months, items, participation, sales', '表格须为 months、items、participation、sales 之一'],
      ['villagers', 'GET', `/api/villages/${g.a}/villagers?status=bogus`, undefined, 'status', 'status must be one of: active, blocked, left', '状态须为 active、blocked、left 之一'],
      ['villager', 'PUT', `/api/villages/${g.a}/villagers/zhang`, { name: '张三', status: 'gone' }, 'status', 'status must be one of: active, blocked, left', '状态须为 active、blocked、left 之一'],
    ];
    for (const [what, method, url, body, field, message, zh] of cases) {
      expect({ what, ...(await refusal(method, url, body)) }).toEqual({ what, status: 400, error: 'INVALID_ARGUMENT', field, message, zh });
    }
    const csv = await refusal('GET', '/api/town/rollup.csv?table=bogus', undefined, g.town);
    expect(csv).toMatchObject({ status: 400, field: 'table', message: 'table must be one of: months, items, participation, sales' });
  });

  it('a task form out of bounds names the field and its limit, not the schema\'s path', async () => {
    const url = `/api/villages/${g.a}/tasks`;
    const task = { title: '扫地', item: 'VOL-SERVICE', points: 3, max_claimants: 1 };
    expect(await refusal('POST', url, { ...task, max_claimants: 0 })).toEqual({ status: 400, error: 'INVALID_ARGUMENT', field: 'max_claimants', message: 'max_claimants must be at least 1', zh: '认领人数上限不能小于 1' });
    expect(await refusal('POST', url, { ...task, max_claimants: 10_001 })).toMatchObject({ field: 'max_claimants', message: 'max_claimants must be at most 10000', zh: '认领人数上限不能大于 10000' });
    expect(await refusal('POST', url, { ...task, max_claimants: 'two' })).toMatchObject({ field: 'max_claimants', message: 'max_claimants must be a whole number', zh: '认领人数上限须为整数' });
    expect(await refusal('POST', url, { ...task, title: '长'.repeat(201) })).toMatchObject({ field: 'title', message: 'title must be at most 200 characters', zh: '标题不能超过 200 个字符' });
    expect(await refusal('POST', url, { ...task, title: '' })).toMatchObject({ field: 'title', message: 'title must not be empty', zh: '标题不能为空' });
    const { max_claimants: _, ...without } = task;
    expect(await refusal('POST', url, without)).toMatchObject({ field: 'max_claimants', message: 'max_claimants is required', zh: '缺少字段：认领人数上限' });
  });
});
