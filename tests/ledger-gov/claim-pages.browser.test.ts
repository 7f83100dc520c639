/**
 * The pages show a claim as it was filed (claim-terms.test.ts: the API gives each claim its
 * `direction`, `item_name`, `item_points_min` and `item_points_max`), in chromium. Before, the
 * village office (/village: 待审核的申报, 已通过的积分) and the phone page (/m/: 我的申报) took the
 * sign, the name and the range from the item's latest version: an item edited after a claim
 * (add → deduct, a new range, a new name) turned an award already counted into a −N on screen.
 * And on the phone page: a claim waiting for review showed its points as a green +N, as if they
 * counted; a task that needs a photo had a bare file picker; a refused 上报完成 said so at the
 * bottom of the list, not beside the claim it is about.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { pageProblems, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import type { GovApp } from './gov-app.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

const item = (over: Record<string, unknown>) => ({ name: '帮扶孤寡老人', category: 'volunteering', direction: 'add', points_min: 5, points_max: 10, evidence: 'none', ...over });

describe(`the pages show a claim under the terms it was filed (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let g: GovApp;
  /** zhang's claims of V-HELP (an award) and V-FINE (a deduction), filed before both items changed. */
  const ids = { pending: '', finePending: '', fine: '', help: '', rejected: '' };
  let sweep: string;
  let meeting: string;

  beforeAll(async () => {
    rig = await browserRig(async (app) => {
      g = app;
      const zhang = await g.villager(g.a, 'zhang');
      const call = async (who: string, method: 'POST' | 'PUT', url: string, body: object = {}) => {
        const r = await g.call(who, method, `/api/villages/${g.a}${url}`, body);
        expect(r.statusCode, r.body).toBeLessThan(300);
        return r.json() as { id: string };
      };
      await call(g.va, 'POST', '/items', { code: 'V-HELP', ...item({}) });
      await call(g.va, 'POST', '/items', { code: 'V-FINE', ...item({ name: '乱扔垃圾', category: 'environment', direction: 'deduct', points_min: 2, points_max: 10 }) });
      const file = async (code: string, points: number) => (await call(g.va, 'POST', '/reports', { item: code, villager: 'zhang', points })).id;
      ids.pending = await file('V-HELP', 6);
      ids.fine = await file('V-FINE', 4);
      ids.finePending = await file('V-FINE', 3);
      ids.help = await file('V-HELP', 7);
      ids.rejected = await file('V-HELP', 8);
      await call(g.va, 'POST', `/claims/${ids.help}/approve`);
      await call(g.va, 'POST', `/claims/${ids.fine}/approve`);
      await call(g.va, 'POST', `/claims/${ids.rejected}/reject`, { reason: '重复申报' });
      // the library changes: the help becomes a deduction of 20–30 under another name, the fine an award
      await call(g.va, 'PUT', '/items/V-HELP', item({ name: '帮扶（改）', direction: 'deduct', points_min: 20, points_max: 30 }));
      await call(g.va, 'PUT', '/items/V-FINE', item({ name: '乱扔垃圾（改）', category: 'environment', direction: 'add', points_min: 20, points_max: 30 }));
      // two claimed tasks: one needs a photo, the other nothing
      sweep = (await call(g.va, 'POST', '/tasks', { title: '清扫村东巷道', item: 'ENV-SWEEP-LANE', max_claimants: 3 })).id;
      meeting = (await call(g.va, 'POST', '/tasks', { title: '村民大会', item: 'GOV-MEETING', max_claimants: 3 })).id;
      await call(zhang, 'POST', `/tasks/${sweep}/claim`);
      await call(zhang, 'POST', `/tasks/${meeting}/claim`);
    });
    await rig.addStaff('clerk', g.a);
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the village office: the claim to decide and the approved points as filed', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.staffSignIn(page, 'clerk');
    problems.length = 0; // the login page's first look at its session is a 401
    const row = page.locator(`#claims tr[data-claim="${ids.pending}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe('帮扶孤寡老人（加 5–10 分）');
    expect(await row.locator('input[name=points]').getAttribute('placeholder')).toBe('5–10');
    expect(await page.locator(`#claims tr[data-claim="${ids.finePending}"] td`).nth(2).textContent()).toBe('乱扔垃圾（扣 2–10 分）');
    const decided = (id: string) => page.locator(`#decided tr[data-claim="${id}"] td`);
    await decided(ids.help).first().waitFor();
    expect(await decided(ids.help).nth(2).textContent()).toBe('帮扶孤寡老人');
    expect(await decided(ids.help).nth(3).textContent()).toBe('+7');
    expect(await decided(ids.fine).nth(2).textContent()).toBe('乱扔垃圾');
    expect(await decided(ids.fine).nth(3).textContent()).toBe('-4');
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  /** Each line of 我的申报 whose words start with `what`: its words, its points' text and class, and whether they are struck through. */
  const line = (page: Page, what: string) => page.locator('#claims li', { hasText: what }).evaluateAll((lis) => lis.map((l) => {
    const [words, pts] = (l as unknown as { children: { textContent: string; className: string }[] }).children;
    const style = (globalThis as unknown as { getComputedStyle(e: unknown): { textDecorationLine: string; color: string } }).getComputedStyle(pts);
    return { what: words!.textContent, points: pts!.textContent, cls: pts!.className, struck: style.textDecorationLine === 'line-through', color: style.color };
  }));

  it('the phone page: the sign and name as filed; a claim in review not shown as counted', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'zhang');
    problems.length = 0;
    await expect.poll(() => page.textContent('#balance')).toBe('3');
    const help = await line(page, '帮扶孤寡老人');
    expect(help.map((l) => [l.what, l.points, l.cls, l.struck])).toEqual(expect.arrayContaining([
      ['帮扶孤寡老人 · 待审核 in review', '+6（审核后计入）', 'pending', false],
      ['帮扶孤寡老人 · 已通过 approved', '+7', 'plus', false],
      ['帮扶孤寡老人 · 未通过 rejected（重复申报）', '+8', 'void', true],
    ]));
    expect(help).toHaveLength(3);
    // in review: grey, not the green of points that count
    const pending = help.find((l) => l.cls === 'pending')!;
    expect(pending.color).not.toBe(help.find((l) => l.cls === 'plus')!.color);
    expect(await page.getAttribute('#claims .pending', 'title')).toBe('审核后计入 counted once approved');
    expect(await line(page, '乱扔垃圾')).toEqual(expect.arrayContaining([
      expect.objectContaining({ what: '乱扔垃圾 · 已通过 approved', points: '-4', cls: 'minus' }),
      expect.objectContaining({ what: '乱扔垃圾 · 待审核 in review', points: '-3（审核后计入）', cls: 'pending' }),
    ]));
    expect(await page.locator('#claims li', { hasText: '（改）' }).count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('the phone page: a task that needs a photo says so, and a refused 上报完成 is said beside its claim', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'zhang');
    problems.length = 0;
    const sweepRow = page.locator(`li:has(button[data-claim="${sweep}.zhang"])`);
    const meetingRow = page.locator(`li:has(button[data-claim="${meeting}.zhang"])`);
    await sweepRow.waitFor();
    // the photo's picker is named by its label, seen on the page
    expect(await sweepRow.getByLabel('照片（必填）Photo (required)').getAttribute('type')).toBe('file');
    expect(await meetingRow.getByLabel('照片（可不填）Photo (optional)').getAttribute('type')).toBe('file');
    // sent without its photo: refused, said beside that claim, not the other, not under the list
    await sweepRow.locator('button').click();
    await expect.poll(() => sweepRow.locator('.err').textContent()).toBe('该事项需要照片凭证 / rule item ENV-SWEEP-LANE needs evidence (photo)');
    expect(await meetingRow.locator('.err').textContent()).toBe('');
    expect(await page.locator('#claim-error').count()).toBe(0);
    expect(await sweepRow.locator('.err').getAttribute('role')).toBe('alert');
    problems.length = 0; // the refusal's 400
    await page.screenshot({ path: 'test-results/claim-pages-phone.png', fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
