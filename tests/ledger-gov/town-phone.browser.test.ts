/**
 * The roll-up page (/town) on a phone (375×667, a phone's browser: it zooms a page wider than the
 * screen out to fit) in a real browser (Debian's chromium through playwright-core), with a month
 * of points and a store's alarm listed. The page is no wider than the phone: the charts stack in
 * one column, the wide tables scroll inside their card. Before, the charts' 420px columns and the
 * alarms' table made it 506px wide, the browser zoomed out, and a tap on 打开存折 was taken by the
 * card's label or heading above it (playwright: "… intercepts pointer events"). Now the tap opens
 * the village's passbook. No script errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser } from 'playwright-core';
import { launchChromium, pageProblems, pageWidth, PHONE, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp, type StaffSession } from './gov-app.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { recordAlarmList } from '../../cloud-sync/ledger/store-alarms.ts';


describe(`/town at phone width in chromium (${ledgerDbKind})`, () => {
  let g: GovApp;
  let base: string;
  let browser: Browser;
  let town: StaffSession;

  beforeAll(async () => {
    g = await govApp();
    town = await g.staff('town-office');
    await g.villager(g.a, 'zhang');
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'open-zhang', villager: 'zhang', kind: 'award', points: 10, reason: '开户积分' })).statusCode).toBeLessThan(300);
    await registerStore(g.db, g.a, 'shop-1', 'k', 'unused');
    const t = new Date().toISOString();
    await recordAlarmList(g.db, g.a, 'shop-1', { at: t, active: [{ id: 7, kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'no reply from unit 11', raised_at: t, last_seen_at: t, seen: 3, acknowledged_at: t, acknowledged_by: 'wang', ack_note: '明早接线' }] }, new Date());
    base = await g.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await g?.close();
  });

  it('the page fits the phone and a tap on 打开存折 opens the passbook', async () => {
    const context = await phoneContext(browser);
    await context.addCookies([{ name: 'ledger_staff', value: town.cookie, url: base }]);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    // the roll-up's first query starts its worker (SQLite), slow on a loaded machine
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(g.a);
    await expect.poll(() => page.textContent('#alarms')).toContain('秤故障（A1）');
    // no wider than the phone: the browser does not zoom out
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.selectOption('#village', g.a);
    await page.fill('#pb-villager', 'zhang');
    const button = page.locator('#passbook button[type=submit]');
    await button.scrollIntoViewIfNeeded();
    // what is drawn at the button's centre is the button
    expect(await button.evaluate((b) => {
      const el = b as unknown as { getBoundingClientRect(): { left: number; top: number; width: number; height: number } };
      const r = el.getBoundingClientRect();
      return (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): unknown } }).document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b;
    })).toBe(true);
    const opened = context.waitForEvent('page');
    await button.tap();
    const passbook = await opened;
    await passbook.waitForSelector('#book:not([hidden])');
    expect(await passbook.textContent('#name')).toBe('村民zhang');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
