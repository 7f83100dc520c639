/**
 * The passbook and the phone page's history (/m/) mark a line whose date is the ledger's receipt,
 * not the store's stamp (a store whose clock ran ahead beyond the allowed skew: store-time.ts), in
 * a real browser (Debian's chromium through playwright-core) at a phone's width: the villager and
 * the committee see that the date is when the ledger received the entry, in both languages, and
 * the lines of a store offline for days or a little fast, and those made at the ledger, carry no
 * mark. Before, the passbook dated such a line as any other, and then the history still did (the
 * same mark and note: clock-mark.js). The pages stay no wider than the phone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { pageProblems, pageWidth, PHONE, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { type StaffSession } from './gov-app.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';
import { seedStoreClocks } from './store-clock-fixture.ts';

const CJK = /[\u4e00-\u9fff]/;
const LATIN = /[A-Za-z]{2}/;

describe(`the mark of a store clock ahead, on the passbook and the phone's history (${ledgerDbKind})`, () => {
  let ledger: Awaited<ReturnType<typeof tempLedgerDb>>;
  let rig: BrowserRig;
  let town: StaffSession;

  beforeAll(async () => {
    ledger = await tempLedgerDb();
    await seedStoreClocks(ledger.db);
    rig = await browserRig(async (g) => {
      town = await g.staff('town-office');
      await g.villager('va', 'zhang');
      expect((await g.call(g.va, 'POST', '/api/villages/va/entries', { id: 'award-zhang', villager: 'zhang', kind: 'award', points: 20, reason: '打扫村道' })).statusCode).toBeLessThan(300);
    }, { db: ledger.db, village: 'va' });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    await ledger?.drop();
  });

  /** Each line of the book: its balance (which tells the lines apart) and its date cell's mark, if any. */
  const marks = (page: Page) => page.locator('#lines tr').evaluateAll((rows) => rows.map((r) => {
    const tr = r as unknown as { querySelector(s: string): { textContent: string | null } | null; cells: { textContent: string | null }[] };
    return { balance: tr.cells[5]?.textContent, mark: tr.querySelector('td.date .clock-mark')?.textContent ?? null, late: tr.querySelector('td.date .late-mark')?.textContent ?? null };
  }));
  const bilingual = (text: string | null) => expect({ text, zh: CJK.test(text ?? ''), en: LATIN.test(text ?? '') }).toEqual({ text, zh: true, en: true });

  /** The book as shown: the fast store's line (balance -7) alone marked, in both languages, and a note saying what the mark means. */
  const checkBook = async (page: Page) => {
    await page.waitForSelector('#book:not([hidden])');
    const lines = await marks(page);
    expect(lines.map((l) => [l.balance, l.mark !== null])).toEqual([['-7', true], ['-12', false], ['-15', false], ['5', false]]);
    bilingual(lines[0]!.mark);
    // the offline store's line (-12, made 30 October) came on 20 November, after its month ended: 补录 (late-entries.test.ts)
    expect(lines.map((l) => [l.balance, l.late])).toEqual([['-7', null], ['-12', '补录于 2026/11/20 12:00 late, received'], ['-15', null], ['5', null]]);
    expect(await page.isVisible('#clock-note')).toBe(true);
    bilingual(await page.textContent('#clock-note'));
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
  };

  it('on the villager’s own passbook and the office’s', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'zhang', 'va');
    problems.length = 0; // the login page's first look at its session is a 401
    await page.goto(`${rig.base}/m/passbook`);
    await checkBook(page);
    await page.screenshot({ path: 'test-results/passbook-clock-mark.png', fullPage: true });
    await context.close();

    const office = await rig.asStaff(await phoneContext(rig.browser), town);
    const book = await office.newPage();
    const seen = pageProblems(book);
    await book.goto(`${rig.base}/passbook?village=va&villager=zhang`);
    await checkBook(book);
    expect([...problems, ...seen]).toEqual([]);
    await office.close();
  }, 90_000);

  /** Signs in on the phone page as `villager` (PIN 2468, gov-app.ts) and waits for the page. */
  const phoneLogin = async (villager: string) => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, villager, 'va');
    await page.waitForSelector('#history li');
    problems.length = 0; // the login page's first look at its session is a 401
    return { context, page, problems };
  };
  /** Each entry of the phone page's history (newest first): its points and its mark, if any. */
  const historyMarks = (page: Page) => page.locator('#history li').evaluateAll((items) => items.map((i) => {
    const li = i as unknown as { querySelector(s: string): { textContent: string | null } | null };
    return { points: li.querySelector('.plus, .minus')?.textContent ?? null, mark: li.querySelector('.clock-mark')?.textContent ?? null };
  }));

  it('on the villager’s own history on the phone page', async () => {
    const { context, page, problems } = await phoneLogin('zhang');
    const lines = await historyMarks(page);
    expect(lines.map((l) => [l.points, l.mark !== null])).toEqual([['+20', false], ['-3', false], ['-5', false], ['-7', true]]);
    // the same words as the passbook's
    expect(lines[3]!.mark).toBe('※收到日 received');
    expect(await page.isVisible('#clock-note')).toBe(true);
    bilingual(await page.textContent('#clock-note'));
    expect(await page.textContent('#clock-note')).toContain('※收到日');
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.screenshot({ path: 'test-results/history-clock-mark.png', fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('no mark and no note when no line needs one', async () => {
    const context = await phoneContext(rig.browser);
    await rig.asStaff(context, town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.g.villager('va', 'li');
    expect((await rig.g.call(rig.g.va, 'POST', '/api/villages/va/entries', { id: 'award-li', villager: 'li', kind: 'award', points: 5, reason: '打扫村道' })).statusCode).toBeLessThan(300);
    await page.goto(`${rig.base}/passbook?village=va&villager=li`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await marks(page)).toEqual([{ balance: '5', mark: null, late: null }]);
    expect(await page.isVisible('#clock-note')).toBe(false);
    expect(problems).toEqual([]);
    await context.close();

    const phone = await phoneLogin('li');
    expect(await historyMarks(phone.page)).toEqual([{ points: '+5', mark: null }]);
    expect(await phone.page.isVisible('#clock-note')).toBe(false);
    expect(phone.problems).toEqual([]);
    await phone.context.close();
  }, 90_000);
});
