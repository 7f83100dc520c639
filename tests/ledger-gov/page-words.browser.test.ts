/**
 * The ledger's pages speak both languages (Chinese first, English beside it), in a real browser
 * (Debian's chromium through playwright-core) at a phone's width (375 px): every button, form
 * label, table heading and card heading shown on the villager's phone page (/m/, signed out and
 * in), the passbook (/m/passbook, /passbook), the town's roll-up (/town) and the village office
 * (/village), the staff login and first-run setup (/login) and the staff accounts page (/accounts,
 * its rows and its password form) has Chinese and English; so have the confirmations the pages ask (closing a task,
 * issuing a login code, disabling an account), read through playwright's dialog event. Before,
 * the villager's page, the passbook and /town were Chinese only, and so were the buttons the
 * village office draws in its rows and its confirmation to close a task; /login and /accounts
 * were still Chinese only (buttons, most headings, the rows' buttons and statuses), and so was the
 * line of the staff pages (/town, /village, /accounts) that says who is signed in (`#who`: 镇级,
 * 村级). The phone's pages stay
 * no wider than the phone with the English beside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, type Page } from 'playwright-core';
import { pageProblems, pageWidth, PHONE, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type StaffSession } from './gov-app.ts';
import { browserRig, VILLAGER_PIN, type BrowserRig } from './browser-rig.ts';

const CJK = /[\u4e00-\u9fff]/;
const LATIN = /[A-Za-z]{2}/;

describe(`the ledger's pages in both languages (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let clerk: StaffSession;
  let town: StaffSession;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      clerk = await g.staff('clerk-a', g.a);
      await g.staff('clerk-b', g.a);
      town = await g.staff('town-office');
      const zhang = await g.villager(g.a, 'zhang');
      await g.villager(g.a, 'li');
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'open-zhang', villager: 'zhang', kind: 'award', points: 10, reason: '开户积分' })).statusCode).toBeLessThan(300);
      expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-SUGGESTION', note: '建议在村口装路灯' })).statusCode).toBe(201);
      const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫村东巷道', item: 'ENV-SWEEP-LANE', max_claimants: 5 })).json() as { id: string };
      expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).statusCode).toBeLessThan(300);
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/products/salt`, { name: '食盐', price: 3, unit_g: 400, tolerance_g: 20, active: true })).statusCode).toBeLessThan(300);
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const phone = (): Promise<BrowserContext> => phoneContext(rig.browser);
  /** The shown buttons, labels, table and card headings whose text lacks Chinese or English. */
  const oneLanguage = (page: Page) => page.evaluate(({ cjk, latin }) => {
    type El = { textContent: string | null; getClientRects(): { length: number }; tagName: string; id: string };
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<El> } }).document;
    const out: string[] = [];
    for (const el of doc.querySelectorAll('button, label, th, h1, h2, h3, summary')) {
      if (el.getClientRects().length === 0) continue;
      const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim();
      if (!new RegExp(cjk).test(text) || !new RegExp(latin).test(text)) out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}: ${text}`);
    }
    return out;
  }, { cjk: CJK.source, latin: LATIN.source });
  /** Answers the next confirmation by `answer`; its text once it came. */
  const nextConfirm = (page: Page, answer: 'accept' | 'dismiss') => new Promise<string>((resolve) => {
    page.once('dialog', (d) => {
      resolve(d.message());
      void (answer === 'accept' ? d.accept() : d.dismiss());
    });
  });
  const bilingual = (text: string) => expect({ text, zh: CJK.test(text), en: LATIN.test(text) }).toEqual({ text, zh: true, en: true });
  /**
   * Who is signed in (`#who`): the account's name (gov-app's `工作人员${username}`, which holds
   * both scripts itself), then its role, and a village account's village, in both languages.
   */
  const whoBilingual = async (page: Page, username: string, village?: string) => {
    const text = (await page.textContent('#who')) ?? '';
    expect(text).toContain(`工作人员${username}`);
    if (village) expect(text).toContain(village);
    const words = text.replace(`工作人员${username}`, '');
    bilingual(village ? words.replace(village, '') : words);
  };

  it('the villager’s phone page and passbook', async () => {
    const context = await phone();
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/m/?village=${rig.g.a}`);
    await page.waitForSelector('#login-view:not([hidden])');
    expect(await oneLanguage(page)).toEqual([]);
    await page.click('#tab-code');
    expect(await oneLanguage(page)).toEqual([]);
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.click('#tab-pin');
    await page.fill('#villager', 'zhang');
    await page.fill('#pin', VILLAGER_PIN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main-view:not([hidden])');
    await page.waitForSelector('button[data-claim]');
    expect(await oneLanguage(page)).toEqual([]);
    for (const sel of ['button[data-task]', 'button[data-claim]', '#self-submit', '#logout']) bilingual((await page.textContent(sel))!);
    await expect.poll(() => page.textContent('#qr-note')).toMatch(/有效至.* \/ scan it/);
    expect(await page.textContent('#claims')).toMatch(/已认领 claimed/);
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    problems.length = 0; // the first look at the session, signed out, is a 401
    await page.goto(`${rig.base}/m/passbook`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await oneLanguage(page)).toEqual([]);
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('the office’s passbook and the town’s roll-up', async () => {
    const context = await phone();
    await rig.asStaff(context, town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/passbook?village=${rig.g.a}&villager=zhang`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await oneLanguage(page)).toEqual([]);
    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    // the roll-up's first query starts its worker (SQLite), slow on a loaded machine
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(rig.g.a);
    await page.click('#alarms-card summary');
    expect(await oneLanguage(page)).toEqual([]);
    for (const t of ['months', 'items', 'participation', 'sales']) bilingual((await page.textContent(`button[data-csv=${t}]`))!);
    expect(await page.textContent('#scope')).toMatch(/个村 \/ .* villages/);
    await whoBilingual(page, 'town-office');
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('the staff login, the first-run setup and the accounts page with a password form open', async () => {
    // a ledger without staff accounts: /login goes on to the first-run setup
    const empty = await govApp({ setupToken: 'one-time-setup-token-123' });
    try {
      const emptyBase = await empty.app.listen({ host: '127.0.0.1', port: 0 });
      const context = await phone();
      const page = await context.newPage();
      await page.goto(`${emptyBase}/login?token=one-time-setup-token-123`);
      await page.waitForSelector('#setup-view:not([hidden])');
      expect(await oneLanguage(page)).toEqual([]);
      for (const o of await page.locator('#s-role option').allTextContents()) bilingual(o);
      await page.selectOption('#s-role', 'village');
      await page.waitForSelector('#s-village-box:not([hidden])');
      expect(await oneLanguage(page)).toEqual([]);
      expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
      await context.close();
    } finally {
      await empty.close();
    }
    const context = await phone();
    const page = await context.newPage();
    await page.goto(`${rig.base}/login`);
    await page.waitForSelector('#login-view:not([hidden])');
    expect(await oneLanguage(page)).toEqual([]);
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    // a disabled account shows its 启用 button and its status
    await rig.g.staff('clerk-c', rig.g.a);
    expect((await rig.g.call(town, 'POST', '/api/staff/clerk-c/disable')).statusCode).toBe(200);
    await rig.asStaff(context, town);
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/accounts`);
    await page.waitForSelector('#main-view:not([hidden])');
    await page.waitForSelector('button[data-action=enable][data-user=clerk-c]');
    await page.waitForSelector('button[data-action=disable][data-user=clerk-b]');
    expect(await oneLanguage(page)).toEqual([]);
    bilingual((await page.textContent('#scope'))!);
    await whoBilingual(page, 'town-office');
    for (const o of await page.locator('#add-role option').allTextContents()) bilingual(o);
    for (const user of ['town-office', 'clerk-b', 'clerk-c']) {
      // the role, the status and each button of the row
      const row = page.locator(`#accounts tr[data-user="${user}"]`);
      for (const i of [2, 5]) bilingual(await row.locator('td').nth(i).textContent() ?? '');
      for (const b of await row.locator('button').allTextContents()) bilingual(b);
    }
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.click('button[data-action=password][data-user=clerk-b]');
    await page.waitForSelector('#password-card:not([hidden])');
    expect(await oneLanguage(page)).toEqual([]);
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.click('button[data-action=password][data-user=town-office]');
    await page.waitForSelector('#pw-current-box:not([hidden])');
    expect(await oneLanguage(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('the village office, its row buttons and its confirmations; the accounts page’s', async () => {
    const context = await rig.browser.newContext({ locale: 'zh-CN' });
    await rig.asStaff(context, clerk);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/village`);
    await page.waitForSelector('#main-view:not([hidden])');
    await page.waitForSelector('#claims form[data-act=approve] button');
    await page.waitForSelector('#tasks form[data-act=close] button');
    await page.waitForSelector('#products button[data-edit]');
    await page.waitForSelector('#villagers button[data-login-code]');
    expect(await oneLanguage(page)).toEqual([]);
    // who is signed in, a village account: its role and its village
    await whoBilingual(page, 'clerk-a', rig.g.a);
    // cancelled, each: nothing happens
    const close = nextConfirm(page, 'dismiss');
    await page.click('#tasks form[data-act=close] button');
    bilingual(await close);
    expect(await close).toContain('清扫村东巷道');
    const code = nextConfirm(page, 'dismiss');
    await page.click('#villagers button[data-login-code=li]');
    bilingual(await code);
    await page.goto(`${rig.base}/accounts`);
    await page.waitForSelector('button[data-action=disable][data-user=clerk-b]');
    const disable = nextConfirm(page, 'dismiss');
    await page.click('button[data-action=disable][data-user=clerk-b]');
    bilingual(await disable);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
