/**
 * Separation of duties for named bearer tokens (governance/duties.ts): a record a named token
 * files keeps its filer (`token:NAME`, a name no staff account can have), and the same token
 * approving it is refused (403 FORBIDDEN, both languages; the record stays reported); another
 * named token or a staff account approves it (an unnamed one does not:
 * unnamed-token-duties.test.ts), and a named token approves what a staff account filed. An unnamed
 * token approves what it filed (no filer: the documented limit). The audit names the token. On
 * SQLite, and on PostgreSQL with DATABASE_URL set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

type Audit = { events: { subject: string; action: string; actor: string; detail: Record<string, unknown> }[] };
const OFFICE = 'office-secret-a-0001';
const REVIEW = 'review-secret-a-0002';
const OTHER_VILLAGE = 'office-secret-b-0003';

describe(`a named token does not approve the record it filed (${ledgerDbKind})`, () => {
  let g: GovApp;
  let code: string;
  beforeAll(async () => {
    g = await govApp({
      tokens: (a, b) => [
        { token: OFFICE, role: 'village', village: a, name: 'office' },
        { token: REVIEW, role: 'village', village: a, name: 'Review.2' },
        { token: OTHER_VILLAGE, role: 'village', village: b, name: 'office-b' },
      ],
    });
    await g.villager(g.a, 'zhang');
    const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'V-HELP', name: '帮扶孤寡老人', category: 'other', direction: 'add', points_min: 5, points_max: 5, evidence: 'none' });
    expect(r.statusCode).toBe(201);
    code = 'V-HELP';
  });
  afterAll(async () => {
    await g.close();
  });
  const file = async (caller: Parameters<GovApp['call']>[0]): Promise<string> => {
    const r = await g.call(caller, 'POST', `/api/villages/${g.a}/reports`, { item: code, villager: 'zhang' });
    expect(r.statusCode, r.body).toBe(201);
    return (r.json() as { id: string }).id;
  };
  const approve = (caller: Parameters<GovApp['call']>[0], id: string) => g.call(caller, 'POST', `/api/villages/${g.a}/claims/${id}/approve`, {});
  const steps = async (id: string) =>
    ((await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as Audit).events.filter((e) => e.subject === `claim:${id}`).reverse()
      .map((e) => [e.action, e.actor, e.detail.by, e.detail.self_approved]);

  it('the named token that filed a record is refused (403 FORBIDDEN, both languages); another named token approves it', async () => {
    const id = await file(OFFICE);
    const filer = await g.db.query<{ filed_by: string | null }>('SELECT filed_by FROM gov_claims WHERE id = $1', [id]);
    expect(filer[0]?.filed_by).toBe('token:office');
    const own = await approve(OFFICE, id);
    expect(own.statusCode).toBe(403);
    expect(own.json()).toMatchObject({ error: 'FORBIDDEN', field: 'claim', message: expect.stringContaining('token office filed record'), zh: expect.stringContaining('令牌（office）登记的') });
    expect((await g.call(OFFICE, 'GET', `/api/villages/${g.a}/claims/${id}`)).json()).toMatchObject({ status: 'reported', entry_id: null });
    const ok = await approve(REVIEW, id);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ claim: { status: 'approved' }, entry: { points: 5 } });
    expect(await steps(id)).toEqual([['report.village', 'token:office', 'token:office', undefined], ['approve', 'token:Review.2', 'token:Review.2', undefined]]);
  });

  it("a staff account approves a token's record, and a named token a staff account's; an unnamed token approves neither", async () => {
    const wang = await g.staff('wang-t', g.a);
    const byToken = await file(OFFICE);
    const ok = await approve(wang, byToken);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await steps(byToken)).toEqual([['report.village', 'token:office', 'token:office', undefined], ['approve', `village:${g.a}`, 'wang-t', undefined]]);
    const byStaff = await file(wang);
    expect((await approve(OFFICE, byStaff)).statusCode).toBe(200);
    // an unnamed token is nobody: it does not approve a record with a filer (unnamed-token-duties.test.ts)
    const again = await file(OFFICE);
    expect((await approve(g.va, again)).statusCode).toBe(403);
  });

  it("an unnamed token keeps today's behaviour: it approves what it filed (the documented limit)", async () => {
    const id = await file(g.va);
    expect((await g.db.query<{ filed_by: string | null }>('SELECT filed_by FROM gov_claims WHERE id = $1', [id]))[0]?.filed_by).toBeNull();
    expect((await approve(g.va, id)).statusCode).toBe(200);
    expect(await steps(id)).toEqual([['report.village', `village:${g.a}`, undefined, undefined], ['approve', `village:${g.a}`, undefined, undefined]]);
  });

  it('a named token of another village reads nothing here, as before (404)', async () => {
    const id = await file(OFFICE);
    expect((await approve(OTHER_VILLAGE, id)).statusCode).toBe(404);
  });
});
