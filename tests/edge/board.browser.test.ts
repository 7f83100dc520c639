/**
 * The public board in a real browser (Debian's chromium through playwright-core), at a wall
 * screen's 1920×1080 and a portrait tablet's 800×1280, screenshots under test-results/: large
 * type, everything on one screen, what the village publishes and nothing else — an opted-out
 * villager's name, the maintainer, balances and debts never appear. The live part is swapped in
 * place (no reload) when the ledger sends a new board, and the page says when its data is stale
 * because the store is cut off, or when the store's own server does not answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import type { SyncStateSource } from '../../edge/http/queries.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { boardVillage, HIDDEN_NAMES, PRIVATE_FIGURES, type BoardVillage } from './board-fixture.ts';
import { loadBoard, saveBoard } from '../../edge/ledger/board.ts';

// The callbacks given to evaluate() run in the page. This project's type check has no DOM
// library, so the few browser globals they use are declared here, for this file only.
interface Rect { left: number; right: number; top: number; bottom: number }
interface PageElement { id: string; innerText: string; hidden: boolean; getBoundingClientRect(): Rect; closest(sel: string): PageElement | null; getAttribute(name: string): string | null }
declare const window: { innerHeight: number; innerWidth: number; marker?: string };
declare const document: { documentElement: { scrollHeight: number }; body: { innerText: string }; querySelectorAll(sel: string): Iterable<PageElement>; getElementById(id: string): PageElement | null };
declare function getComputedStyle(e: PageElement): { display: string; fontSize: string };

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');
const SIZES = { landscape: { width: 1920, height: 1080 }, portrait: { width: 800, height: 1280 } } as const;

const ledger = tempLedger();
let connected = true;
const sync: SyncStateSource = {
  state: () => ({ connected, outbox_pending: 0, last_acked_seq: 0, inbound_seq: 1, last_contact: new Date().toISOString(), refused: {} }),
};
const health = new HealthBoard();
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health, db: () => ledger.db, ledgerRules: { creditFloor: 0 }, sync },
  pino({ level: 'silent' }),
);
let browser: Browser;
let village: BoardVillage;

async function open(size: keyof typeof SIZES, refresh = 30): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: SIZES[size], locale: 'zh-CN' });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('requestfailed', (r) => problems.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(new URL(`/board?refresh=${refresh}`, server.address).toString());
  return { page, problems };
}

/** Everything a passer-by can read, and what must never be among it. */
async function expectNothingPrivate(page: Page): Promise<void> {
  const text = await page.locator('body').innerText();
  const html = await page.content();
  for (const name of HIDDEN_NAMES) {
    expect(text).not.toContain(name);
    expect(html).not.toContain(name);
  }
  for (const figure of PRIVATE_FIGURES) expect(text).not.toContain(figure);
  for (const word of ['欠', '余额', 'zhang', 'zhao']) expect(text).not.toContain(word);
}

/** A wall screen (1920×1080) read from three metres: no text under this many pixels. */
const SMALLEST_PX_3M = 28;

/**
 * The smallest text the page shows, and where: every element with text of its own that is
 * rendered, a visible item's dates and items, the 分 after the points, the totals' labels, the
 * notes under the red list (屏幕放不下另外 N 位).
 */
async function smallestText(page: Page): Promise<{ px: number; where: string }> {
  return page.evaluate(() => {
    let least = { px: Infinity, where: '' };
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      const e = el as unknown as PageElement & { childNodes: Iterable<{ nodeType: number; textContent: string | null }>; getClientRects(): { length: number } };
      const own = Array.from(e.childNodes).some((n) => n.nodeType === 3 && (n.textContent ?? '').trim() !== '');
      if (!own || e.getClientRects().length === 0) continue;
      const px = Number.parseFloat(getComputedStyle(e).fontSize);
      if (px < least.px) least = { px, where: `${e.id || (e as unknown as { className: string }).className || (e as unknown as { tagName: string }).tagName}: ${e.innerText.slice(0, 30)}` };
    }
    return least;
  });
}

/**
 * Nothing scrolls and no line is cut off: a row either sits wholly inside its panel (and the
 * screen) or is not shown at all (hidden, or wrapped out of the panel). Answers how many show.
 */
