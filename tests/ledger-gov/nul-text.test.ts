/**
 * A NUL character (U+0000) in the free text the ledger keeps (an award's reason, a task's title,
 * a report's note or evidence, a decision's reason): PostgreSQL's TEXT cannot hold it (it was a
 * 500), SQLite stored it and signed it into the village stream. Both refuse it with a bilingual
 * 400 naming the field, and nothing is kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`NUL in the ledger's free text (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/nul1`, { name: '赵一' })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await g.close();
  });

  const refusedOn = (r: LightMyRequestResponse, field: string) => {
    expect({ status: r.statusCode, body: r.json() as unknown }).toMatchObject({
      status: 400,
      body: { error: 'INVALID_ARGUMENT', field, message: expect.stringContaining('NUL'), zh: expect.stringContaining('空字符') },
    });
  };
  const count = async (table: string) => Number((await g.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table} WHERE village = $1`, [g.a]))[0]!.n);

  it("an award's reason: 400 on reason, no entry and nothing in the stream", async () => {
    const events = await count('events');
    refusedOn(await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'nul-aw', villager: 'nul1', kind: 'award', points: 5, reason: '义务\u0000劳动' }), 'reason');
    expect(await g.db.query('SELECT id FROM entries WHERE id = $1', ['nul-aw'])).toEqual([]);
    expect(await count('events')).toBe(events);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'nul-aw', villager: 'nul1', kind: 'award', points: 5, reason: '义务劳动' })).statusCode).toBe(201);
  });

  it("a task's title: 400 on title, no task", async () => {
    const tasks = await count('gov_tasks');
    refusedOn(await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫\u0000村道', item: 'SAF-FLOOD', points: 10, max_claimants: 2 }), 'title');
    expect(await count('gov_tasks')).toBe(tasks);
  });

  it("a report's note or evidence, by the village or by the villager: 400 on the field, no claim", async () => {
    const claims = await count('gov_claims');
    refusedOn(await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'SAF-FLOOD', villager: 'nul1', points: 10, evidence: 'witness:王支书', note: '抢\u0000险' }), 'note');
    refusedOn(await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'SAF-FLOOD', villager: 'nul1', points: 10, evidence: 'witness:王\u0000支书' }), 'evidence');
    const me = await g.villager(g.a, 'nul2');
    refusedOn(await g.call(me, 'POST', `/api/villages/${g.a}/reports`, { item: 'CIV-GOOD-DEED', points: 5, evidence: 'witness:邻居', note: '帮\u0000忙' }), 'note');
    expect(await count('gov_claims')).toBe(claims);
    // a claimed task reported done
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '村民会议', item: 'GOV-MEETING', max_claimants: 2 })).json() as { id: string };
    const claim = (await g.call(me, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).json() as { id: string };
    refusedOn(await g.call(me, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { note: '到\u0000会' }), 'note');
    expect((await g.db.query<{ status: string }>('SELECT status FROM gov_claims WHERE id = $1', [claim.id]))[0]!.status).toBe('claimed');
  });

  it("a rejection's or a reversal's reason: 400 on reason, the claim as it was", async () => {
    const filed = async () => (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'SAF-FLOOD', villager: 'nul1', points: 10, evidence: 'witness:王支书' })).json() as { id: string };
    const statusOf = async (id: string) => (await g.db.query<{ status: string }>('SELECT status FROM gov_claims WHERE id = $1', [id]))[0]!.status;
    const rejected = await filed();
    refusedOn(await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${rejected.id}/reject`, { reason: '不\u0000对' }), 'reason');
    expect(await statusOf(rejected.id)).toBe('reported');
    const reversed = await filed();
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${reversed.id}/approve`, {})).statusCode).toBe(200);
    refusedOn(await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${reversed.id}/reverse`, { reason: '误\u0000报' }), 'reason');
    expect(await statusOf(reversed.id)).toBe('approved');
  });
});
