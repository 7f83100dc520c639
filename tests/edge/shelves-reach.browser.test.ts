/**
 * /shelves at the tablet sizes a maintainer holds (1024×768 landscape, 800×1280 portrait), in
 * Chinese and English, in a real browser (Debian's chromium through playwright-core): every
 * control of the page, the calibration wizard's known weight and its save button among them, lies
 * within the screen's width (no sideways scrolling) and is what a tap on its centre hits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type BrowserContextOptions } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

/** What the check below uses of the page's DOM (run in the browser; the tests compile without the DOM's types). */
interface Control {
  tagName: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  closest(sel: string): Control | null;
  contains(other: Control | null): boolean;
  scrollIntoView(opts: { block: string; inline: string }): void;
  getBoundingClientRect(): { left: number; right: number; top: number; width: number; height: number };
}
declare const document: { documentElement: { scrollWidth: number; clientWidth: number }; querySelectorAll(sel: string): Iterable<Control>; elementFromPoint(x: number, y: number): Control | null };
declare const window: { scrollX: number };

/** The demo store's shelf: four slots with their scales. */
const SLOTS = [['A1', 11, 'salt', 4020], ['A2', 12, 'soap', 1210], ['B1', 13, 'oil', 1801], ['B2', 14, 'rice', 25_030]] as const;
class FakeScales implements ShelfScales {
  status() {
    return SLOTS.map(([slot, unit, , g]) => ({ slot, unit_id: unit, health: 'ok', stable_g: g }));
  }
  async zero(): Promise<void> {}
}
const session: StoreStateSource = { phase: 'idle', current: null, cart: () => null };
const ledger = tempLedger();
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.95 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, session, scales: () => new FakeScales() },
  pino({ level: 'silent' }),
);
let browser: Browser;
/** The signed-in session's cookies, signed in once for all sizes. */
let signedIn: BrowserContextOptions['storageState'];

beforeAll(async () => {
  const db = ledger.db;
  upsertProduct(db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
  upsertProduct(db, { sku: 'soap', name: '肥皂', price: 8, unitG: 120, toleranceG: 8 });
  upsertProduct(db, { sku: 'oil', name: '食用油', price: 30, unitG: 900, toleranceG: 20 });
  upsertProduct(db, { sku: 'rice', name: '大米（5 公斤装）', price: 40, unitG: 5000, toleranceG: 60 });
  for (const [slot, address, sku] of SLOTS) upsertSlot(db, { slot, address, sku, stock: 2 });
  await createAccount(db, 'wang');
  await server.start();
  browser = await launchChromium();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.address!}login?next=${encodeURIComponent('/shelves')}`);
  await page.fill('#username', 'wang');
  await page.fill('#password', TEST_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/shelves'), page.click('button[type=submit]')]);
  signedIn = await context.storageState();
  await context.close();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  ledger.cleanup();
});

describe('/shelves at tablet sizes', () => {
  it.each([
    [1024, 768, 'zh'],
    [800, 1280, 'zh'],
    [1024, 768, 'en'],
    [800, 1280, 'en'],
  ] as const)('%d×%d (%s): every control within the width and the one a tap on its centre hits', async (width, height, lang) => {
    const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN', storageState: signedIn });
    const page = await context.newPage();
    await page.goto(`${server.address!}shelves?lang=${lang}`);
    await page.waitForLoadState('load');
    const found = await page.evaluate(() => {
      const out = { controls: 0, calibrate: 0, beyond: [] as string[], covered: [] as string[] };
      for (const el of document.querySelectorAll('button, input:not([type=hidden]), select, a')) {
        el.scrollIntoView({ block: 'center', inline: 'nearest' });
        const r = el.getBoundingClientRect();
        if (r.width === 0) continue;
        out.controls++;
        const row = el.closest('tr')?.dataset.slot ?? el.closest('form')?.getAttribute('action') ?? '';
        const name = `${row} ${el.tagName.toLowerCase()}[${el.getAttribute('name') ?? el.dataset.action ?? el.textContent?.trim().slice(0, 12)}]`;
        if (el.getAttribute('name') === 'known_g' || el.dataset.action === 'calibrate') out.calibrate++;
        if (r.right + window.scrollX > document.documentElement.clientWidth) out.beyond.push(`${name} right edge ${Math.round(r.right + window.scrollX)}`);
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (hit !== el && !el.contains(hit) && !hit?.contains(el)) out.covered.push(`${name} under ${hit?.tagName ?? 'nothing'}`);
      }
      return { ...out, page: document.documentElement.scrollWidth, screen: document.documentElement.clientWidth };
    });
    await context.close();
    expect(found.calibrate).toBe(2 * SLOTS.length);
    expect(found.beyond).toEqual([]);
    expect(found.covered).toEqual([]);
    expect(found.page).toBeLessThanOrEqual(found.screen);
  }, 60_000);
});
