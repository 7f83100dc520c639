/**
 * The admin page and the shelves page in a real browser (Debian's chromium through
 * playwright-core) stay current without reloading: the admin page puts fresh parts in place as
 * the door, the session and the ledger change (no navigation, no meta refresh, a value typed in
 * a form survives), and /shelves follows the weights on the scales over the live stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, pageProblems } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed, type DoorContact } from '../../edge/http/live-feed.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');

class FakeLock extends EventEmitter {
  doorState: DoorContact = 'closed';
}
class FakeScales extends EventEmitter {
  weights = new Map<string, number | null>([['B1', 4500]]);
  status() {
    return [...this.weights].map(([slot, g]) => ({ slot, health: 'ok', stable_g: g }));
  }
  async zero(): Promise<void> {}
}
const engine: { phase: string; current: StoreStateSource['current'] } = { phase: 'idle', current: null };
const session: StoreStateSource = {
  get phase() {
    return engine.phase;
  },
  get current() {
    return engine.current;
  },
  cart: () => (engine.current ? { totalPoints: 0, cart: { lines: [], review: [] } } : null),
};
const ledger = tempLedger();
const relay = new EventEmitter<DaemonEvents>();
const lock = new FakeLock();
const scales = new FakeScales();
const live = new LiveFeed({ events: relay, lock: () => lock, scales: () => scales });
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, session, live, scales: () => scales, timeZone: 'Asia/Shanghai' },
  pino({ level: 'silent' }),
);
let browser: Browser;

async function signedInPage(url: string): Promise<{ page: Page; problems: string[]; navigations: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems = pageProblems(page);
  await page.goto(`${server.address!}login?next=${encodeURIComponent(url)}`);
  await page.fill('#username', 'wang');
  await page.fill('#password', TEST_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === url), page.click('button[type=submit]')]);
  await page.waitForLoadState('load');
  // every navigation of the main frame from now on (a reload would be one)
  const navigations: string[] = [];
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations.push(f.url());
  });
  await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));
  return { page, problems, navigations };
}

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  upsertProduct(ledger.db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  await createAccount(ledger.db, 'wang');
  await server.start();
  live.start();
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  live.stop();
  await server.stop();
  ledger.cleanup();
});

describe('pages that update in place', () => {
  it('the admin page shows the door, the session and the ledger as they change, without a reload', async () => {
    const { page, problems, navigations } = await signedInPage('/');
    expect(await page.locator('meta[http-equiv=refresh]').count()).toBe(0);
    await page.locator('#page-status[data-state=live]').waitFor();
    expect(await page.locator('#villagers tr', { hasText: '王大妈' }).locator('td.balance').innerText()).toBe('0');
    // a maintainer is typing a card number when things change: it must survive
    await page.fill('#card-issue input[name=villager]', 'V001');

    // the door lets her in by card (a live event), then she is inside (the session)
    insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'matched', by: 'card', villagerId: 'V001', detail: { unlocked: true } });
    relay.emit('entry_decision', { at: Date.now(), by: 'card', decision: 'matched', villagerId: 'V001', unlocked: true, detail: {}, latencyMs: 100 });
    await page.locator('#entry-events tr', { hasText: '王大妈' }).first().waitFor();
    engine.phase = 'shopping';
    engine.current = { sessionId: 'sess-1', villagerId: 'V001', kind: 'shopping', enteredBy: 'card', openedAt: Date.now() };
    relay.emit('session_state', {} as DaemonEvents['session_state'][0]);
    await page.locator('#store-state[data-phase=shopping]').waitFor();

    // points awarded from the CLI or the village (a ledger write, nothing on the stream): the next refresh shows them
    applyEntry(ledger.db, { id: 'award-1', villagerId: 'V001', kind: 'award', points: 40, reason: '打扫村道', origin: 'cli' }, { creditFloor: 0 });
    await page.locator('#villagers tr', { hasText: '王大妈' }).locator('td.balance', { hasText: '40' }).waitFor({ timeout: 20_000 });

    expect(await page.inputValue('#card-issue input[name=villager]')).toBe('V001');
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(navigations).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: path.join(SHOTS, 'admin-main-live-tablet.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('/shelves and /live follow the weights on the scales without a reload', async () => {
    const { page, problems, navigations } = await signedInPage('/shelves');
    await page.locator('#live-status[data-connected=true]').waitFor();
    const b1 = page.locator('#shelves tr[data-slot=B1]');
    expect(await b1.locator('td.weight').innerText()).toBe('4500 克');
    await page.fill('#shelves tr[data-slot=B1] input[name=known_g]', '1000');
    scales.weights.set('B1', null);
    scales.emit('sweep');
    await b1.locator('td.weight', { hasText: '称重中…' }).waitFor();
    expect(await b1.locator('td.counted').innerText()).toBe('—');
    scales.weights.set('B1', 2700);
    scales.emit('sweep');
    await b1.locator('td.weight', { hasText: '2700 克' }).waitFor();
    expect(await b1.locator('td.counted').innerText()).toBe('3');
    expect(await page.inputValue('#shelves tr[data-slot=B1] input[name=known_g]')).toBe('1000');
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(navigations).toEqual([]);

    const other = await signedInPage('/live');
    await other.page.locator('#shelf-table tr[data-slot=B1] td.weight', { hasText: '2700 克' }).waitFor();
    scales.weights.set('B1', 1800);
    scales.emit('sweep');
    await other.page.locator('#shelf-table tr[data-slot=B1] td.weight', { hasText: '1800 克' }).waitFor();
    expect(await other.page.locator('#shelf-table tr[data-slot=B1] td.counted').innerText()).toBe('2');
    expect(other.navigations).toEqual([]);
    expect([...problems, ...other.problems]).toEqual([]);
    await page.context().close();
    await other.page.context().close();
  });
});
