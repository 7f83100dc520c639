/**
 * A village accountant at month end, in chromium (browser-rig.ts). What the pages did wrong:
 * - the passbook showed only the date (2026/12/5) on many same-day lines: now the time (HH:mm) too;
 * - a reversal read 冲正：李四当天未参加清扫，误记, naming neither the item nor the date it undid, and
 *   the line undone was not marked: now the reversal names the line's reason, date and points, linked
 *   to it, and that line says 已冲正 with the reversal's date, linked back;
 * - no month: the passbook showed every line ever; now 月份 keeps a month's lines under the balance
 *   brought forward, with the month's subtotals and closing balance;
 * - no list of every villager's month: now /village has 月度积分对账, a table by name with 合计,
 *   whose figures add up, and its CSV.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { addLedgerEntry } from '../../cloud-sync/ledger/tables.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';
import { signer } from './store-clock-fixture.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');

describe(`the passbook's month, times and reversals, and the village's month statement (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let meeting: { seq: number; date: string };
  let reversal: { seq: number; date: string };
  /** The village month (UTC+8) now, and the one before. */
  const month = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
  const before = (() => {
    const [y, m] = month.split('-').map(Number) as [number, number];
    return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
  })();

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    rig = await browserRig(async (g) => {
      await g.villager(g.a, 'li');
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/li`, { name: '李四' })).statusCode).toBe(200);
      // last month: an award of 10 on the 15th at 09:05 village time
      await addLedgerEntry(g.db, g.a, { id: 'clean-li', villager: 'li', kind: 'award', points: 10, reason: '打扫村道', created_at: `${before}-15T01:05:00.000Z` }, signer, new Date());
    });
    await rig.addStaff('kuaiji', rig.g.a);
    const { id } = await rig.api<{ id: string }>('POST', '/reports', { villager: 'li', item: 'GOV-MEETING' });
    await rig.api('POST', `/claims/${id}/approve`);
    await rig.api('POST', `/claims/${id}/reverse`, { reason: '李四当天未参加，误记' });
    const book = await rig.api<{ lines: { seq: number; date: string; kind: string }[] }>('GET', '/villagers/li/passbook');
    meeting = book.lines.find((l) => l.kind === '奖励' && l.seq !== book.lines[0]!.seq)!;
    reversal = book.lines.find((l) => l.kind === '调整')!;
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  const village = (iso: string) => {
    const d = new Date(Date.parse(iso) + 8 * 3_600_000);
    return { date: `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()}`, time: d.toISOString().slice(11, 16) };
  };
  /** The lines of the book: id, date cell, reason cell, class. */
  const lines = (page: Page) => page.locator('#lines tr').evaluateAll((rows) => rows.map((r) => {
    const tr = r as unknown as { id: string; className: string; cells: { textContent: string | null }[]; querySelectorAll(s: string): ArrayLike<{ getAttribute(a: string): string | null }> };
    return { id: tr.id, cls: tr.className, date: tr.cells[0]?.textContent, reason: tr.cells[1]?.textContent, links: Array.from(tr.querySelectorAll('a')).map((a) => a.getAttribute('href')), balance: tr.cells[5]?.textContent };
  }));

  it('the passbook shows times, names what a reversal undoes, marks the line undone, and keeps a month with its subtotals', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    await rig.staffSignIn(page, 'kuaiji');
    await page.goto(`${rig.base}/passbook?village=${rig.g.a}&villager=li`);
    await page.waitForSelector('#book:not([hidden])');
    const all = await lines(page);
    expect(all.map((l) => l.date)).toEqual([`${before.replace('-0', '-').replace('-', '/')}/1509:05`, ...[meeting, reversal].map((l) => `${village(l.date).date}${village(l.date).time}`)]);
    const m = village(meeting.date);
    expect(all[1]).toEqual({ id: `line-${meeting.seq}`, cls: 'reversed', date: `${m.date}${m.time}`, reason: `参加村民会议已冲正 reversed ${village(reversal.date).date} ${village(reversal.date).time}`, links: [`#line-${reversal.seq}`], balance: '12' });
    expect(all[2]).toEqual({ id: `line-${reversal.seq}`, cls: '', date: expect.any(String) as unknown, reason: `冲正 「参加村民会议」${m.date} ${m.time} +2：李四当天未参加，误记`, links: [`#line-${meeting.seq}`], balance: '10' });
    await page.screenshot({ path: path.join(SHOTS, 'ledger-passbook-reversal.png'), fullPage: true });

    // last month alone: its line under nothing brought forward, its subtotals, its closing balance
    await page.fill('#month', before);
    await page.click('#month-form button[type=submit]');
    await expect.poll(async () => (await lines(page)).map((l) => l.balance)).toEqual(['10']);
    expect(new URL(page.url()).searchParams.get('month')).toBe(before);
    const sums = async () => Object.fromEntries(await Promise.all(['opening', 'earned', 'deducted', 'spent', 'refunded', 'adjusted', 'closing'].map(async (k) => [k, await page.textContent(`#m-${k}`)])));
    expect(await sums()).toEqual({ opening: '0', earned: '10', deducted: '0', spent: '0', refunded: '0', adjusted: '0', closing: '10' });
    expect(await page.textContent('#balance-label')).toBe('月末结余 Closing balance');
    // this month: 10 brought forward, the award and its reversal, which name each other
    await page.fill('#month', month);
    await page.click('#month-form button[type=submit]');
    await expect.poll(async () => (await lines(page)).map((l) => l.balance)).toEqual(['12', '10']);
    expect(await page.textContent('#opening')).toBe('承前结余 10 分');
    expect(await sums()).toEqual({ opening: '10', earned: '2', deducted: '0', spent: '0', refunded: '0', adjusted: '-2', closing: '10' });
    expect((await lines(page)).map((l) => l.links)).toEqual([[`#line-${reversal.seq}`], [`#line-${meeting.seq}`]]);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-passbook-month.png'), fullPage: true });
    await context.close();
  });

  it('/village lists every villager\'s month by name, adding up to the closing balance, with a 合计 line and its CSV', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    await rig.staffSignIn(page, 'kuaiji');
    await expect.poll(() => page.locator('#statement tr[data-villager=li]').count()).toBe(1);
    expect(await page.inputValue('#statement-month')).toBe(month);
    await page.fill('#statement-month', before);
    await page.click('#statement-form button[type=submit]');
    await expect.poll(() => page.textContent('#statement tr[data-villager=li] td.closing')).toBe('10');
    await page.fill('#statement-month', month);
    await page.click('#statement-form button[type=submit]');
    await expect.poll(() => page.textContent('#statement tr[data-villager=li] td.opening')).toBe('10');
    const cells = await page.locator('#statement tr[data-villager=li] td').allTextContents();
    expect(cells).toEqual(['li', '李四', '10', '2', '0', '0', '0', '-2', '10', '存折 Passbook']);
    const [opening, earned, deducted, spent, refunded, adjusted, closing] = cells.slice(2, 9).map(Number) as number[];
    expect(opening! + earned! - deducted! - spent! + refunded! + adjusted!).toBe(closing);
    expect(await page.locator('#statement-total td').allTextContents()).toEqual(['合计 Total', '', '10', '2', '0', '0', '0', '-2', '10', '']);
    expect(await page.textContent('#statement-title')).toContain(rig.g.a);
    expect(await page.getAttribute('#statement tr[data-villager=li] a', 'href')).toBe(`/passbook?village=${rig.g.a}&villager=li&month=${month}`);
    // the CSV the link downloads
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#statement-csv')]);
    expect(download.suggestedFilename()).toBe(`${rig.g.a}-statement-${month}.csv`);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-statement.png'), fullPage: true });
    await context.close();
  });
});
