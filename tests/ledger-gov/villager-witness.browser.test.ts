/**
 * The villager's phone page (/m/) in a real browser (Debian's chromium through playwright-core),
 * at a phone's width, for a rule item that needs a witness (evidence 'witness', 需证明人) and for
 * how 我的申报 shows points. Before, the page had only a note and a photo: a claimed task of such an
 * item (帮邻居收麦子, 邻里互助) and a self-report of it were refused by the ledger (该事项需要证明人),
 * whatever the note said. Now the page asks for the witness's name (证明人姓名) where the item needs
 * one, refuses an empty one itself naming the field, and sends the name as the claim's evidence;
 * a photo item still asks for its photo. And 我的申报 showed a deduction (乱扔垃圾 · 已通过) as a
 * green +2 and a rejected or reversed claim's points as +N: now a deduction is -2 (not green), as
 * the history shows it, and a rejected or reversed claim's points are struck through, not counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { pageProblems, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import type { GovApp } from './gov-app.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

const NO_WITNESS = '请填写“证明人姓名”：这件事需要有人作证 / fill in the witness\'s name (证明人姓名): this item needs a witness';

describe(`the phone page: witnesses and claims' points in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let g: GovApp;
  let task: string;

  beforeAll(async () => {
    rig = await browserRig(async (app) => {
      g = app;
      await setup();
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  /** Zhang's claims (an award, a deduction, a rejected and a reversed one) and a task of an item that needs a witness. */
  async function setup() {
    await g.villager(g.a, 'zhang');
    const file = async (body: object) => {
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { villager: 'zhang', ...body });
      expect(r.statusCode, r.body).toBe(201);
      return (r.json() as { id: string }).id;
    };
    const decide = async (id: string, how: 'approve' | 'reject' | 'reverse', body: object = {}) => {
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/${how}`, body);
      expect(r.statusCode, r.body).toBe(200);
    };
    // an award, so that the deduction and the reversal leave a balance
    await decide(await file({ item: 'GOV-MEETING', note: 'open' }), 'approve');
    await decide(await file({ item: 'DED-LITTER', evidence: '村委会存档照片 3 号' }), 'approve');
    await decide(await file({ item: 'CIV-GOOD-DEED', points: 5, evidence: '李会计' }), 'reject', { reason: '照片看不清' });
    const reversed = await file({ item: 'SAF-FLOOD', points: 12, evidence: '王主任' });
    await decide(reversed, 'approve');
    await decide(reversed, 'reverse', { reason: '重复申报' });
    task = ((await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '帮邻居收麦子', item: 'CIV-HELP-NEIGHBOUR', points: 3, max_claimants: 3 })).json() as { id: string }).id;
  }

  const signIn = (page: Page) => rig.villagerSignIn(page, 'zhang');
  /** Each line of 我的申报: its words, its points' text, their class and whether they are struck through. */
  const claimLines = (page: Page) => page.locator('#claims li').evaluateAll((lis) => lis.map((l) => {
    const [what, pts] = (l as unknown as { children: { textContent: string; className: string }[] }).children;
    const style = (globalThis as unknown as { getComputedStyle(e: unknown): { textDecorationLine: string } }).getComputedStyle(pts);
    return { what: what!.textContent, points: pts!.textContent, cls: pts!.className, struck: style.textDecorationLine === 'line-through' };
  }));

  it('我的申报 shows a deduction with a minus, and a rejected or reversed claim not counted', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await signIn(page);
    problems.length = 0; // the login page's first look at its session is a 401
    await expect.poll(() => page.textContent('#balance')).toBe('0');
    const lines = await claimLines(page);
    expect(lines.find((l) => l.what.startsWith('乱扔垃圾'))).toEqual({ what: '乱扔垃圾 · 已通过 approved', points: '-2', cls: 'minus', struck: false });
    expect(lines.find((l) => l.what.includes('未通过'))).toMatchObject({ points: '+5', cls: 'void', struck: true });
    expect(lines.find((l) => l.what.includes('已撤销'))).toMatchObject({ points: '+12', cls: 'void', struck: true });
    expect(lines.find((l) => l.what.startsWith('参加村民会议'))).toMatchObject({ points: '+2', cls: 'plus', struck: false });
    // as the history shows the deduction
    expect(await page.locator('#history li', { hasText: '乱扔垃圾' }).locator('.minus').textContent()).toBe('-2');
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('a claimed task and a self-report of an item that needs a witness are reported with the witness’s name', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await signIn(page);
    problems.length = 0; // the login page's first look at its session is a 401
    const reports: string[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && /\/reports?$/.test(r.url())) reports.push(r.url()); });
    await page.click(`button[data-task="${task}"]`);
    const claimId = `${task}.zhang`;
    const button = `button[data-claim="${claimId}"]`;
    await page.waitForSelector(button);
    // the claim asks for the witness's name, and takes a photo too (witness-photo.browser.test.ts)
    const row = page.locator(`li:has(${button})`);
    expect(await row.locator('input[type=file]').count()).toBe(1);
    expect(await row.locator('label').allTextContents()).toEqual(['证明人姓名（必填）Witness name', '照片（可不填）Photo (optional)']);
    // empty: refused by the page, naming the field, nothing sent
    await page.click(button);
    await expect.poll(() => row.locator('.err').textContent()).toBe(NO_WITNESS);
    expect(reports).toEqual([]);
    await row.getByLabel('证明人姓名').fill('王大妈');
    await page.click(button);
    await expect.poll(() => page.textContent('#claims')).toContain('帮邻居收麦子 · 待审核');
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${claimId}`)).json()).toMatchObject({ status: 'reported', evidence: '王大妈' });

    // 我要申报 → 邻里互助: the witness's field, beside the photo's
    expect(await page.isVisible('#self-witness')).toBe(false);
    await page.selectOption('#self-item', 'CIV-HELP-NEIGHBOUR');
    expect(await page.isVisible('#self-witness')).toBe(true);
    expect(await page.isVisible('#self-photo')).toBe(true);
    await page.fill('#self-note', '帮王大妈家收麦子');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-error')).toBe(NO_WITNESS);
    expect(reports.filter((u) => u.endsWith('/reports'))).toEqual([]);
    await page.fill('#self-witness', '王大妈');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    const self = (await g.call(g.va, 'GET', `/api/villages/${g.a}/claims?villager=zhang&status=reported`)).json() as { claims: { origin: string; item_code: string; note: string; evidence: string }[] };
    expect(self.claims.filter((c) => c.origin === 'self')).toEqual([expect.objectContaining({ item_code: 'CIV-HELP-NEIGHBOUR', note: '帮王大妈家收麦子', evidence: '王大妈' })]);
    // the form is cleared; a photo item asks for its photo again
    expect(await page.inputValue('#self-witness')).toBe('');
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    expect(await page.isVisible('#self-photo')).toBe(true);
    expect(await page.isVisible('#self-witness')).toBe(false);
    await page.screenshot({ path: 'test-results/villager-witness.png', fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
