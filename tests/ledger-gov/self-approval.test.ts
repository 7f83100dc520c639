/**
 * Separation of duties (governance/duties.ts): the staff account that filed a village record (an
 * award or a deduction) may not approve it while the village has another active staff account
 * (403 FORBIDDEN, in both languages; the record stays reported); another staff member does. A
 * village whose only active account filed it is not blocked forever: the approval goes through
 * and its audit step says so. On SQLite, and on PostgreSQL with DATABASE_URL set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { setStaffDisabled } from '../../cloud-sync/ledger/staff/accounts.ts';
import { SOLE_STAFF } from '../../cloud-sync/ledger/governance/duties.ts';

type Item = { code: string; direction: string; points_min: number };
type Audit = { events: { subject: string; action: string; actor: string; detail: Record<string, unknown> }[] };

describe(`a staff account does not approve the record it filed (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
    await g.villager(g.a, 'zhang');
    await g.villager(g.b, 'wu');
  });
  afterAll(async () => {
    await g.close();
  });
  /** A village item of a fixed value, needing no evidence. */
  const item = async (village: string, code: string, direction: 'add' | 'deduct', points: number): Promise<Item> => {
    const r = await g.call(village === g.a ? g.va : g.vb, 'POST', `/api/villages/${village}/items`, { code, name: direction === 'add' ? '帮扶孤寡老人' : '乱扔垃圾', category: 'other', direction, points_min: points, points_max: points, evidence: 'none' });
    expect(r.statusCode).toBe(201);
    return r.json() as Item;
  };
  const audit = async (token: string, village: string, claim: string) =>
    ((await g.call(token, 'GET', `/api/villages/${village}/audit`)).json() as Audit).events.filter((e) => e.subject === `claim:${claim}`).reverse();

  it('two active staff accounts: the filer is refused (403 FORBIDDEN, both languages), the other approves', async () => {
    const wang = await g.staff('wang-a', g.a);
    const chen = await g.staff('chen-a', g.a);
    const fine = await item(g.a, 'V-FINE', 'deduct', 3);
    const award = await item(g.a, 'V-HELP', 'add', 5);
    for (const it of [fine, award]) {
      const record = (await g.call(wang, 'POST', `/api/villages/${g.a}/reports`, { item: it.code, villager: 'zhang' })).json() as { id: string; status: string };
      expect(record.status).toBe('reported');
      const own = await g.call(wang, 'POST', `/api/villages/${g.a}/claims/${record.id}/approve`, {});
      expect(own.statusCode).toBe(403);
      expect(own.json()).toMatchObject({ error: 'FORBIDDEN', field: 'claim', message: expect.stringContaining('another staff member of the village must approve it'), zh: expect.stringContaining('须由本村其他工作人员审核通过') });
      expect((await g.call(wang, 'GET', `/api/villages/${g.a}/claims/${record.id}`)).json()).toMatchObject({ status: 'reported', entry_id: null });
      const ok = await g.call(chen, 'POST', `/api/villages/${g.a}/claims/${record.id}/approve`, {});
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ claim: { status: 'approved' }, entry: { points: it.direction === 'add' ? it.points_min : -it.points_min } });
      const steps = await audit(g.va, g.a, record.id);
      expect(steps.map((e) => [e.action, e.detail.by, e.detail.self_approved])).toEqual([['report.village', 'wang-a', undefined], ['approve', 'chen-a', undefined]]);
    }
    // a record the village's machine filed (a bearer token: no staff account) any staff member approves
    const byToken = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: award.code, villager: 'zhang' })).json() as { id: string };
    expect((await g.call(wang, 'POST', `/api/villages/${g.a}/claims/${byToken.id}/approve`, {})).statusCode).toBe(200);
    // a villager's self-report is no record of the staff: approved by any of them
    const zhang = await g.villager(g.a, 'zhang');
    const self = (await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: award.code })).json() as { id: string };
    expect((await g.call(wang, 'POST', `/api/villages/${g.a}/claims/${self.id}/approve`, {})).statusCode).toBe(200);
  });

  it("the village's only active staff account approves what it filed, and the audit says so; a disabled account is none", async () => {
    const liu = await g.staff('liu-b', g.b);
    const fine = await item(g.b, 'V-FINE', 'deduct', 3);
    // a second account that was disabled (it left the office) does not count
    await g.staff('gone-b', g.b);
    expect(await setStaffDisabled(g.db, 'gone-b', true, 'town', new Date())).toBe(true);
    const record = (await g.call(liu, 'POST', `/api/villages/${g.b}/reports`, { item: fine.code, villager: 'wu' })).json() as { id: string };
    const ok = await g.call(liu, 'POST', `/api/villages/${g.b}/claims/${record.id}/approve`, {});
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ claim: { status: 'approved' }, entry: { kind: 'penalty', points: -fine.points_min } });
    const steps = await audit(g.vb, g.b, record.id);
    expect(steps.map((e) => [e.action, e.detail.by, e.detail.self_approved])).toEqual([['report.village', 'liu-b', undefined], ['approve', 'liu-b', SOLE_STAFF]]);
    // enabled again, it is another staff member: the filer is refused from then on
    expect(await setStaffDisabled(g.db, 'gone-b', false, 'town', new Date())).toBe(true);
    const next = (await g.call(liu, 'POST', `/api/villages/${g.b}/reports`, { item: fine.code, villager: 'wu' })).json() as { id: string };
    expect((await g.call(liu, 'POST', `/api/villages/${g.b}/claims/${next.id}/approve`, {})).json()).toMatchObject({ error: 'FORBIDDEN' });
  });

  it('decided by the staff as they were at filing: disabling the colleague afterwards, or an account made afterwards, does not get round it', async () => {
    const filer = await g.staff('zhou-b', g.b);
    const fine = (await g.call(g.vb, 'GET', `/api/villages/${g.b}/items`)).json() as { items?: Item[] } | Item[];
    const code = (Array.isArray(fine) ? fine : fine.items ?? []).find((i) => i.code === 'V-FINE')?.code ?? 'V-FINE';
    const record = (await g.call(filer, 'POST', `/api/villages/${g.b}/reports`, { item: code, villager: 'wu' })).json() as { id: string };
    // liu-b and gone-b (enabled again above) were in office when it was filed: disabling both afterwards leaves zhou-b not alone
    for (const u of ['liu-b', 'gone-b']) expect(await setStaffDisabled(g.db, u, true, 'village:' + g.b, new Date())).toBe(true);
    const own = await g.call(filer, 'POST', `/api/villages/${g.b}/claims/${record.id}/approve`, {});
    expect(own.statusCode).toBe(403);
    expect(own.json()).toMatchObject({ error: 'FORBIDDEN', zh: expect.stringContaining('须由本村其他工作人员审核通过') });
    // an account made after the record was filed does not approve it
    const puppet = await g.staff('zhou-b2', g.b);
    const late = await g.call(puppet, 'POST', `/api/villages/${g.b}/claims/${record.id}/approve`, {});
    expect(late.statusCode).toBe(403);
    expect(late.json()).toMatchObject({ error: 'FORBIDDEN', message: expect.stringContaining('was made after record'), zh: expect.stringContaining('登记之后开设') });
    expect((await g.call(filer, 'GET', `/api/villages/${g.b}/claims/${record.id}`)).json()).toMatchObject({ status: 'reported', entry_id: null });
    // the way on: the filer withdraws it (a reject, with the reason) and files it again; an account in office by then approves
    expect((await g.call(filer, 'POST', `/api/villages/${g.b}/claims/${record.id}/reject`, { reason: '重新登记' })).statusCode).toBe(200);
    const again = (await g.call(filer, 'POST', `/api/villages/${g.b}/reports`, { item: code, villager: 'wu' })).json() as { id: string };
    const ok = await g.call(puppet, 'POST', `/api/villages/${g.b}/claims/${again.id}/approve`, {});
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ claim: { status: 'approved' } });
  });
});
