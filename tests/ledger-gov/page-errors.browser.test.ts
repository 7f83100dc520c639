/**
 * Every page of the ledger says a failed request the same way, in a real browser (Debian's
 * chromium through playwright-core) at phone size: the API's own refusal in Chinese, then
 * English (`zh / message`); an answer that is not the API's JSON (a proxy's 502 page) by its
 * status, in both languages; and a request that got no answer (the network gone: the request
 * aborted) as the ledger not reached, in both languages. The line fits the phone's width.
 * Each page provokes a real refusal: a wrong one-time code (/m/), a wrong password (/login), a
 * roll-up from a month after its end (/town), an unknown villager (/passbook, /village), a
 * password too short (/accounts, shown beside its field). No uncaught script errors.
 * Requests a page makes before any form is sent fail the same way: /login's session check (the
 * login form shows, saying so, and signing in asks again) and a town account's first roll-up
 * (/town). What a page says of its own (a field left empty, a session ended) is said in both
 * languages too. Screenshots of each page saying the ledger is not reached go to test-results/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, type Page } from 'playwright-core';
import { pageProblems } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { type StaffSession } from './gov-app.ts';
import { browserRig, SHOTS, type BrowserRig } from './browser-rig.ts';

const UNREACHABLE = '连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network';
const BAD_GATEWAY = '村账本暂时无法回答（HTTP 502），请稍后再试 / the ledger could not answer (HTTP 502); try again later';

interface PageCase {
  page: string;
  /** The screenshot's name (test-results/ledger-error-NAME.png), the page with the ledger not reached. */
  shot: string;
  /** Who is signed in: the staff account's session, or nobody. */
  as?: 'clerk' | 'town';
  /** Opens the page and waits until its form is ready. */
  open(page: Page): Promise<void>;
  /** Fills and sends the form whose answer is refused. */
  send(page: Page): Promise<void>;
  /** The form that sends (its button is ready again after each answer). */
  form: string;
  /** The request `send` makes (a glob). */
  request: string;
  /** The API's refusal, [zh, en], and the line it is shown in. */
  refusal: [string, string];
  error: string;
  /** Where an error naming no field is shown, when not in `error`. */
  line?: string;
}

