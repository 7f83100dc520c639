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
import { pageProblems, pageWidth, PHONE, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { type StaffSession } from './gov-app.ts';
import { browserRig, tappable, type BrowserRig } from './browser-rig.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { recordAlarmList } from '../../cloud-sync/ledger/store-alarms.ts';


describe(`/town at phone width in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let town: StaffSession;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      town = await g.staff('town-office');
      await g.villager(g.a, 'zhang');
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'open-zhang', villager: 'zhang', kind: 'award', points: 10, reason: '开户积分' })).statusCode).toBeLessThan(300);
      await registerStore(g.db, g.a, 'shop-1', 'k', 'unused');
      const t = new Date().toISOString();
      await recordAlarmList(g.db, g.a, 'shop-1', { at: t, active: [{ id: 7, kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'no reply from unit 11', raised_at: t, last_seen_at: t, seen: 3, acknowledged_at: t, acknowledged_by: 'wang', ack_note: '明早接线' }] }, new Date());
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the page fits the phone and a tap on 打开存折 opens the passbook', async () => {
    const context = await rig.asStaff(await phoneContext(rig.browser), town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    // the roll-up's first query starts its worker (SQLite), slow on a loaded machine
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(rig.g.a);
    await expect.poll(() => page.textContent('#alarms')).toContain('秤故障（A1）');
    // no wider than the phone: the browser does not zoom out
    expect(await pageWidth(page)).toEqual({ page: PHONE.width, layout: PHONE.width });
    await page.selectOption('#village', rig.g.a);
    await page.fill('#pb-villager', 'zhang');
    const button = page.locator('#passbook button[type=submit]');
    // what is drawn at the button's centre is the button
    expect(await tappable(page, '#passbook button[type=submit]')).toBe(true);
    const opened = context.waitForEvent('page');
    await button.tap();
    const passbook = await opened;
    await passbook.waitForSelector('#book:not([hidden])');
    expect(await passbook.textContent('#name')).toBe('村民zhang');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
