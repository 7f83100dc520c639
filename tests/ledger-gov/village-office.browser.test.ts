/**
 * The village office page (/village) in a real browser (Debian's chromium through
 * playwright-core), on the ledger's own app and port. Without a session it sends the browser to
 * /login?next=/village. A village account signs in and: approves a self-report (a point out of
 * the item's range is refused beside the field first; a double tap sends one request; the
 * balance changes at the API), rejects a task claim with a reason, publishes a task (refused
 * points first) and closes it, changes a product's price (a tolerance refused beside its field
 * first) and sees the villagers' balances. A town account reads the same village without any
 * form to change it. A task whose answer is lost (a weak network) is published once, pressed again
 * or after a reload. No script errors, no CSP violations. Screenshots go to test-results/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { holdRequests, loseAnswers } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, SHOTS, watchPage, type BrowserRig } from './browser-rig.ts';


describe(`village office page in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  /** The self-report (GOV-SUGGESTION, 5–10 points) and the task claim (GOV-MEETING, 2 points). */
  let selfReport: string;
  let taskClaim: string;
  const problems: string[] = [];
  // 400s, the 401 of the first visit and the unknown villager's 404 are refusals the test provokes, 409 a
  // form sent again with other content, ERR_FAILED an answer the test drops (loseAnswers)
  const watch = (page: Page) => watchPage(page, problems, /status of 40[0149] |net::ERR_FAILED/);
  const signIn = (page: Page, username: string) => rig.loginForm(page, username, '/village');
  /** Village a's API by its bearer token, as a check beside the page. */
  const api = <T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> => rig.api<T>(method, url, body);

  beforeAll(async () => {
    rig = await browserRig();
    const { g } = rig;
    await rig.addStaff('clerk-a', g.a, '甲村文书');
    await rig.addStaff('town-office', undefined, '镇办公室');
    const zhang = await g.villager(g.a, 'zhang');
    const li = await g.villager(g.a, 'li');
    await api('POST', '/entries', { id: 'open-zhang', villager: 'zhang', kind: 'award', points: 10, reason: '开户积分' });
    // A self-report and a reported task claim, as the villagers' phones send them.
    const r = await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-SUGGESTION', note: '建议在村口装路灯' });
    expect(r.statusCode, r.body).toBe(201);
    selfReport = (r.json() as { id: string }).id;
    const task = await api<{ id: string }>('POST', '/tasks', { title: '参加三月村民会议', item: 'GOV-MEETING', max_claimants: 5 });
    const c = await g.call(li, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`);
    taskClaim = (c.json() as { id: string }).id;
    expect((await g.call(li, 'POST', `/api/villages/${g.a}/claims/${taskClaim}/report`, { evidence: '证明人：村主任', note: '已到会' })).statusCode).toBe(200);
    await api('PUT', '/products/salt', { name: '食盐', price: 3, unit_g: 400, tolerance_g: 20, active: true });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('a village account decides claims, publishes and closes a task, changes a price', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    // No session: to the login, and back.
    await page.goto(`${rig.base}/village`);
    await page.waitForURL(/\/login\?next=%2Fvillage$/);
    await signIn(page, 'clerk-a');
    expect(await page.textContent('#who')).toBe(`甲村文书（村级 Village · ${rig.g.a}）`);
    expect(await page.isVisible('#read-only')).toBe(false);
    expect(await page.textContent('#scope')).toBe(`村（${rig.g.a}）`);
    expect(await page.isDisabled('#village')).toBe(true);
    const row = (claim: string) => page.locator(`#claims tr[data-claim="${claim}"]`);
    await expect.poll(() => page.locator('#claims tr[data-claim]').count()).toBe(2);
    expect(await row(selfReport).textContent()).toContain('提出合理化建议被采纳');
    expect(await row(selfReport).textContent()).toContain('村民自行申报');
    expect(await row(taskClaim).textContent()).toContain('任务：参加三月村民会议');
    expect(await row(taskClaim).textContent()).toContain('证明人：村主任');

    // Points outside the item's range: the API's refusal, beside the points.
    await row(selfReport).locator('input[name=points]').fill('50');
    await row(selfReport).locator('form[data-act=approve] button').click();
    await expect.poll(() => row(selfReport).locator('[data-error=points]').textContent()).toBe('分值 50 超出细则范围 5–10 分 / 50 is outside GOV-SUGGESTION\'s range 5–10');
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-office-claims.png'), fullPage: false });
    // Rejecting the task claim needs a reason.
    await row(taskClaim).locator('form[data-act=reject] button').click();
    await expect.poll(() => row(taskClaim).locator('[data-error=reason]').textContent()).toBe('请写明驳回理由 / give a reason');
    // Within it; a double tap sends one request.
    const approvals: string[] = [];
    page.on('request', (q) => void (q.url().endsWith(`/claims/${selfReport}/approve`) && approvals.push(q.method())));
    await row(selfReport).locator('input[name=points]').fill('8');
    await row(selfReport).locator('form[data-act=approve] button').dblclick();
    await expect.poll(() => page.textContent('#claims-ok')).toBe('已通过 村民zhang（zhang） 自行申报的「提出合理化建议被采纳」：+8 分，当前余额 18 分 / approved 村民zhang（zhang）\'s own claim: +8, balance 18');
    expect(approvals).toEqual(['POST']);
    expect((await api('GET', '/villagers/zhang')).balance).toBe(18);
    await expect.poll(() => page.locator(`#villagers tr[data-villager=zhang] .balance-cell`).textContent()).toBe('18');

    // Reject the task claim with a double tap: the line above the table that said 已通过 is cleared as
    // the request goes and keeps its place while it runs, so the button stays under the second tap.
    await row(taskClaim).locator('input[name=reason]').fill('会议签到表上没有');
    const rejectButton = row(taskClaim).locator('form[data-act=reject] button');
    const where = await rejectButton.boundingBox();
    const rejections: string[] = [];
    page.on('request', (q) => void (q.url().endsWith(`/claims/${taskClaim}/reject`) && rejections.push(q.method())));
    const requests = await holdRequests(page, '**/reject');
    await rejectButton.dblclick();
    await expect.poll(() => page.textContent('#claims-ok')).toBe('');
    expect(await rejectButton.boundingBox()).toEqual(where);
    await requests.answer();
    await expect.poll(() => page.textContent('#claims-ok')).toBe('已驳回 村民li（li） 认领的任务「参加三月村民会议」 / rejected 村民li（li）\'s task report');
    expect(rejections).toEqual(['POST']);
    await expect.poll(() => page.textContent('#claims')).toContain('没有待审核的申报');
    expect((await api('GET', `/claims/${taskClaim}`))).toMatchObject({ status: 'rejected', reason: '会议签到表上没有' });

    // Publish a task: points out of range refused beside the field, then published.
    await page.fill('#task-title', '清理村口河道');
    await page.selectOption('#task-item', 'ENV-COURTYARD');
    expect(await page.textContent('#task-range')).toBe('（5–10 分）');
    await page.fill('#task-points', '20');
    await page.fill('#task-max_claimants', '3');
    await page.click('#task-form button[type=submit]');
    await expect.poll(() => page.textContent('#task-points-error')).toBe('分值 20 超出细则范围 5–10 分 / 20 is outside ENV-COURTYARD\'s range 5–10');
    expect(await page.inputValue('#task-title')).toBe('清理村口河道');
    await page.fill('#task-points', '6');
    await page.click('#task-form button[type=submit]');
    await expect.poll(() => page.textContent('#task-ok')).toBe('已发布任务「清理村口河道」，6 分 / published');
    const published = (await api<{ tasks: { id: string; title: string; points: number; max_claimants: number; status: string }[] }>('GET', '/tasks')).tasks.find((t) => t.title === '清理村口河道');
    expect(published).toMatchObject({ points: 6, max_claimants: 3, status: 'open' });
    const taskRow = page.locator(`#tasks tr[data-task="${published!.id}"]`);
    await expect.poll(() => taskRow.textContent()).toContain('进行中');
    // Close it (after a confirmation).
    page.once('dialog', (d) => void d.accept());
    await taskRow.locator('form[data-act=close] button').click();
    await expect.poll(() => taskRow.textContent()).toContain('已关闭');
    expect((await api('GET', `/tasks/${published!.id}`)).status).toBe('closed');

    // Change the salt's price: a tolerance refused beside its field first.
    await page.click('#products tr[data-sku=salt] button[data-edit=salt]');
    expect(await page.inputValue('#product-price')).toBe('3');
    expect(await page.getAttribute('#product-sku', 'readonly')).not.toBeNull();
    await page.fill('#product-price', '4');
    await page.fill('#product-tolerance_g', '300');
    await page.click('#product-form button[type=submit]');
    await expect.poll(() => page.textContent('#product-tolerance_g-error')).toBe('重量误差必须小于单件重量的一半 / tolerance_g (300) must be less than half of unit_g (400)');
    expect((await api<{ products: { price: number }[] }>('GET', '/products')).products[0]!.price).toBe(3);
    await page.fill('#product-tolerance_g', '20');
    await page.click('#product-form button[type=submit]');
    await expect.poll(() => page.textContent('#product-ok')).toBe('已保存「食盐」，4 积分，将同步到各门店 / saved; the stores get it by sync');
    expect((await api('GET', '/products')).products).toEqual([expect.objectContaining({ sku: 'salt', name: '食盐', price: 4, unit_g: 400, tolerance_g: 20, active: true })]);
    await expect.poll(() => page.locator('#products tr[data-sku=salt] .price').textContent()).toBe('4');

    // Look a villager up by id; an unknown one is refused beside the field.
    await page.fill('#lookup-villager', 'nobody');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-villager-error')).toBe('找不到该村民 / no such villager');
    await page.fill('#lookup-villager', 'li');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-ok')).toContain('村民li（li）：正常，余额 0 分');
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-office.png'), fullPage: true });
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('a town account reads a village it chooses, with nothing to change', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    await page.goto(`${rig.base}/login?next=${encodeURIComponent('/village')}`);
    await signIn(page, 'town-office');
    expect(await page.isVisible('#read-only')).toBe(true);
    await page.selectOption('#village', rig.g.a);
    await page.click('#choose-form button[type=submit]');
    await expect.poll(() => page.textContent('#scope')).toBe(`村（${rig.g.a}） · 只读 read only`);
    expect(page.url()).toBe(`${rig.base}/village?village=${rig.g.a}`);
    await expect.poll(() => page.locator('#tasks tr[data-task]').count()).toBe(2);
    await expect.poll(() => page.locator('#products tr[data-sku=salt] .price').textContent()).toBe('4');
    await expect.poll(() => page.locator('#villagers tr[data-villager=zhang] .balance-cell').textContent()).toBe('18');
    expect(await page.locator('#main-view form[data-act], #products button[data-edit]').count()).toBe(0);
    expect(await page.isVisible('#task-form')).toBe(false);
    expect(await page.isVisible('#product-form')).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-office-town.png'), fullPage: true });
    // A reload shows the same village.
    await page.reload();
    await expect.poll(() => page.textContent('#scope')).toBe(`村（${rig.g.a}） · 只读 read only`);
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('a task whose answer is lost is published once: pressed again, or after a reload; other content after a lost answer is told, then published', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    await page.goto(`${rig.base}/login?next=${encodeURIComponent('/village')}`);
    await signIn(page, 'clerk-a');
    const titled = async (title: string) => (await api<{ tasks: { title: string }[] }>('GET', '/tasks')).tasks.filter((t) => t.title === title).length;
    const fill = async (title: string) => {
      await page.fill('#task-title', title);
      await page.selectOption('#task-item', 'GOV-MEETING');
      await page.fill('#task-max_claimants', '5');
    };
    const publish = '#task-form button[type=submit]';
    const unreachable = '连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network';
    // Published, the answer lost: the page says so; pressed again, the same task is answered.
    await fill('四月村民会议');
    const first = await loseAnswers(page, '**/tasks');
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-error')).toBe(unreachable);
    expect({ lost: first.lost(), tasks: await titled('四月村民会议') }).toEqual({ lost: 1, tasks: 1 });
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-ok')).toBe('已发布任务「四月村民会议」，2 分 / published');
    expect(await titled('四月村民会议')).toBe(1);
    // Lost again, then the page reloaded and the form filled in again: still one task.
    await fill('五月村民会议');
    await loseAnswers(page, '**/tasks');
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-error')).toBe(unreachable);
    await page.reload();
    await page.waitForSelector('#main-view:not([hidden])');
    await fill('五月村民会议');
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-ok')).toBe('已发布任务「五月村民会议」，2 分 / published');
    expect(await titled('五月村民会议')).toBe(1);
    // Lost, and then another task typed into the form: the page says the first was published, and
    // the next press publishes the new one, once.
    await fill('六月村民会议');
    await loseAnswers(page, '**/tasks');
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-error')).toBe(unreachable);
    await fill('六月村民代表会议');
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-error')).toContain('已发布任务「六月村民会议」');
    expect(await titled('六月村民代表会议')).toBe(0);
    await expect.poll(() => page.locator('#tasks tr[data-task]').filter({ hasText: '六月村民会议' }).count()).toBe(1);
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-ok')).toBe('已发布任务「六月村民代表会议」，2 分 / published');
    expect([await titled('六月村民会议'), await titled('六月村民代表会议')]).toEqual([1, 1]);
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);
});
