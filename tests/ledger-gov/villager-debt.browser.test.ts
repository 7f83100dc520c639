/**
 * What a villager owes the stores (cloud-sync/ledger/debts.ts), as the pages show it in chromium:
 * the phone page says 还欠 N 分 under the balance, and only when there is a debt; the village
 * office's list has it beside the balance, and a lookup by id says it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { addStaff } from '../../cloud-sync/ledger/staff/accounts.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { govApp, STAFF_PASSWORD, type GovApp } from './gov-app.ts';
import { signer } from './store-clock-fixture.ts';

const PHONE = { width: 390, height: 844 };

describe(`a villager's debt on the ledger's pages (${ledgerDbKind})`, () => {
  let g: GovApp;
  let base: string;
  let browser: Browser;
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    // the 401 of a first visit without a session is expected
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 401 /.test(m.text())) problems.push(`console: ${m.text()}`); });
    return page;
  };

  beforeAll(async () => {
    g = await govApp();
    await g.villager(g.a, 'zhang');
    await g.villager(g.a, 'li');
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'open-zhang', villager: 'zhang', kind: 'award', points: 10, reason: '开户积分' })).statusCode).toBe(201);
    // at the store: goods of 24 taken with 10 points, 14 owed (the session's debt)
    await registerStore(g.db, g.a, 'east', 'east-key', 'unused here');
    const at = new Date().toISOString();
    await applyStoreRows(g.db, g.a, 'east', [
      { id: 'east:1', seq: 1, topic: 'session', created_at: at, payload: { id: 's1', kind: 'shopping', villager: 'zhang', entered_by: 'card', total_points: 24, charged: 10, debt: 14, lines: [{ sku: 'oil', count: 1, points: 24 }], review: 0, opened_at: at, closed_at: at } },
      { id: 'east:2', seq: 2, topic: 'entry', created_at: at, payload: { id: 'redemption:s1', villager: 'zhang', kind: 'redemption', points: -10, reference: 's1', reason: null, origin: 'store', created_at: at } },
    ], signer, new Date());
    await addStaff(g.db, { username: 'clerk-a', display_name: '甲村文书', role: 'village', village: g.a, password_hash: await hashPassword(STAFF_PASSWORD, 2 ** 14) }, 'test', new Date());
    base = await g.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await g?.close();
  });

  const phone = async (villager: string): Promise<Page> => {
    const page = watch(await (await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, locale: 'zh-CN' })).newPage());
    await page.goto(`${base}/m/?village=${g.a}`);
    await page.waitForSelector('#login-form');
    await page.fill('#villager', villager);
    await page.fill('#pin', '2468');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main-view:not([hidden])');
    return page;
  };

  it('the phone page says 还欠 N 分 beside the balance, and nothing for a villager who owes nothing', async () => {
    const page = await phone('zhang');
    await expect.poll(() => page.textContent('#balance')).toBe('0');
    await expect.poll(() => page.isVisible('#debt')).toBe(true);
    expect(await page.textContent('#debt')).toBe('还欠 14 分 / owes 14 points');
    const li = await phone('li');
    await expect.poll(() => li.textContent('#balance')).toBe('0');
    expect(await li.isVisible('#debt')).toBe(false);
    expect(problems).toEqual([]);
  }, 60_000);

  it('the village office lists it beside the balance, and a lookup says it', async () => {
    const page = watch(await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' })).newPage());
    await page.goto(`${base}/village`);
    await page.waitForSelector('#login-view:not([hidden])');
    await page.fill('#username', 'clerk-a');
    await page.fill('#password', STAFF_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main-view:not([hidden])');
    await expect.poll(() => page.locator('#villagers tr[data-villager=zhang] .debt-cell').textContent()).toBe('14');
    expect(await page.locator('#villagers tr[data-villager=li] .debt-cell').textContent()).toBe('');
    await page.fill('#lookup-villager', 'zhang');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-ok')).toContain('余额 0 分，还欠 14 分');
    expect(await page.textContent('#lookup-ok')).toContain('balance 0, owes 14');
    expect(problems).toEqual([]);
  }, 60_000);
});
