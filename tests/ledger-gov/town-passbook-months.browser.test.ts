/**
 * /town in a real browser (Debian's chromium through playwright-core), at a phone's width, signed
 * in as the town. Two things the page did wrong:
 * - 打印积分存折 with 全镇 (the whole town) chosen did nothing seen: its message 请先选择一个村
 *   went to the top of the page, off the screen, and no village could be chosen by the form. Now
 *   the form has its own village field (the roll-up's choice by default); without one the message
 *   is beside the form, in view; with one chosen there the passbook opens.
 * - 每月积分明细 showed issued, deducted and redeemed but not the reversals (`adjusted`) nor the
 *   refunds, so its figures did not add up to the balances. Now every kind is a column and
 *   issued − deducted − redeemed + refunded + adjusted is the month's change of the balances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageProblems, phoneContext, PHONE } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { type StaffSession } from './gov-app.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

describe(`/town: the passbook's village and the months' reversals in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let town: StaffSession;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      town = await g.staff('town-office');
      await g.villager(g.a, 'zhang');
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang`, { name: '张三' })).statusCode).toBe(200);
      // an award of 12 reversed, a meeting's 2 kept, a deduction of 2
      const file = async (body: object) => {
        const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { villager: 'zhang', ...body });
        expect(r.statusCode, r.body).toBe(201);
        return (r.json() as { id: string }).id;
      };
      const decide = async (id: string, how: 'approve' | 'reverse', body: object = {}) => expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/${how}`, body)).statusCode).toBe(200);
      await decide(await file({ item: 'GOV-MEETING' }), 'approve');
      await decide(await file({ item: 'DED-LITTER', evidence: '村委会存档照片 3 号' }), 'approve');
      const flood = await file({ item: 'SAF-FLOOD', points: 12, evidence: '王主任' });
      await decide(flood, 'approve');
      await decide(flood, 'reverse', { reason: '重复申报' });
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('每月积分明细 has the reversals: its columns add up to the balance; the passbook form has its own village', async () => {
    const context = await rig.asStaff(await phoneContext(rig.browser), town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    // the roll-up's first query starts its worker (SQLite), slow on a loaded machine
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(rig.g.a);

    // the months' table, by its headers
    const table = await page.locator('table:has(#months)').evaluate((t: unknown) => {
      const el = t as { querySelectorAll(s: string): ArrayLike<{ textContent: string; children: ArrayLike<{ textContent: string }> }> };
      const heads = Array.from(el.querySelectorAll('thead th')).map((h) => h.textContent.split(' ')[0]!);
      return Array.from(el.querySelectorAll('#months tr')).map((r) => Object.fromEntries(Array.from(r.children).map((c, i) => [heads[i], c.textContent])));
    });
    expect(table).toEqual([expect.objectContaining({ 村: rig.g.a, 村名: '村', 发放: '14', 其他发放: '0', 扣减: '2', 兑换: '0', 退回: '0', '调整（含撤销）Adjusted,': '-12' })]);
    const [m] = table;
    const change = Number(m!['发放']) + Number(m!['其他发放']) - Number(m!['扣减']) - Number(m!['兑换']) + Number(m!['退回']) + Number(m!['调整（含撤销）Adjusted,']);
    const balance = ((await rig.g.call(rig.g.va, 'GET', `/api/villages/${rig.g.a}/villagers/zhang/passbook`)).json() as { balance: number }).balance;
    expect({ change, balance }).toEqual({ change: 0, balance: 0 });

    // 全镇 chosen, no village by the form: said beside the form, in view
    expect(await page.inputValue('#village')).toBe('');
    await page.fill('#pb-villager', 'zhang');
    await page.locator('#passbook button[type=submit]').tap();
    await expect.poll(() => page.textContent('#pb-error')).toBe('请先在“村”里选择一个村，再打开存折 / choose the village (村) of the passbook first');
    const box = await page.locator('#pb-error').boundingBox();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height).toBeLessThanOrEqual(PHONE.height);
    const field = await page.locator('#pb-village').boundingBox();
    expect(field!.y).toBeGreaterThanOrEqual(0);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('pb-village');
    expect(await page.textContent('#error')).toBe('');
    // the village chosen by the form: the passbook opens
    await page.selectOption('#pb-village', rig.g.a);
    const opened = context.waitForEvent('page');
    await page.locator('#passbook button[type=submit]').tap();
    const passbook = await opened;
    await passbook.waitForSelector('#book:not([hidden])');
    expect(await passbook.textContent('#name')).toBe('张三');
    expect(await page.textContent('#pb-error')).toBe('');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
