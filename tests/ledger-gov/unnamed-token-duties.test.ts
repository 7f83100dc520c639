/**
 * An unnamed bearer token does not approve a record that has a filer (governance/duties.ts): a
 * record a staff account or a named token filed is refused to it (403 FORBIDDEN, both languages,
 * naming the tokens file's `name`; the record stays reported and the audit has no approval), else
 * the unnamed village token (which the README shows with curl) would let an official approve their
 * own record with no approver named. What has no filer (an unnamed token's record, one filed
 * before v22) it still approves, and rejecting any record stays allowed to it. On SQLite, and on
 * PostgreSQL with DATABASE_URL set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp, type StaffSession } from './gov-app.ts';

type Audit = { events: { subject: string; action: string; actor: string; detail: Record<string, unknown> }[] };
const OFFICE = 'office-secret-u-0001';

describe(`an unnamed token does not approve a record someone filed (${ledgerDbKind})`, () => {
  let g: GovApp;
  let li: StaffSession;
  let wang: StaffSession;
  beforeAll(async () => {
    g = await govApp({ tokens: (a) => [{ token: OFFICE, role: 'village', village: a, name: 'office' }] });
    await g.villager(g.a, 'zhang');
    const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'V-HELP', name: '帮扶孤寡老人', category: 'other', direction: 'add', points_min: 5, points_max: 5, evidence: 'none' });
    expect(r.statusCode, r.body).toBe(201);
    li = await g.staff('li-u', g.a);
    wang = await g.staff('wang-u', g.a);
  });
  afterAll(async () => {
    await g.close();
  });
  const file = async (caller: Parameters<GovApp['call']>[0]): Promise<string> => {
    const r = await g.call(caller, 'POST', `/api/villages/${g.a}/reports`, { item: 'V-HELP', villager: 'zhang' });
    expect(r.statusCode, r.body).toBe(201);
    return (r.json() as { id: string }).id;
  };
  const approve = (caller: Parameters<GovApp['call']>[0], id: string) => g.call(caller, 'POST', `/api/villages/${g.a}/claims/${id}/approve`, {});
  const claim = async (id: string) => (await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${id}`)).json() as { status: string; entry_id: string | null };
  const actions = async (id: string) =>
    ((await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as Audit).events.filter((e) => e.subject === `claim:${id}`).map((e) => e.action);
  const refusal = (filer: string) => ({
    error: 'FORBIDDEN', field: 'claim',
    message: expect.stringMatching(new RegExp(`was filed by ${filer}.*signed in as another staff member.*named token.*\`name\``)),
    zh: expect.stringMatching(new RegExp(`（${filer}）登记的.*其他工作人员.*命名令牌.*name`)),
  });

  it("a staff member's record: the unnamed token is refused (403, both languages), the record stays reported; another staff member approves it", async () => {
    const id = await file(li);
    const r = await approve(g.va, id);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.json()).toMatchObject(refusal('li-u'));
    expect(await claim(id)).toMatchObject({ status: 'reported', entry_id: null });
    expect(await actions(id)).toEqual(['report.village']);
    const ok = await approve(wang, id);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await claim(id)).toMatchObject({ status: 'approved' });
  });

  it("a named token's record: the unnamed token is refused alike", async () => {
    const id = await file(OFFICE);
    const r = await approve(g.va, id);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.json()).toMatchObject(refusal('token:office'));
    expect(await claim(id)).toMatchObject({ status: 'reported', entry_id: null });
    expect(await actions(id)).toEqual(['report.village']);
  });

  it('a record with no filer (an unnamed token filed it) the unnamed token still approves', async () => {
    const id = await file(g.va);
    expect((await g.db.query<{ filed_by: string | null }>('SELECT filed_by FROM gov_claims WHERE id = $1', [id]))[0]?.filed_by).toBeNull();
    const r = await approve(g.va, id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ claim: { status: 'approved' }, entry: { points: 5 } });
  });

  it('the unnamed token still rejects a record someone filed (a rejection needs no second person)', async () => {
    const id = await file(li);
    const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/reject`, { reason: '重复登记' });
    expect(r.statusCode, r.body).toBe(200);
    expect(await claim(id)).toMatchObject({ status: 'rejected' });
  });
});