async function expectOneScreen(page: Page): Promise<Record<string, number>> {
  const fit = await page.evaluate(() => {
    const vh = window.innerHeight;
    const vw = window.innerWidth;
    const cut: string[] = [];
    const shown: Record<string, number> = {};
    if (document.documentElement.scrollHeight > vh + 1) cut.push(`page scrolls: ${document.documentElement.scrollHeight} > ${vh}`);
    for (const li of Array.from(document.querySelectorAll('.panel li'))) {
      if (getComputedStyle(li).display === 'none') continue;
      const r = li.getBoundingClientRect();
      const el = li.closest('.panel')!;
      const p = el.getBoundingClientRect();
      if (r.left >= p.right - 1 || r.top >= p.bottom - 1) continue; // wrapped out of the panel: not shown
      if (r.bottom > p.bottom + 1 || r.right > p.right + 1 || r.bottom > vh || r.right > vw + 1) cut.push(`cut off: ${li.innerText.replace(/\s+/g, ' ')}`);
      shown[el.id] = (shown[el.id] ?? 0) + 1;
    }
    return { cut, shown };
  });
  expect(fit.cut).toEqual([]);
  return fit.shown;
}

beforeAll(async () => {
  village = await boardVillage(ledger.db);
  await village.deliver();
  health.setPhase('running');
  await server.start();
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  await village?.close();
  ledger.cleanup();
});

