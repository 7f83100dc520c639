/**
 * A form sent again with its request id (a phone that resends after a timeout, a second press
 * after a reload) makes nothing twice: one task published, one photo kept, one report; the first
 * answer is given again (200, `duplicate`). The same id with other content is refused (409 on
 * `request`), another account's id is its own, and ids are deleted by the retention job after
 * REQUEST_KEEP_DAYS days (governance/request-ids.ts).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.ts';
import { LedgerRetention } from '../../cloud-sync/ledger/retention.ts';
import { REQUEST_KEEP_DAYS } from '../../cloud-sync/ledger/governance/request-ids.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { tinyJpeg } from './photos.ts';

const DAY = 86_400_000;
/** A request id as a page makes one (random; 16 to 64 characters). */
const rid = (n: number) => `form-${String(n).padStart(4, '0')}-9c41d2e07b3a`;
const statuses = (rs: { statusCode: number; body: string }[]) => rs.map((r) => `${r.statusCode}${r.statusCode >= 300 ? ` ${r.body}` : ''}`).sort();

describe(`request ids: a form sent again makes nothing twice (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  let tasks: string;
  let evidence: string;
  const count = async (sql: string, params: unknown[]) => Number((await g.db.query<{ n: number | string }>(sql, params))[0]!.n);
  const tasksTitled = (title: string, village = g.a) => count('SELECT COUNT(*) AS n FROM gov_tasks WHERE village = $1 AND title = $2', [village, title]);
  const photos = () => count('SELECT COUNT(*) AS n FROM gov_evidence WHERE village = $1', [g.a]);
  const steps = (action: string, subject: string) => count('SELECT COUNT(*) AS n FROM gov_events WHERE action = $1 AND subject = $2', [action, subject]);
  const picture = (r: number, gr: number, b: number) => sharp({ create: { width: 32, height: 24, channels: 3, background: { r, g: gr, b } } }).jpeg().toBuffer();
  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
    tasks = `/api/villages/${g.a}/tasks`;
    evidence = `/api/villages/${g.a}/evidence`;
  });
  afterAll(async () => {
    await g.close();
  });

  it('a task published again with its request id is one task: the first answer again (200, duplicate), one audit step, also sent at once', async () => {
    const body = { title: '清扫东巷', item: 'ENV-SWEEP-LANE', max_claimants: 2, request: rid(1) };
    const first = await g.call(g.va, 'POST', tasks, body);
    expect(first.statusCode, first.body).toBe(201);
    const task = first.json() as { id: string; duplicate: boolean };
    expect(task).toMatchObject({ title: '清扫东巷', status: 'open', points: 2, duplicate: false });
    // the answer was lost; the page sends the form again, and again
    for (let k = 0; k < 2; k++) {
      const again = await g.call(g.va, 'POST', tasks, body);
      expect({ status: again.statusCode, body: again.json() as unknown }).toEqual({ status: 200, body: { ...task, duplicate: true } });
    }
    expect(await tasksTitled('清扫东巷')).toBe(1);
    expect(await steps('task.publish', `task:${task.id}`)).toBe(1);
    // the villagers see one task to claim
    const open = (await g.call(zhang, 'GET', `${tasks}?status=open`)).json() as { tasks: { title: string }[] };
    expect(open.tasks.filter((t) => t.title === '清扫东巷')).toHaveLength(1);

    // Sent at once (a resend that overtakes the first): one 201, the others its duplicates, never a 500.
    for (let round = 0; round < 3; round++) {
      const title = `防汛值守${round}`;
      const sends = await Promise.all(Array.from({ length: 4 }, () => g.call(g.va, 'POST', tasks, { title, item: 'SAF-FLOOD', points: 15, max_claimants: 3, request: rid(10 + round) })));
      expect(statuses(sends)).toEqual(['200', '200', '200', '201']);
      expect(new Set(sends.map((r) => (r.json() as { id: string }).id)).size).toBe(1);
      expect(await tasksTitled(title)).toBe(1);
    }
  });

  it('the same request id with other content is refused (409 on request, both languages) and nothing is made; another account\'s id is its own', async () => {
    const body = { title: '清理水沟', item: 'ENV-SWEEP-LANE', max_claimants: 2, request: rid(2) };
    const made = (await g.call(g.va, 'POST', tasks, body)).json() as { id: string };
    const other = await g.call(g.va, 'POST', tasks, { ...body, title: '清理西沟' });
    expect({ status: other.statusCode, body: other.json() as unknown }).toMatchObject({
      status: 409,
      body: { error: 'DUPLICATE_ID', field: 'request', message: expect.stringContaining(`task ${made.id}`), zh: expect.stringContaining('已经提交过') },
    });
    expect((other.json() as { zh: string }).zh).toContain('清理水沟');
    expect(await tasksTitled('清理西沟')).toBe(0);
    // the id used by the publish, sent with an upload: refused too, no photo kept
    const before = await photos();
    const upload = await g.upload(g.va, evidence, await tinyJpeg(), { fields: { request: rid(2) } });
    expect({ status: upload.statusCode, body: upload.json() as unknown }).toMatchObject({ status: 409, body: { error: 'DUPLICATE_ID', field: 'request' } });
    expect(await photos()).toBe(before);
    // Another village's account sending the same id: its own task.
    const b = await g.call(g.vb, 'POST', `/api/villages/${g.b}/tasks`, body);
    expect(b.statusCode, b.body).toBe(201);
    expect(await tasksTitled('清理水沟', g.b)).toBe(1);
    // A request id that is no request id: 400 on request, both languages.
    for (const bad of ['short', 'has space in it here', 'x'.repeat(65)]) {
      const r = await g.call(g.va, 'POST', tasks, { ...body, request: bad });
      expect({ bad, status: r.statusCode, body: r.json() as unknown }).toMatchObject({ bad, status: 400, body: { field: 'request', zh: expect.stringContaining('提交编号') } });
      const u = await g.upload(zhang, evidence, await tinyJpeg(), { fields: { request: bad } });
      expect({ bad, status: u.statusCode, body: u.json() as unknown }).toMatchObject({ bad, status: 400, body: { field: 'request', zh: expect.stringContaining('提交编号') } });
    }
    expect(await photos()).toBe(before);
    // Without a request id there is nothing to know a resend by: each send publishes.
    for (let k = 0; k < 2; k++) expect((await g.call(g.va, 'POST', tasks, { title: '无编号任务', item: 'ENV-SWEEP-LANE', max_claimants: 1 })).statusCode).toBe(201);
    expect(await tasksTitled('无编号任务')).toBe(2);
  });

  it('a photo uploaded again with its request id is kept once: the same photo answered (200, duplicate), also sent at once; another photo under the id is refused', async () => {
    const photo = await tinyJpeg();
    const before = await photos();
    const first = await g.upload(zhang, evidence, photo, { fields: { request: rid(20) } });
    expect(first.statusCode, first.body).toBe(201);
    const kept = first.json() as { id: string; ref: string };
    expect(kept).toMatchObject({ ref: `photo:${kept.id}`, duplicate: false });
    const again = await g.upload(zhang, evidence, photo, { fields: { request: rid(20) } });
    expect({ status: again.statusCode, body: again.json() as unknown }).toEqual({ status: 200, body: { ...kept, duplicate: true } });
    expect(await photos()).toBe(before + 1);
    expect(await steps('evidence.upload', `evidence:${kept.id}`)).toBe(1);
    // Another picture under the same id: refused, not kept.
    const other = await g.upload(zhang, evidence, await picture(20, 90, 200), { fields: { request: rid(20) } });
    expect({ status: other.statusCode, body: other.json() as unknown }).toMatchObject({ status: 409, body: { error: 'DUPLICATE_ID', field: 'request', zh: expect.stringContaining('已经提交过') } });
    expect(await photos()).toBe(before + 1);
    // The village uploading for zhang under the same id: another account, its own photo.
    expect((await g.upload(g.va, evidence, photo, { fields: { villager: 'zhang', request: rid(20) } })).statusCode).toBe(201);
    expect(await photos()).toBe(before + 2);

    // Sent at once: one kept, the others its duplicates.
    for (let round = 0; round < 3; round++) {
      const pic = await picture(40 * round, 30, 60);
      const sends = await Promise.all(Array.from({ length: 3 }, () => g.upload(zhang, evidence, pic, { fields: { request: rid(21 + round) } })));
      expect(statuses(sends)).toEqual(['200', '200', '201']);
      expect(new Set(sends.map((r) => (r.json() as { id: string }).id)).size).toBe(1);
      expect(await photos()).toBe(before + 3 + round);
    }
  });

  it('a villager\'s report sent again after lost answers is one report with one photo: for a task claim and for a self-report', async () => {
    const li = await g.villager(g.a, 'li');
    const task = (await g.call(g.va, 'POST', tasks, { title: '清扫南巷', item: 'ENV-SWEEP-LANE', max_claimants: 2 })).json() as { id: string };
    const claim = (await g.call(li, 'POST', `${tasks}/${task.id}/claim`)).json() as { id: string };
    const photo = await tinyJpeg();
    const before = await photos();
    // The phone sends the photo and the report; each answer is lost and the villager taps again.
    const refs: string[] = [];
    for (let tap = 0; tap < 3; tap++) {
      const up = await g.upload(li, evidence, photo, { fields: { request: rid(30) } });
      expect(up.statusCode).toBe(tap === 0 ? 201 : 200);
      refs.push((up.json() as { ref: string }).ref);
      const r = await g.call(li, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { evidence: refs[tap], note: '扫完了' });
      expect({ status: r.statusCode, body: r.json() as unknown }).toMatchObject({ status: 200, body: { status: 'reported', evidence: refs[0], duplicate: tap > 0 } });
    }
    expect(new Set(refs).size).toBe(1);
    expect(await photos()).toBe(before + 1);
    expect(await steps('report', `claim:${claim.id}`)).toBe(1);

    // A self-report with its photo, sent three times: one photo, one report.
    for (let tap = 0; tap < 3; tap++) {
      const up = await g.upload(li, evidence, photo, { fields: { request: rid(31) } });
      const r = await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: (up.json() as { ref: string }).ref, note: '扫了村口', request: rid(32) });
      expect({ tap, status: r.statusCode }).toEqual({ tap, status: tap === 0 ? 201 : 200 });
    }
    expect(await photos()).toBe(before + 2);
    const mine = (await g.call(li, 'GET', `/api/villages/${g.a}/claims?status=reported`)).json() as { claims: { origin: string }[] };
    expect(mine.claims.filter((c) => c.origin === 'self')).toHaveLength(1);
  });

  it(`request ids are kept ${REQUEST_KEEP_DAYS} days, then deleted by the ledger's retention job (also when photos and alarms are kept for ever); a send after that is new`, async () => {
    const body = { title: '修补村道', item: 'ENV-SWEEP-LANE', max_claimants: 1, request: rid(50) };
    expect((await g.call(g.va, 'POST', tasks, body)).statusCode).toBe(201);
    const held = () => count('SELECT COUNT(*) AS n FROM gov_requests WHERE request = $1', [rid(50)]);
    let ahead = 0;
    const job = new LedgerRetention({ db: g.db, log: silentLogger(), options: { evidenceKeepDays: 0, alarmKeepDays: 0, cron: 'off', timezone: 'Asia/Shanghai' }, clock: () => new Date(Date.now() + ahead) });
    ahead = (REQUEST_KEEP_DAYS - 1) * DAY;
    await job.runOnce();
    expect(await held()).toBe(1);
    expect((await g.call(g.va, 'POST', tasks, body)).statusCode).toBe(200);
    ahead = (REQUEST_KEEP_DAYS + 1) * DAY;
    await job.runOnce();
    expect(await held()).toBe(0);
    expect((await g.call(g.va, 'POST', tasks, body)).statusCode).toBe(201);
    expect(await tasksTitled('修补村道')).toBe(2);
    await job.stop();
  });
});