describe(`the ledger pages say a failed request in Chinese and English (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  const sessions: Partial<Record<'clerk' | 'town', StaffSession>> = {};

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await g.villager(g.a, 'zhang');
      sessions.clerk = await g.staff('clerk-a', g.a);
      sessions.town = await g.staff('town-office');
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const phone = async (as?: 'clerk' | 'town'): Promise<BrowserContext> => {
    const context = await rig.phone();
    return as ? rig.asStaff(context, sessions[as]!) : context;
  };
  /** The line's text, and whether it fits the phone: no wider than its box, its box inside the screen. */
  const shown = (page: Page, selector: string) => page.locator(selector).evaluate((el: unknown) => {
    const e = el as { textContent: string; scrollWidth: number; clientWidth: number; getBoundingClientRect(): { left: number; right: number } };
    const box = e.getBoundingClientRect();
    const screen = (globalThis as unknown as { innerWidth: number }).innerWidth;
    return { text: e.textContent, fits: e.scrollWidth <= e.clientWidth && box.left >= 0 && box.right <= screen };
  });

  const cases: PageCase[] = [
    {
      shot: 'villager',
      page: '/m/ (a wrong one-time code)',
      open: async (page) => {
        await page.goto(`${rig.base}/m/?village=${rig.g.a}`);
        await page.waitForSelector('#login-view:not([hidden])');
        await page.click('#tab-code');
      },
      send: async (page) => {
        await page.fill('#villager', 'zhang');
        await page.fill('#code', '000000');
        await page.click('#login-form button[type=submit]');
      },
      form: '#login-form', request: '**/m/login', error: '#login-error',
      refusal: ['登录码不正确、已用过或已过期', 'wrong, used or expired one-time code'],
    },
    {
      shot: 'login',
      page: '/login (a wrong password)',
      open: async (page) => {
        await page.goto(`${rig.base}/login`);
        await page.waitForSelector('#login-view:not([hidden])');
      },
      send: async (page) => {
        await page.fill('#username', 'town-office');
        await page.fill('#password', 'not the password');
        await page.click('#login-form button[type=submit]');
      },
      form: '#login-form', request: '**/staff/login', error: '#login-error',
      refusal: ['用户名或密码错误', 'wrong user name or password'],
    },
    {
      shot: 'town',
      page: '/town (a roll-up from a month after its end)',
      as: 'clerk',
      open: async (page) => {
        await page.goto(`${rig.base}/town`);
        // the first roll-up starts its worker thread (on SQLite), which on a loaded machine takes a while
        await expect.poll(() => page.textContent('#alarms-scope'), { timeout: 60_000 }).not.toBe('');
      },
      send: async (page) => {
        await page.fill('#from', '2026-05');
        await page.fill('#to', '2026-01');
        await page.click('#filter button[type=submit]');
      },
      form: '#filter', request: '**/rollup?*', error: '#error',
      refusal: ['起始月份晚于截止月份', 'from is after to'],
    },
    {
      shot: 'passbook',
      page: '/passbook (a villager the village does not have)',
      as: 'clerk',
      open: async (page) => {
        await page.goto(`${rig.base}/passbook`);
        await page.waitForSelector('#ask:not([hidden])');
      },
      send: async (page) => {
        await page.fill('#ask-village', rig.g.a);
        await page.fill('#ask-villager', 'nobody');
        await page.click('#ask-form button[type=submit]');
      },
      form: '#ask-form', request: '**/villagers/nobody/passbook', error: '#error',
      refusal: ['本村没有村民 nobody', 'no villager nobody in this village'],
    },
    {
      shot: 'accounts',
      page: '/accounts (a password too short, beside its field)',
      as: 'town',
      open: async (page) => {
        await page.goto(`${rig.base}/accounts`);
        await page.waitForSelector('#main-view:not([hidden])');
      },
      send: async (page) => {
        await page.fill('#add-username', 'clerk-c');
        await page.fill('#add-display_name', '丙村文书');
        await page.selectOption('#add-role', 'village');
        await page.selectOption('#add-village', rig.g.a);
        await page.fill('#add-password', 'short');
        await page.fill('#add-password_confirm', 'short');
        await page.click('#add-form button[type=submit]');
      },
      form: '#add-form', request: '**/api/staff', error: '#add-password-error', line: '#add-error',
      refusal: ['密码至少 10 位', 'at least 10 characters'],
    },
    {
      shot: 'village',
      page: '/village (an unknown villager looked up)',
      as: 'clerk',
      open: async (page) => {
        await page.goto(`${rig.base}/village`);
        await page.waitForSelector('#main-view:not([hidden])');
      },
      send: async (page) => {
        await page.fill('#lookup-villager', 'nobody');
        await page.click('#lookup-form button[type=submit]');
      },
      form: '#lookup-form', request: '**/villagers/nobody', error: '#lookup-villager-error',
      refusal: ['找不到该村民', 'no such villager'],
    },
  ];

  for (const c of cases) {
    it(`${c.page}: the API's refusal, a non-JSON answer and no answer, each in both languages`, async () => {
      const context = await phone(c.as);
      const page = await context.newPage();
      const problems = pageProblems(page);
      await c.open(page);
      const ready = () => expect.poll(() => page.locator(`${c.form} button[type=submit]`).isEnabled()).toBe(true);

      // The API's own refusal, Chinese first.
      await c.send(page);
      await expect.poll(async () => (await shown(page, c.error)).text, { timeout: 30_000 }).toBe(`${c.refusal[0]} / ${c.refusal[1]}`);
      expect((await shown(page, c.error)).fits).toBe(true);
      await ready();

      // A proxy's error page instead of the API's JSON: said by its status.
      await page.route(c.request, (route) => route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }));
      await c.send(page);
      await expect.poll(async () => (await shown(page, c.line ?? c.error)).text).toBe(BAD_GATEWAY);
      expect((await shown(page, c.line ?? c.error)).fits).toBe(true);
      await page.unrouteAll({ behavior: 'wait' });
      await ready();

      // No answer at all: the ledger not reached.
      await page.route(c.request, (route) => route.abort('internetdisconnected'));
      await c.send(page);
      await expect.poll(async () => (await shown(page, c.line ?? c.error)).text).toBe(UNREACHABLE);
      expect((await shown(page, c.line ?? c.error)).fits).toBe(true);
      await page.locator(c.line ?? c.error).scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, `ledger-error-${c.shot}.png`) });
      await page.unrouteAll({ behavior: 'wait' });
      await ready();

      // The refusals and the aborted requests are logged by the browser; nothing else went wrong.
      expect(problems.filter((p) => !/status of (40[0-4]|502) |net::ERR_INTERNET_DISCONNECTED/.test(p))).toEqual([]);
      await context.close();
    }, 90_000);
  }

  it('/login loaded while the ledger cannot be reached: the login form says so, and signing in asks again', async () => {
    const context = await phone();
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.route('**/staff/session', (route) => route.abort('internetdisconnected'));
    await page.goto(`${rig.base}/login`);
    await page.waitForSelector('#login-view:not([hidden])');
    await expect.poll(async () => (await shown(page, '#login-error')).text).toBe(UNREACHABLE);
    expect((await shown(page, '#login-error')).fits).toBe(true);
    await page.unrouteAll({ behavior: 'wait' });
    await rig.loginForm(page, 'town-office', '/town');
    // the check asked again answers "not signed in" (401), and then the login goes on
    expect(problems.filter((p) => !/status of 401 |net::ERR_INTERNET_DISCONNECTED/.test(p))).toEqual([]);
    await context.close();
  }, 60_000);

  it('/town: a town account\'s first roll-up (its list of villages) failing is said where the roll-up would be; sending asks again', async () => {
    const context = await phone('town');
    const page = await context.newPage();
    const problems = pageProblems(page);
    // the list of villages asks for the whole town's roll-up without a query
    await page.route('**/api/town/rollup', (route) => route.abort('internetdisconnected'));
    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    await expect.poll(async () => (await shown(page, '#error')).text, { timeout: 30_000 }).toBe(UNREACHABLE);
    expect((await shown(page, '#error')).fits).toBe(true);
    await page.unrouteAll({ behavior: 'wait' });
    await page.click('#filter button[type=submit]');
    await expect.poll(() => page.locator(`#village option[value="${rig.g.a}"]`).count(), { timeout: 60_000 }).toBe(1);
    await expect.poll(() => page.textContent('#scope')).not.toBe('');
    expect(await page.textContent('#error')).toBe('');
    expect(problems.filter((p) => !/net::ERR_INTERNET_DISCONNECTED/.test(p))).toEqual([]);
    await context.close();
  }, 90_000);

  it('what a page says of its own is in both languages: /m/ fields left empty, /town with no village chosen', async () => {
    const context = await phone('town');
    const page = await context.newPage();
    await page.goto(`${rig.base}/m/`);
    await page.waitForSelector('#login-view:not([hidden])');
    await page.click('#login-form button[type=submit]');
    await expect.poll(async () => (await shown(page, '#login-error')).text).toBe('请填写村编号和村民编号 / give the village and villager ids');
    expect((await shown(page, '#login-error')).fits).toBe(true);
    await page.fill('#village', rig.g.a);
    await page.fill('#villager', 'zhang');
    await page.click('#login-form button[type=submit]');
    await expect.poll(async () => (await shown(page, '#login-error')).text).toBe('请输入密码 / give the PIN');
    await page.click('#tab-code');
    await page.click('#login-form button[type=submit]');
    await expect.poll(async () => (await shown(page, '#login-error')).text).toBe('请输入登录码 / give the one-time code');

    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    await page.fill('#pb-villager', 'zhang');
    await page.click('#passbook button[type=submit]');
    // said beside the passbook form, which has its own village field
    await expect.poll(async () => (await shown(page, '#pb-error')).text).toBe('请先在“村”里选择一个村，再打开存折 / choose the village (村) of the passbook first');
    expect((await shown(page, '#pb-error')).fits).toBe(true);
    await context.close();
  }, 60_000);

  it('/m/passbook without a session says to sign in, in both languages', async () => {
    const context = await phone();
    const page = await context.newPage();
    await page.goto(`${rig.base}/m/passbook`);
    await expect.poll(async () => (await shown(page, '#error')).text).toBe('请先登录 / sign in first');
    expect((await shown(page, '#error')).fits).toBe(true);
    await context.close();
  }, 60_000);
});
