/**
 * The town page's CSV downloads (/town, 导出 CSV) in a real browser (Debian's chromium through
 * playwright-core), as the town office saves them: a click on a table's button saves a file
 * named for the table and the period, which Excel on the office PC opens as it is: a UTF-8
 * byte-order mark (else Excel reads the Chinese as mojibake), CRLF lines, bilingual headers, and
 * a name with a comma or a quote in it kept in one cell (quoted, the quote doubled). The page
 * saves each through a temporary blob: link, which it releases (URL.revokeObjectURL) once the
 * download has started, after a grace the test passes with the page's clock (playwright's fake
 * timers): before, every link was kept for as long as the page stayed open, and on the town's
 * tablet, open all day, their CSVs piled up in its memory.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { pageProblems } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { type StaffSession } from './gov-app.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

const VILLAGE_NAME = '东村,"新"组';
const ITEM_NAME = '清扫"门前三包",及巷道';

describe(`/town CSV downloads in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let town: StaffSession;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      town = await g.staff('town-office');
      expect((await g.call(g.town, 'POST', '/api/villages', { id: 'east', name: VILLAGE_NAME })).statusCode).toBe(201);
      await g.villager(g.a, 'zhang');
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'A-QUOTED', name: ITEM_NAME, category: 'other', direction: 'add', points_min: 3, points_max: 3, evidence: 'none' })).statusCode).toBe(201);
      const r = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'A-QUOTED', villager: 'zhang' })).json() as { id: string };
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${r.id}/approve`, {})).statusCode).toBe(200);
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  /** Clicks the CSV button of `table`: the file's suggested name and bytes. */
  const download = async (page: Page, table: string) => {
    const saved = page.waitForEvent('download');
    await page.click(`button[data-csv="${table}"]`);
    const d = await saved;
    return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) };
  };

  /** The page's blob: links not released yet. */
  const livingLinks = (page: Page) => page.evaluate(() => {
    const w = globalThis as unknown as { blobLinks: string[]; releasedLinks: string[] };
    return w.blobLinks.filter((url) => !w.releasedLinks.includes(url));
  });

  it('saves each table as a CSV Excel opens: BOM, CRLF, bilingual headers, a name with a comma and quotes in one cell', async () => {
    const context = await rig.browser.newContext({ acceptDownloads: true, locale: 'zh-CN' });
    // the blob: links the page makes and those it releases, kept to look at afterwards (the
    // page's CSP lets no fetch of a blob: link tell a released one from a living one)
    await context.addInitScript(() => {
      type Urls = { createObjectURL(o: unknown): string; revokeObjectURL(u: string): void };
      const w = globalThis as unknown as { URL: Urls; blobLinks: string[]; releasedLinks: string[] };
      const make = w.URL.createObjectURL.bind(w.URL);
      const release = w.URL.revokeObjectURL.bind(w.URL);
      w.blobLinks = [];
      w.releasedLinks = [];
      w.URL.createObjectURL = (o) => {
        const url = make(o);
        w.blobLinks.push(url);
        return url;
      };
      w.URL.revokeObjectURL = (url) => {
        w.releasedLinks.push(url);
        release(url);
      };
    });
    await rig.asStaff(context, town);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    // the roll-up's first query starts its worker (SQLite), slow on a loaded machine
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(rig.g.a);
    await page.clock.install();

    const part = await download(page, 'participation');
    expect(part.name).toMatch(/^town-participation-\d{4}-\d{2}_\d{4}-\d{2}\.csv$/);
    expect([...part.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const partLines = part.bytes.subarray(3).toString('utf8').split('\r\n');
    expect(partLines[0]).toBe('村 village,村名 name,村民数 villagers,获奖励人数 awarded,参与率 rate');
    expect(partLines).toContain('east,"东村,""新""组",0,0,0');
    expect(partLines).toContain(`${rig.g.a},村,1,1,1`);

    const items = await download(page, 'items');
    expect(items.name).toMatch(/^town-items-\d{4}-\d{2}_\d{4}-\d{2}\.csv$/);
    expect([...items.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const itemLines = items.bytes.subarray(3).toString('utf8').split('\r\n');
    expect(itemLines[0]).toBe('村 village,村名 village name,范围 scope,编号 code,细则 item,加减 direction,次数 approvals,积分 points');
    expect(itemLines).toContain(`${rig.g.a},村,村级,A-QUOTED,"清扫""门前三包"",及巷道",加分,1,3`);

    const months = await download(page, 'months');
    expect(months.name).toMatch(/^town-months-\d{4}-\d{2}_\d{4}-\d{2}\.csv$/);
    const monthLines = months.bytes.subarray(3).toString('utf8').split('\r\n');
    expect(monthLines[0]).toBe('村 village,村名 village name,月份 month,发放积分 issued,其他发放（开户等） other awards,扣减积分 deducted,兑换积分 redeemed,退回积分 refunded,调整积分 adjusted,奖励笔数 awards,获奖励人数 villagers awarded,补录笔数 late entries,补录积分 late points');
    expect(monthLines.find((l) => l.startsWith(`${rig.g.a},`))).toMatch(new RegExp(`^${rig.g.a},村,\\d{4}-\\d{2},3,0,0,0,0,0,1,1,0,0$`));

    // one village chosen: the file says so, and holds that village alone
    await page.selectOption('#village', 'east');
    const one = await download(page, 'participation');
    expect(one.bytes.subarray(3).toString('utf8').split('\r\n').filter(Boolean).slice(1)).toEqual(['east,"东村,""新""组",0,0,0']);

    // each download's link, kept while the download starts, is released afterwards
    const made = await page.evaluate(() => (globalThis as unknown as { blobLinks: string[] }).blobLinks);
    expect(made).toHaveLength(4);
    await page.clock.fastForward('10:00'); // far beyond any grace the page gives a download
    expect(await livingLinks(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
