/**
 * The passbook (积分存折) on a phone (375×667, a phone's browser, which zooms a page wider than
 * the screen out to fit) in a real browser (Debian's chromium through playwright-core): the
 * villager's own (/m/passbook) and the village office's (/passbook, staff signed in), with
 * entries whose reasons are long and a villager id of one long word. Before, that id in the
 * book's head made it 381 px wide and the browser zoomed out. The page is no wider than the phone, its print button is what
 * a tap at its centre meets, and the entries' table scrolls inside its card. No script errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageProblems, pageWidth, PHONE, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { type StaffSession } from './gov-app.ts';
import { browserRig, tappable, type BrowserRig } from './browser-rig.ts';

/** A villager id as some villages make them (village, ID card number, name): one word, no place to break. */
const ID = 'dongcun_330102199001011234_zhangsan';

describe(`the passbook at phone width in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let town: StaffSession;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      town = await g.staff('town-office');
      await g.villager(g.a, ID);
      const entries = [
        { id: 'open-zhang', kind: 'award', points: 120, reason: '开户积分' },
        { id: 'lane-zhang', kind: 'award', points: 15, reason: '清扫村东巷道及村口公共区域，清理堆放的建筑材料并恢复道路通行' },
        { id: 'fine-zhang', kind: 'penalty', points: -10, reason: '建筑材料乱堆占道（村西头老桥边，连续三天未清理）' },
      ];
      for (const e of entries) expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { villager: ID, ...e })).statusCode).toBeLessThan(300);
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the villager’s own passbook fits the phone', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, ID);
    problems.length = 0; // the login page's first look at its session is a 401
    await page.goto(`${rig.base}/m/passbook`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await page.textContent('#balance')).toBe('125');
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    expect(await tappable(page, '#print')).toBe(true);
    expect(await tappable(page, '#back')).toBe(true);
    await page.screenshot({ path: 'test-results/passbook-phone.png', fullPage: true });
    // the table scrolls inside its card, the card stays within the page
    const box = await page.locator('#book').boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('the village office’s passbook (its form, then the book) fits the phone', async () => {
    const context = await phoneContext(rig.browser);
    await rig.asStaff(context, town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/passbook`);
    await page.waitForSelector('#ask:not([hidden])');
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.fill('#ask-village', rig.g.a);
    await page.fill('#ask-villager', ID);
    expect(await tappable(page, '#ask-form button[type=submit]')).toBe(true);
    await page.locator('#ask-form button[type=submit]').tap();
    await page.waitForSelector('#book:not([hidden])');
    expect(await page.textContent('#name')).toBe(`村民${ID}`);
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    expect(await tappable(page, '#print')).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  // Before, the page never read `limit`: every line was shown and no balance brought forward.
  it('?limit=N shows the last N lines and the balance brought forward (承前结余), the office’s and the villager’s own', async () => {
    const context = await phoneContext(rig.browser);
    await rig.asStaff(context, town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/passbook?village=${rig.g.a}&villager=${ID}&limit=2`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await page.locator('#lines tr').count()).toBe(2);
    expect(await page.textContent('#opening')).toBe('承前结余 120 分');
    expect(await page.textContent('#lines')).not.toContain('开户积分');
    expect(await page.textContent('#balance')).toBe('125');
    // a limit the API refuses is said, not ignored
    await page.goto(`${rig.base}/passbook?village=${rig.g.a}&villager=${ID}&limit=0`);
    await expect.poll(() => page.textContent('#error')).toContain('limit');
    expect(await page.isHidden('#book')).toBe(true);
    problems.length = 0; // the refused limit's 400
    await rig.villagerSignIn(page, ID);
    problems.length = 0; // the login page's first look at its session is a 401
    await page.goto(`${rig.base}/m/passbook?limit=1`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await page.locator('#lines tr').count()).toBe(1);
    expect(await page.textContent('#opening')).toBe('承前结余 135 分');
    expect(await page.textContent('#lines')).toContain('建筑材料乱堆占道');
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