describe('the public board in chromium', () => {
  for (const size of ['landscape', 'portrait'] as const) {
    it(`shows the red list, good deeds, totals and prices at ${SIZES[size].width}×${SIZES[size].height}, large, on one screen, nothing private`, async () => {
      const { page, problems } = await open(size);
      await page.screenshot({ path: path.join(SHOTS, `board-${size}.png`) });
      const red = await page.locator('#red-list li').allInnerTexts();
      // 老陈 (the store's maintainer, 30 points) is left off and the places close up; 李四 opted out: masked
      expect(red.map((t) => t.replace(/\s+/g, ' '))).toEqual([
        expect.stringMatching(/^1 张三 评为文明家庭、参加村民会议 32 ?分$/),
        expect.stringMatching(/^2 李\*\* 提出合理化建议被采纳 9 ?分$/),
        // equal points share a place
        expect.stringMatching(/^3 孙七 提出合理化建议被采纳、垃圾分类投放到位 7 ?分$/),
        expect.stringMatching(/^3 王五 提出合理化建议被采纳 7 ?分$/),
        expect.stringMatching(/^5 赵\*\* 按时缴纳医保 5 ?分$/),
      ]);
      expect(await page.locator('#deeds li').first().innerText()).toContain('清理河道垃圾（村东段）');
      expect(await page.locator('#total-issued .n').innerText()).toBe('90');
      expect(await page.locator('#board-status').innerText()).toContain('村账本数据更新于');
      const prices = (await page.locator('#prices li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      expect(prices).toContain('香皂 8分 缺货');
      expect(prices).toContain('花生油 1L 30分 有货');
      await expectNothingPrivate(page);
      // every line of the red list and every price fits (the portrait tablet shows fewer good deeds)
      expect(await expectOneScreen(page)).toMatchObject({ 'red-list': 5, prices: 6, deeds: size === 'landscape' ? 8 : 3 });
      // readable from three metres: the names and points are large, the title larger
      const px = async (sel: string) => Number.parseFloat(await page.locator(sel).first().evaluate((e) => getComputedStyle(e as unknown as PageElement).fontSize));
      expect(await px('#red-list .who')).toBeGreaterThanOrEqual(size === 'landscape' ? 32 : 28);
      expect(await px('#prices .name')).toBeGreaterThanOrEqual(size === 'landscape' ? 32 : 28);
      expect(await px('h1')).toBeGreaterThanOrEqual(await px('#red-list .who'));
      // and so is everything else on the wall screen: items, dates, labels, units
      if (size === 'landscape') {
        const least = await smallestText(page);
        expect(least.px, least.where).toBeGreaterThanOrEqual(SMALLEST_PX_3M);
      }
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);
  }

  it('takes a new board in place without reloading, and says so when the store is cut off from the ledger or its server is down', async () => {
    const { page, problems } = await open('landscape', 2);
    await page.evaluate(() => { window.marker = 'same page'; });
    // the village leaves opted-out villagers off instead of masking them, and a new board arrives
    expect((await village.gov.call(village.gov.va, 'PUT', `/api/villages/${village.gov.a}/board`, { name_style: 'omit' })).statusCode).toBe(200);
    await village.deliver();
    await page.waitForFunction(() => !document.body.innerText.includes('李**'));
    expect(await page.locator('#red-list li .who').allInnerTexts()).toEqual(['张三', '孙七', '王五']);
    expect(await page.evaluate(() => window.marker)).toBe('same page');
    await expectNothingPrivate(page);

    // the store loses the broker: the data stays, with a clear note
    connected = false;
    await page.locator('#board-status[data-stale]').waitFor();
    expect(await page.locator('#board-status').innerText()).toContain('本店暂时与村账本断开连接');
    expect(await page.locator('#red-list li').count()).toBe(3);
    await page.screenshot({ path: path.join(SHOTS, 'board-landscape-offline.png') });
    await page.setViewportSize(SIZES.portrait);
    await expectOneScreen(page);
    await page.screenshot({ path: path.join(SHOTS, 'board-portrait-offline.png') });
    connected = true;
    await page.locator('#board-status:not([data-stale])').waitFor();

    // the store's own server stops answering: the page keeps what it shows and says so
    await page.route('**/board/live', (route) => route.abort());
    await page.locator('#page-offline').waitFor({ state: 'visible' });
    expect(await page.locator('#red-list li').count()).toBe(3);
    await page.unroute('**/board/live');
    await page.locator('#page-offline').waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => window.marker)).toBe('same page');
    // only the fetches refused on purpose above failed
    expect(problems.filter((p) => !p.includes('/board/live') && !p.includes('net::ERR_FAILED'))).toEqual([]);
    await page.close();
  }, 90_000);

  // Last: it puts a board of its own in the store's ledger, above the village's versions.
  it('a red list longer than the screen holds says how many rows it cannot show, at both sizes and after a new board', async () => {
    const kept = loadBoard(ledger.db)!;
    const tied = Array.from({ length: 50 }, (_, i) => ({ rank: 1, villager: `p${String(i).padStart(2, '0')}`, name: `村民${i}`, masked: false, points: 2, items: [{ name: '参加村民会议', count: 1 }] }));
    saveBoard(ledger.db, { ...kept, version: kept.version + 1, body: { ...kept.body, computed_at: new Date().toISOString(), red_list: tied, red_list_more: { rank: 1, points: 2, count: 70 } } });
    const { page, problems } = await open('landscape', 2);
    for (const size of ['landscape', 'portrait'] as const) {
      await page.setViewportSize(SIZES[size]);
      const shown = (await expectOneScreen(page))['red-list'] ?? 0;
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThan(50);
      // the rows the screen cannot hold are counted on it, under what it shows
      await page.waitForFunction((n) => document.getElementById('red-list-hidden')?.getAttribute('data-count') === String(n), 50 - shown);
      expect(await page.locator('#red-list-hidden').innerText()).toBe(`屏幕放不下另外 ${50 - shown} 位`);
      expect(await page.locator('#red-list-more').innerText()).toContain('另有 70 位村民同为第 1 名');
      if (size === 'landscape') {
        const least = await smallestText(page);
        expect(least.px, least.where).toBeGreaterThanOrEqual(SMALLEST_PX_3M);
      }
      for (const sel of ['#red-list-hidden', '#red-list-more']) {
        const inside = await page.locator(sel).evaluate((e) => {
          const r = (e as unknown as PageElement).getBoundingClientRect();
          const p = (e as unknown as PageElement).closest('.panel')!.getBoundingClientRect();
          return r.top >= p.top && r.bottom <= p.bottom + 1 && r.right <= p.right + 1;
        });
        expect({ sel, size, inside }).toEqual({ sel, size, inside: true });
      }
      await page.screenshot({ path: path.join(SHOTS, `board-${size}-tied.png`) });
    }
    // a board that fits again: the count goes away with the swap
    saveBoard(ledger.db, { ...kept, version: kept.version + 2, body: { ...kept.body, computed_at: new Date().toISOString() } });
    await page.waitForFunction(() => document.getElementById('red-list-more') === null);
    await page.waitForFunction(() => document.getElementById('red-list-hidden')?.hidden === true);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});
