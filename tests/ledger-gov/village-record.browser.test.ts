/**
 * The village office's record form and reversal (/village, 登记加扣分 and 冲正) in chromium, on the
 * ledger's own app. A village account files a deduction (乱扔垃圾, photo evidence) for a villager
 * picked by name: a missing photo and points out of range are refused beside their fields; a
 * double click files one record (one POST …/reports, one claim, one photo kept); the record waits
 * in the claims list as the API files it (`reported`), is approved there and the balance changes
 * at the API and on the page. An award with a witness is filed for a villager typed by id. Then
 * the approval is reversed: a reason is required, a cancelled confirmation sends nothing, a
 * double click reverses once, the row says 已冲正 and the balance is back. A town account sees
 * neither form, and the API refuses it a record and a reversal.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, SHOTS, watchPage, type BrowserRig } from './browser-rig.ts';

/** The village's named token `review` (a second person to the ledger, as the demo's). */
const REVIEW = 'review-secret-record-0001';

describe(`village office record and reversal in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let photo: Buffer;
  /** The deduction the first test files and approves, which the second reverses. */
  let litter: string;
  const problems: string[] = [];
  // 400s are the refusals the test provokes, the 401 the first visit's
  const watch = (page: Page) => watchPage(page, problems, /status of 40[01] /);
  const signIn = (page: Page, username: string) => rig.staffSignIn(page, username, '/village');
  const api = <T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> => rig.api<T>(method, url, body);
  const balance = async (id: string) => (await api<{ balance: number }>('GET', `/villagers/${id}`)).balance;

  beforeAll(async () => {
    // a named token approves what clerk-a filed, where the test needs it done (an unnamed one does not: duties.ts)
    rig = await browserRig(undefined, { tokens: (a) => [{ token: REVIEW, role: 'village', village: a, name: 'review' }] });
    const { g } = rig;
    await rig.addStaff('clerk-a', g.a, '甲村文书');
    await rig.addStaff('town-office', undefined, '镇办公室');
    await g.villager(g.a, 'wang');
    await g.villager(g.a, 'li');
    await api('PUT', '/villagers/wang', { name: '王小明' });
    await api('POST', '/entries', { id: 'open-wang', villager: 'wang', kind: 'award', points: 10, reason: '开户积分' });
    photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#8a6' } }).jpeg().toBuffer();
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('a village account files a deduction for a villager by name, once for a double click; approved, the balance changes', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    await signIn(page, 'clerk-a');
    expect(await page.isVisible('#record-form')).toBe(true);
    await expect.poll(() => page.locator('#record-villagers option').count()).toBe(2);
    await page.fill('#record-villager', '王小明');
    await page.press('#record-villager', 'Tab');
    await expect.poll(() => page.textContent('#record-who')).toBe('王小明（wang），余额 10 分 / balance 10');
    await page.selectOption('#record-item', 'DED-LITTER');
    expect(await page.textContent('#record-range')).toBe('（扣 2 分）');
    expect(await page.inputValue('#record-points')).toBe('2');
    // the 2 the page filled in goes with the item (a range item's points are typed or left to the approval); back again, it is filled again
    await page.selectOption('#record-item', 'CIV-GOOD-DEED');
    expect(await page.inputValue('#record-points')).toBe('');
    await page.selectOption('#record-item', 'DED-LITTER');
    expect(await page.inputValue('#record-points')).toBe('2');
    expect(await page.isVisible('#record-photo')).toBe(true);
    expect(await page.isVisible('#record-witness')).toBe(false);
    const submit = '#record-form button[type=submit]';
    // No photo: asked for beside the photo, nothing sent.
    const reports: string[] = [];
    const uploads: string[] = [];
    page.on('request', (q) => {
      if (q.url().endsWith(`/api/villages/${rig.g.a}/reports`)) reports.push(q.method());
      if (q.url().endsWith(`/api/villages/${rig.g.a}/evidence`)) uploads.push(q.method());
    });
    await page.click(submit);
    await expect.poll(() => page.textContent('#record-photo-error')).toBe('该事项需要照片凭证，请选择照片 / this item needs a photo: choose one');
    expect(reports).toEqual([]);
    // Points out of the item's range: the API's refusal beside the points; what was typed stays.
    await page.setInputFiles('#record-photo', { name: 'litter.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.fill('#record-points', '5');
    await page.fill('#record-note', '村口垃圾桶旁乱扔塑料袋');
    await page.click(submit);
    await expect.poll(() => page.textContent('#record-points-error')).toBe('分值 5 超出细则范围 2–2 分 / 5 is outside DED-LITTER\'s range 2–2');
    expect(await page.inputValue('#record-villager')).toBe('王小明');
    // Within it, a double click: one record, its photo kept once.
    await page.fill('#record-points', '2');
    await page.locator(submit).dblclick();
    await expect.poll(() => page.textContent('#record-ok')).toBe('已登记：王小明（wang）「乱扔垃圾」扣 2 分，待审核，请在上面「待审核申报」中通过 / filed; approve it in the claims above');
    expect(reports).toEqual(['POST', 'POST']); // the refused one, then one for the double click
    expect(uploads).toEqual(['POST']); // the photo of the refused send, named again
    const claims = (await api<{ claims: { id: string; item_code: string; origin: string; status: string; points: number; evidence: string; note: string }[] }>('GET', '/claims?villager=wang')).claims;
    expect(claims).toEqual([expect.objectContaining({ item_code: 'DED-LITTER', origin: 'village', status: 'reported', points: 2, evidence: expect.stringMatching(/^photo:ev-/), note: '村口垃圾桶旁乱扔塑料袋' })]);
    expect(Number((await rig.g.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM gov_evidence WHERE village = $1', [rig.g.a]))[0]!.n)).toBe(1);
    litter = claims[0]!.id;
    // The API files it reported: it waits in the claims list, with its photo; approved there, the balance changes.
    const row = page.locator(`#claims tr[data-claim="${litter}"]`);
    await expect.poll(() => row.textContent()).toContain('村里登记');
    expect(await row.textContent()).toContain('乱扔垃圾（扣 2 分）');
    expect(await row.locator('a').textContent()).toBe('查看照片 Photo');
    expect(await row.locator('input[name=points]').inputValue()).toBe('2');
    expect(await balance('wang')).toBe(10);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-record.png'), fullPage: true });
    await row.locator('form[data-act=approve] button').click();
    // the village filed it, not 王小明: the line says whose record it was (it said 已通过 王小明 的申报, a report he never made)
    await expect.poll(() => page.textContent('#claims-ok')).toBe('已通过 村里登记的 王小明（wang）「乱扔垃圾」：-2 分，当前余额 8 分 / approved the village\'s record for 王小明（wang）: -2, balance 8');
    expect(await balance('wang')).toBe(8);
    await expect.poll(() => page.locator('#villagers tr[data-villager=wang] .balance-cell').textContent()).toBe('8');
    await expect.poll(() => page.locator(`#decided tr[data-claim="${litter}"]`).textContent()).toContain('已通过');

    // An award with a witness, for a villager typed by id; the form is a new one (a new request id).
    await page.fill('#record-villager', 'li');
    await page.selectOption('#record-item', 'CIV-GOOD-DEED');
    expect(await page.textContent('#record-range')).toBe('（加 5–20 分，在此范围内填写 / within this range）');
    expect(await page.isVisible('#record-witness')).toBe(true);
    await page.fill('#record-points', '6');
    await page.click(submit);
    await expect.poll(() => page.textContent('#record-witness-error')).toBe('该事项需要证明人，请填写证明人姓名 / this item needs a witness: give their name');
    await page.fill('#record-witness', '村主任');
    await page.click(submit);
    await expect.poll(() => page.textContent('#record-ok')).toBe('已登记：村民li（li）「拾金不昧」加 6 分，待审核，请在上面「待审核申报」中通过 / filed; approve it in the claims above');
    expect((await api<{ claims: unknown[] }>('GET', '/claims?villager=li')).claims).toEqual([expect.objectContaining({ item_code: 'CIV-GOOD-DEED', points: 6, evidence: '证明人：村主任', status: 'reported' })]);
    // Nobody of that name: said beside the field, nothing sent.
    await page.fill('#record-villager', '赵六');
    await page.click(submit);
    await expect.poll(() => page.textContent('#record-villager-error')).toBe('本村没有叫「赵六」的村民，请填编号 / no villager named 赵六: give the id');
    expect(reports.length).toBe(3);
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('reverses an approval with a reason, confirmed first, once for a double click; the reversal is shown', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    await signIn(page, 'clerk-a');
    const row = page.locator(`#decided tr[data-claim="${litter}"]`);
    await expect.poll(() => row.textContent()).toContain('已通过');
    expect(await row.textContent()).toContain('-2');
    const reversals: string[] = [];
    page.on('request', (q) => void (q.url().endsWith(`/claims/${litter}/reverse`) && reversals.push(q.method())));
    const button = row.locator('form[data-act=reverse] button');
    // No reason: asked for beside it.
    await button.click();
    await expect.poll(() => row.locator('[data-error=reason]').textContent()).toBe('请写明冲正理由 / give a reason');
    // Cancelled at the confirmation: nothing sent.
    await row.locator('input[name=reason]').fill('照片上的人不是王小明');
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await button.click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('冲正 王小明（wang） 的「乱扔垃圾（-2 分）」');
    expect(reversals).toEqual([]);
    // Confirmed, with a double click: one reversal.
    page.on('dialog', (d) => void d.accept());
    await button.dblclick();
    await expect.poll(() => page.textContent('#decided-ok')).toBe('已冲正：王小明（wang） 的「乱扔垃圾（-2 分）」，+2 分，当前余额 10 分 / reversed: +2, balance 10');
    expect(reversals).toEqual(['POST']);
    await expect.poll(() => row.locator('.status').textContent()).toBe('已冲正 reversed：照片上的人不是王小明');
    expect(await row.locator('form').count()).toBe(0);
    expect(await balance('wang')).toBe(10);
    await expect.poll(() => page.locator('#villagers tr[data-villager=wang] .balance-cell').textContent()).toBe('10');
    expect(await api('GET', `/claims/${litter}`)).toMatchObject({ status: 'reversed', reason: '照片上的人不是王小明' });
    const events = (await api<{ events: { subject: string; action: string }[] }>('GET', '/audit')).events.filter((e) => e.subject === `claim:${litter}`);
    expect(events.map((e) => e.action).sort()).toEqual(['approve', 'report.village', 'reverse']);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-reverse.png'), fullPage: true });
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('a town account sees the approved points but no record form nor reversal; the API refuses it both', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    await signIn(page, 'town-office');
    await page.selectOption('#village', rig.g.a);
    await page.click('#choose-form button[type=submit]');
    await expect.poll(() => page.locator(`#decided tr[data-claim="${litter}"] .status`).textContent()).toBe('已冲正 reversed：照片上的人不是王小明');
    expect(await page.isVisible('#record-card')).toBe(false);
    expect(await page.isVisible('#record-form')).toBe(false);
    expect(await page.locator('#decided form, #decided td.manage').count()).toBe(0);
    await context.close();
    expect(problems).toEqual([]);
    // The server decides: a town session's record and reversal are refused (403 on role), nothing filed.
    const town = await rig.g.staff('town-two');
    const before = (await api<{ claims: unknown[] }>('GET', '/claims')).claims.length;
    const rec = await rig.g.call(town, 'POST', `/api/villages/${rig.g.a}/reports`, { item: 'DED-LITTER', villager: 'wang', points: 2, evidence: '证明人：镇里', request: 'town-tries-a-record-0001' });
    expect({ status: rec.statusCode, field: rec.json().field }).toEqual({ status: 403, field: 'role' });
    const ok = await rig.g.call(REVIEW, 'POST', `/api/villages/${rig.g.a}/claims/${(await api<{ claims: { id: string }[] }>('GET', '/claims?villager=li')).claims[0]!.id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    const approved = ok.json() as { claim: { id: string } };
    const rev = await rig.g.call(town, 'POST', `/api/villages/${rig.g.a}/claims/${approved.claim.id}/reverse`, { reason: '镇里试试' });
    expect({ status: rev.statusCode, field: rev.json().field }).toEqual({ status: 403, field: 'role' });
    expect((await api<{ claims: unknown[] }>('GET', '/claims')).claims.length).toBe(before);
    expect((await api('GET', `/claims/${approved.claim.id}`)).status).toBe('approved');
  }, 120_000);
});
