/**
 * A form sent from a tab whose sign-in has ended (signed out in another tab), in a real browser
 * (Debian's chromium through playwright-core): nothing is done; the tab shows the sign-in page in
 * both languages saying the session ended and what was typed is kept; after signing in it is back
 * on the form's page with the typed values in the fields (never a password) and a fresh token,
 * and nothing is saved until the maintainer presses the button again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser } from 'playwright-core';
import { pino } from 'pino';
import { launchChromium, pageProblems } from '../../harness/browser.ts';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { getProduct, upsertProduct } from '../../edge/ledger/products.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const log = pino({ level: 'silent' });
const ledger = tempLedger();
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.95 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 } },
  log,
);
let browser: Browser;

beforeAll(async () => {
  await createAccount(ledger.db, 'wang');
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
  await server.start();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  ledger.cleanup();
});

describe('a form sent after signing out in another tab, in chromium', () => {
  it('the sign-in page, then the form\'s page again with what was typed; saved only when pressed again', { timeout: 90_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', hasTouch: true });
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${server.address!}login?next=%2Fshelves`);
    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/shelves'), page.click('button[type=submit]')]);
    const form = page.locator('tr[data-sku=salt] form');
    await form.locator('[name=name]').fill('海盐');
    await form.locator('[name=price]').fill('7');

    // the other tab signs out
    const other = await context.newPage();
    await other.goto(server.address!);
    await Promise.all([other.waitForURL((u) => u.pathname === '/login'), other.click('#logout')]);
    await other.close();

    const [answer] = await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);
    expect(answer!.status()).toBe(401);
    expect(answer!.headers()['content-type']).toMatch(/^text\/html/);
    await expect.poll(() => page.locator('#login-notice').textContent()).toMatch(/登录已结束[\s\S]*已保留[\s\S]*signed out[\s\S]*kept/);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });
    // the kept values travel with the login form, never its token nor a password
    const keptField = await page.locator('input[name=kept]').inputValue();
    expect(keptField).toContain('海盐');
    expect(keptField).not.toContain('_csrf');

    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/shelves'), page.click('button[type=submit]')]);
    const again = page.locator('tr[data-sku=salt] form');
    expect(await again.locator('[name=name]').inputValue()).toBe('海盐');
    expect(await again.locator('[name=price]').inputValue()).toBe('7');
    expect(await again.textContent()).toMatch(/已保留[\s\S]*kept/);
    // restored, not saved: the maintainer's own press saves it, with the new session's token
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });
    // the page is on /shelves already: wait for the post's own navigation (its answer, then /shelves
    // loaded), not the URL, or the reload below races it (CI: "Not attached to an active page")
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), again.locator('button[type=submit]').click()]);
    await expect.poll(() => getProduct(ledger.db, 'salt')?.name).toBe('海盐');
    expect(getProduct(ledger.db, 'salt')?.price).toBe(7);

    // a reload of the page afterwards shows the ledger's values, the kept ones used once
    await page.reload();
    expect(await page.locator('tr[data-sku=salt] form').textContent()).not.toMatch(/已保留/);
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await context.close();
  });
});
