/** Tasks from publish to award, self-reports, decisions, reversals and the audit trail. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { approveClaim } from '../../cloud-sync/ledger/governance/tasks.ts';

describe(`governance tasks (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  let li: string;
  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
    li = await g.villager(g.a, 'li');
  });
  afterAll(async () => {
    await g.close();
  });

  it('publish → claim → report → approve: the award is a ledger entry under the item version, and every step is audited', async () => {
    const t = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫东巷', item: 'ENV-SWEEP-LANE', max_claimants: 2 });
    expect(t.statusCode).toBe(201);
    const task = t.json() as { id: string; points: number; item_version: number; status: string };
    expect(task).toMatchObject({ points: 2, item_version: 1, status: 'open' });
    const c = await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`);
    expect(c.statusCode).toBe(201);
    const claim = c.json() as { id: string; status: string };
    expect(claim.status).toBe('claimed');
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).json()).toMatchObject({ id: claim.id, duplicate: true });
    // The item needs a photo: a report without one is refused on that field.
    const noPhoto = await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, {});
    expect(noPhoto.statusCode).toBe(400);
    expect(noPhoto.json()).toMatchObject({ field: 'evidence', zh: expect.stringContaining('照片') });
    // Approving before the report is refused.
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim.id}/approve`, {})).statusCode).toBe(409);
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { evidence: 'photo:abc123', note: '扫完了' })).json()).toMatchObject({ status: 'reported', evidence: 'photo:abc123' });
    // A villager cannot approve their own claim.
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/approve`, {})).statusCode).toBe(403);
    const ok = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim.id}/approve`, {});
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ duplicate: false, balance: 2, entry: { id: `gov:${claim.id}`, kind: 'award', points: 2, reference: 'rule:town/ENV-SWEEP-LANE@1' } });
    // Approving twice is idempotent: the same entry, no second award.
    const again = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim.id}/approve`, {});
    expect(again.json()).toMatchObject({ duplicate: true, balance: 2 });
    const me = (await g.call(zhang, 'GET', `/api/villages/${g.a}/me`)).json() as { balance: number; history: { reason: string; points: number }[] };
    expect(me.balance).toBe(2);
    expect(me.history).toEqual([expect.objectContaining({ points: 2, reason: '清扫街巷：清扫东巷' })]);
    const events = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string; actor: string }[] };
    expect(events.events.filter((e) => e.subject === `claim:${claim.id}`).map((e) => e.action).reverse()).toEqual(['claim', 'report', 'approve']);
    expect(events.events.find((e) => e.subject === `task:${task.id}`)).toMatchObject({ action: 'task.publish', actor: `village:${g.a}` });
  });

  it('caps claimants, refuses a closed task, and rejects with a reason', async () => {
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '防汛值守', item: 'SAF-FLOOD', points: 15, max_claimants: 1 })).json() as { id: string };
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).statusCode).toBe(201);
    const full = await g.call(li, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`);
    expect(full.statusCode).toBe(409);
    expect(full.json()).toMatchObject({ field: 'task', zh: expect.stringContaining('已满') });
    // a reason of blanks alone would tell the villager nothing on the phone page: refused, the claim as it was
    const blankReject = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${task.id}.zhang/reject`, { reason: ' \u3000 ' });
    expect({ status: blankReject.statusCode, body: blankReject.json() }).toMatchObject({ status: 400, body: { field: 'reason', zh: '理由不能为空' } });
    const rej = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${task.id}.zhang/reject`, { reason: ' 当天未到岗 ' });
    expect(rej.json()).toMatchObject({ claim: { status: 'rejected', reason: '当天未到岗' }, duplicate: false });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${task.id}.zhang/approve`, {})).statusCode).toBe(409);
    // The rejected claim frees its place.
    expect((await g.call(li, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).statusCode).toBe(201);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks/${task.id}/close`)).json()).toMatchObject({ status: 'closed' });
    const wang = await g.villager(g.a, 'wang');
    const closed = await g.call(wang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`);
    expect(closed.statusCode).toBe(409);
    expect(closed.json()).toMatchObject({ error: 'ALREADY_SETTLED', field: 'task', zh: expect.stringContaining('已结束') });
  });

  it('self-reports and village records follow the approval path; a reversal is a compensating entry; caps hold', async () => {
    // 动态申报: mediation, a range item, points chosen at approval.
    const r = await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'MED-DISPUTE', evidence: 'witness:王支书', note: '调解了两家的宅基地纠纷' });
    expect(r.statusCode).toBe(201);
    const rep = r.json() as { id: string; origin: string; status: string; points: null };
    expect(rep).toMatchObject({ origin: 'self', status: 'reported', points: null });
    const noPoints = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${rep.id}/approve`, {});
    expect(noPoints.json()).toMatchObject({ field: 'points' });
    const outside = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${rep.id}/approve`, { points: 30 });
    expect(outside.statusCode).toBe(400);
    expect(outside.json()).toMatchObject({ field: 'points', zh: expect.stringContaining('超出细则范围') });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${rep.id}/approve`, { points: 10 })).json()).toMatchObject({ balance: 10 });
    // A villager cannot self-report a deduction; the village files it, and it is a penalty once approved.
    expect((await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'DED-MATERIALS-LANE', evidence: 'photo:x' })).json()).toMatchObject({ field: 'item' });
    const ded = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'DED-MATERIALS-LANE', villager: 'li', points: 5, evidence: 'photo:lane-1' })).json() as { id: string; origin: string };
    expect(ded.origin).toBe('village');
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ded.id}/approve`, {})).json()).toMatchObject({ entry: { kind: 'penalty', points: -5 }, balance: 5 });
    // Reversal: the penalty stays, a compensating adjustment is added; reversing again changes nothing.
    const blankReverse = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ded.id}/reverse`, { reason: '   ' });
    expect({ status: blankReverse.statusCode, body: blankReverse.json() }).toMatchObject({ status: 400, body: { field: 'reason', zh: '理由不能为空' } });
    const rev = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ded.id}/reverse`, { reason: '材料当天已清走' });
    expect(rev.json()).toMatchObject({ entry: { id: `gov:${ded.id}:reversal`, kind: 'adjustment', points: 5 }, balance: 10, duplicate: false });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ded.id}/reverse`, { reason: '再来一次' })).json()).toMatchObject({ balance: 10, duplicate: true });
    const entries = await g.db.query<{ id: string }>('SELECT id FROM entries WHERE villager_id = $1 ORDER BY seq', ['li']);
    expect(entries.map((e) => e.id)).toEqual([`gov:${rep.id}`, `gov:${ded.id}`, `gov:${ded.id}:reversal`]);
    // GOV-MEETING: at most twice a month.
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) ids.push(((await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING' })).json() as { id: string }).id);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ids[0]}/approve`, {})).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ids[1]}/approve`, {})).statusCode).toBe(200);
    const capped = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${ids[2]}/approve`, {});
    expect(capped.statusCode).toBe(409);
    expect(capped.json()).toMatchObject({ zh: expect.stringContaining('上限') });
    expect((await g.call(li, 'GET', `/api/villages/${g.a}/me`)).json()).toMatchObject({ balance: 14 });
  });

  it('a report form sent twice (a double tap, a resend) is one report: the same request id answers the claim made, 200 duplicate', async () => {
    const reporter = await g.villager(g.a, 'twice');
    const body = { item: 'CIV-GOOD-DEED', points: 5, evidence: 'witness:邻居张大爷', note: '帮五保户挑水', request: 'form-3f9a1c7e5b2d4a60' };
    const [x, y] = await Promise.all([g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, body), g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, body)]);
    expect([x.statusCode, y.statusCode].sort()).toEqual([200, 201]);
    const first = (x.statusCode === 201 ? x : y).json() as { id: string; duplicate: boolean };
    expect(first).toMatchObject({ status: 'reported', duplicate: false });
    expect((x.statusCode === 200 ? x : y).json()).toMatchObject({ id: first.id, duplicate: true });
    const later = await g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, body);
    expect({ status: later.statusCode, body: later.json() }).toMatchObject({ status: 200, body: { id: first.id, duplicate: true } });
    const mine = (await g.call(reporter, 'GET', `/api/villages/${g.a}/claims`)).json() as { claims: unknown[] };
    expect(mine.claims).toHaveLength(1);
    const steps = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string }[] };
    expect(steps.events.filter((e) => e.subject === `claim:${first.id}`)).toHaveLength(1);
    // The same id with other content is another report under a used id: refused, nothing lost.
    const other = await g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, { ...body, note: '另一件事' });
    expect({ status: other.statusCode, body: other.json() }).toMatchObject({ status: 409, body: { error: 'DUPLICATE_ID', field: 'request', zh: expect.stringContaining('重新打开') } });
    const bad = await g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, { ...body, request: 'short' });
    expect({ status: bad.statusCode, body: bad.json() }).toMatchObject({ status: 400, body: { field: 'request', zh: expect.stringContaining('提交编号') } });
    // Another request id, or none, is another report; the village's own record keeps its own ids.
    expect((await g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, { ...body, request: 'form-0000111122223333' })).statusCode).toBe(201);
    expect((await g.call(reporter, 'POST', `/api/villages/${g.a}/reports`, { item: 'CIV-GOOD-DEED', evidence: 'witness:邻居张大爷' })).statusCode).toBe(201);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { ...body, villager: 'twice' })).json()).toMatchObject({ origin: 'village', duplicate: false });
  });

  it('a claim sent again at once (a double tap on 认领) answers the one claim: 201 once, 200 duplicate for the others, never a 500', async () => {
    const tapper = await g.villager(g.a, 'tapper');
    // a few rounds: on PostgreSQL the sends race inside the database, and one round may not meet
    for (let round = 0; round < 3; round++) {
      const t = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: `防汛值守${round}`, item: 'SAF-FLOOD', points: 15, max_claimants: 3 })).json() as { id: string };
      const sends = await Promise.all(Array.from({ length: 4 }, () => g.call(tapper, 'POST', `/api/villages/${g.a}/tasks/${t.id}/claim`)));
      expect(sends.map((r) => `${r.statusCode} ${r.statusCode >= 500 ? r.body : ''}`.trim()).sort()).toEqual(['200', '200', '200', '201']);
      const answers = sends.map((r) => r.json() as { id: string; duplicate: boolean });
      expect(new Set(answers.map((a) => a.id))).toEqual(new Set([`${t.id}.tapper`]));
      expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
      const held = await g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_claims WHERE task_id = $1', [t.id]);
      expect(Number(held[0]!.n)).toBe(1);
    }
  });

  it('a report sent again at once (a double tap on 上报完成) files one report: 200 for each, one not a duplicate, one audit step, never a 500', async () => {
    const tapper = await g.villager(g.a, 'reporter2');
    // a few rounds: on PostgreSQL the sends race inside the database, and one round may not meet
    for (let round = 0; round < 3; round++) {
      const t = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: `巡河${round}`, item: 'GOV-MEETING', max_claimants: 3 })).json() as { id: string };
      const claim = (await g.call(tapper, 'POST', `/api/villages/${g.a}/tasks/${t.id}/claim`)).json() as { id: string };
      // each tap sends its own note, as each would carry its own upload: the first filed is kept
      const sends = await Promise.all(Array.from({ length: 4 }, (_, k) => g.call(tapper, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { note: `第${k}次` })));
      expect(sends.map((r) => `${r.statusCode} ${r.statusCode === 200 ? '' : r.body}`.trim())).toEqual(['200', '200', '200', '200']);
      const answers = sends.map((r) => r.json() as { id: string; status: string; note: string; duplicate: boolean });
      expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
      const filed = answers.find((a) => !a.duplicate)!;
      expect(answers.every((a) => a.id === claim.id && a.status === 'reported' && a.note === filed.note)).toBe(true);
      expect((await g.call(tapper, 'GET', `/api/villages/${g.a}/claims/${claim.id}`)).json()).toMatchObject({ status: 'reported', note: filed.note });
      const steps = await g.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM gov_events WHERE subject = $1 AND action = 'report'", [`claim:${claim.id}`]);
      expect(Number(steps[0]!.n)).toBe(1);
    }
  });

  it('at once: claims beyond the cap on claimants fail, and concurrent approvals make one entry', async () => {
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '村民会议', item: 'GOV-MEETING', max_claimants: 2 })).json() as { id: string };
    const people = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const sessions = await Promise.all(people.map((p) => g.villager(g.a, p)));
    const claims = await Promise.all(sessions.map((s) => g.call(s, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)));
    expect(claims.map((c) => c.statusCode).sort()).toEqual([201, 201, 409, 409, 409]);
    const won = claims.findIndex((c) => c.statusCode === 201);
    const claim = (claims[won]!.json() as { id: string }).id;
    expect((await g.call(sessions[won]!, 'POST', `/api/villages/${g.a}/claims/${claim}/report`, {})).statusCode).toBe(200);
    const approvals = await Promise.all(Array.from({ length: 4 }, () => g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim}/approve`, {})));
    expect(approvals.map((a) => a.statusCode)).toEqual([200, 200, 200, 200]);
    expect(approvals.filter((a) => (a.json() as { duplicate: boolean }).duplicate === false)).toHaveLength(1);
    const n = await g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM entries WHERE id = $1', [`gov:${claim}`]);
    expect(Number(n[0]!.n)).toBe(1);
    expect((await g.call(sessions[won]!, 'GET', `/api/villages/${g.a}/me`)).json()).toMatchObject({ balance: 2 });
  });

  it('sent twice at once from the village office: a rejection and a closing are made once, an approval beside a rejection leaves one decision, never a 500', async () => {
    await g.villager(g.a, 'office2');
    const file = async () => ((await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SORT-GARBAGE', villager: 'office2' })).json() as { id: string }).id;
    const steps = async (subject: string, action: string) => Number((await g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_events WHERE subject = $1 AND action = $2', [subject, action]))[0]!.n);
    const status = (r: { statusCode: number; body: string }) => `${r.statusCode} ${r.statusCode >= 500 ? r.body : ''}`.trim();
    // a few rounds: on PostgreSQL the sends race inside the database, and one round may not meet
    for (let round = 0; round < 3; round++) {
      const twice = await file();
      const rejects = await Promise.all([0, 1].map(() => g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${twice}/reject`, { reason: '重复申报' })));
      expect(rejects.map(status)).toEqual(['200', '200']);
      expect(rejects.map((r) => (r.json() as { duplicate: boolean }).duplicate).sort()).toEqual([false, true]);
      expect(await steps(`claim:${twice}`, 'reject')).toBe(1);

      const either = await file();
      const [approve, reject] = await Promise.all([
        g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${either}/approve`, {}),
        g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${either}/reject`, { reason: '不符合' }),
      ]);
      expect([status(approve), status(reject)].sort()).toEqual(['200', '409']);
      const won = approve.statusCode === 200 ? 'approved' : 'rejected';
      expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${either}`)).json()).toMatchObject({ status: won });
      const entries = await g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM entries WHERE id = $1', [`gov:${either}`]);
      expect(Number(entries[0]!.n)).toBe(won === 'approved' ? 1 : 0);

      const t = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: `清理沟渠${round}`, item: 'ENV-SORT-GARBAGE', max_claimants: 2 })).json() as { id: string };
      const closes = await Promise.all([0, 1].map(() => g.call(g.va, 'POST', `/api/villages/${g.a}/tasks/${t.id}/close`)));
      expect(closes.map(status)).toEqual(['200', '200']);
      expect(await steps(`task:${t.id}`, 'task.close')).toBe(1);
    }
  });

  it('an approval and its entry are one step; a reversal never takes points that were never given', async () => {
    await g.villager(g.a, 'wu');
    const report = async () => (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'wu' })).json() as { id: string };
    const entries = () => g.db.query<{ id: string; points: number | string }>('SELECT id, points FROM entries WHERE villager_id = $1 ORDER BY seq', ['wu']);
    // An approval left without its entry (as one made before both were one transaction could be):
    const half = await report();
    await approveClaim(g.db, g.a, half.id, undefined, `village:${g.a}`, new Date());
    expect(await entries()).toEqual([]);
    const rev = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${half.id}/reverse`, { reason: '审核有误' });
    expect(rev.statusCode).toBe(200);
    expect(rev.json()).toMatchObject({ balance: 0, claim: { status: 'reversed' } });
    expect((await entries()).map((e) => [e.id, Number(e.points)])).toEqual([[`gov:${half.id}`, 2], [`gov:${half.id}:reversal`, -2]]);
    // An entry that cannot be made (its id taken by another entry) leaves the claim as it was: reported, no points.
    // (A direct entry may no longer take a `gov:` id, governance/direct.ts; one an older ledger let through is written here as it stands.)
    const blocked = await report();
    await g.db.run('INSERT INTO entries (id, village, villager_id, kind, points, reference, reason, origin_store, created_at, received_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, NULL, $7, $7)',
      [`gov:${blocked.id}`, g.a, 'zhang', 'award', 9, '占用编号', new Date().toISOString()]);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${blocked.id}/approve`, {})).statusCode).toBe(409);
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${blocked.id}`)).json()).toMatchObject({ status: 'reported' });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${blocked.id}/reverse`, { reason: '不该冲正' })).statusCode).toBe(409);
    expect((await entries()).map((e) => e.id)).toEqual([`gov:${half.id}`, `gov:${half.id}:reversal`]);
  });

  it('approve and login-codes take a request with no body at all (every field is optional)', async () => {
    await g.villager(g.a, 'zheng');
    const c = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'zheng' })).json() as { id: string };
    const approve = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${c.id}/approve`);
    expect(approve.statusCode, approve.body).toBe(200);
    expect(approve.json()).toMatchObject({ balance: 2, claim: { status: 'approved' } });
    const codes = await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/zheng/login-codes`);
    expect(codes.statusCode, codes.body).toBe(201);
    // A body that is not an object is still refused, with the body named in Chinese too.
    const odd = await g.app.inject({ method: 'POST', url: `/api/villages/${g.a}/villagers/zheng/login-codes`, headers: { authorization: `Bearer ${g.va}`, 'content-type': 'application/json' }, payload: '[1]' });
    expect(odd.statusCode).toBe(400);
    expect(odd.json()).toMatchObject({ zh: expect.stringMatching(/^请求内容/) });
  });

  it('a villager who left gets no award: approving their pending report answers 409 on villager, the claim stays reported; a blocked one (debt) still earns', async () => {
    for (const id of ['leaver', 'debtor']) await g.villager(g.a, id);
    const file = async (villager: string) => ((await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager })).json() as { id: string }).id;
    const [gone, owed] = [await file('leaver'), await file('debtor')];
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/leaver`, { name: '村民leaver', status: 'left' })).statusCode).toBe(200);
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/debtor`, { name: '村民debtor', status: 'blocked' })).statusCode).toBe(200);
    const refused = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${gone}/approve`, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'ALREADY_SETTLED', field: 'villager', message: expect.stringContaining('left'), zh: expect.stringContaining('已离村') });
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${gone}`)).json()).toMatchObject({ status: 'reported', entry_id: null });
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/leaver`)).json()).toMatchObject({ balance: 0 });
    // it can still be rejected
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${gone}/reject`, { reason: '已离村' })).json()).toMatchObject({ claim: { status: 'rejected' } });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${owed}/approve`, {})).json()).toMatchObject({ claim: { status: 'approved' }, balance: 2 });
  });

  it('bad input gets field-level errors in both languages', async () => {
    const neg = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扫地', item: 'VOL-SERVICE', points: -3, max_claimants: 1 });
    expect(neg.statusCode).toBe(400);
    expect(neg.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'points', message: expect.stringContaining('points'), zh: '分值不能小于 1' });
    const range = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扫地', item: 'VOL-SERVICE', points: 6, max_claimants: 1 });
    expect(range.json()).toMatchObject({ field: 'points', zh: expect.stringContaining('2–5') });
    const deduct = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扣分', item: 'DED-LITTER', max_claimants: 1 });
    expect(deduct.json()).toMatchObject({ field: 'item' });
    const unknown = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扫地', item: 'NO-SUCH', max_claimants: 1 });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ field: 'item' });
    const missing = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扫地', item: 'VOL-SERVICE' });
    expect(missing.json()).toMatchObject({ field: 'max_claimants', zh: expect.stringContaining('缺少') });
    const kind = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扫地', item: 'VOL-SERVICE', points: 3, max_claimants: 'two' });
    expect(kind.json()).toMatchObject({ field: 'max_claimants', zh: '认领人数上限须为整数' });
    const code = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '扫地', item: '扫地!', points: 3, max_claimants: 1 });
    expect(code.json()).toMatchObject({ field: 'item', zh: '积分细则格式不正确' });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/nope/approve`, {})).statusCode).toBe(404);
    const pin = await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/li/pin`, { pin: '12' });
    expect(pin.json()).toMatchObject({ field: 'pin' });
    // A title of blanks would be a task without a name on the phone page and in the passbook; one with blanks around is kept trimmed.
    for (const title of ['   ', '\u3000\t']) {
      const blank = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title, item: 'VOL-SERVICE', points: 3, max_claimants: 1 });
      expect({ status: blank.statusCode, body: blank.json() }).toMatchObject({ status: 400, body: { error: 'INVALID_ARGUMENT', field: 'title', message: expect.stringContaining('blank'), zh: '标题不能为空' } });
    }
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '  扫地  ', item: 'VOL-SERVICE', points: 3, max_claimants: 1 })).json()).toMatchObject({ title: '扫地' });
  });

  it('evidence of blanks alone is no evidence: an item that needs a photo or a witness refuses it on evidence, and nothing is filed', async () => {
    const blanks = await g.villager(g.a, 'blanks');
    const refused = { status: 400, body: { error: 'INVALID_ARGUMENT', field: 'evidence', message: expect.stringContaining('blank'), zh: '凭证不能为空' } };
    // a self-report of an item that needs a witness, and the village's record of one that needs a photo
    const self = await g.call(blanks, 'POST', `/api/villages/${g.a}/reports`, { item: 'CIV-GOOD-DEED', evidence: '   ' });
    expect({ status: self.statusCode, body: self.json() }).toMatchObject(refused);
    const record = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', villager: 'blanks', evidence: '\t' });
    expect({ status: record.statusCode, body: record.json() }).toMatchObject(refused);
    // a task's report (a photo item): the claim stays claimed
    const t = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫西巷', item: 'ENV-SWEEP-LANE', max_claimants: 2 })).json() as { id: string };
    const c = (await g.call(blanks, 'POST', `/api/villages/${g.a}/tasks/${t.id}/claim`)).json() as { id: string };
    const report = await g.call(blanks, 'POST', `/api/villages/${g.a}/claims/${c.id}/report`, { evidence: ' \u3000 ' });
    expect({ status: report.statusCode, body: report.json() }).toMatchObject(refused);
    expect((await g.call(blanks, 'GET', `/api/villages/${g.a}/claims`)).json()).toEqual({ claims: [expect.objectContaining({ id: c.id, status: 'claimed', evidence: null })] });
  });

  it('keeps every claim: nothing is deleted, and the database refuses to delete or rewrite the record', async () => {
    const n = await g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_claims WHERE village = $1', [g.a]);
    expect(Number(n[0]!.n)).toBeGreaterThanOrEqual(8);
    await expect(g.db.run('DELETE FROM gov_claims WHERE village = $1', [g.a])).rejects.toThrow();
    await expect(g.db.run('UPDATE gov_events SET action = $1', ['x'])).rejects.toThrow();
    await expect(g.db.run('DELETE FROM gov_items')).rejects.toThrow();
  });
});
