/**
 * The live page in a real browser (Debian's chromium through playwright-core): the daemon's
 * events reach the page over its stream and change what it shows without a reload; the page
 * runs only its own script (no CSP violation, no script error); English on request.
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
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');

class FakeLock extends EventEmitter {
  doorState: DoorContact = 'closed';
}
const engine: { phase: string; current: StoreStateSource['current']; lines: Array<{ sku: string; slot: string; count: number }> } = { phase: 'idle', current: null, lines: [] };
const session: StoreStateSource = {
  get phase() {
    return engine.phase;
  },
  get current() {
    return engine.current;
  },
  cart: () => (engine.current ? { totalPoints: engine.lines.reduce((n, l) => n + l.count * 30, 0), cart: { lines: engine.lines, review: [] } } : null),
};
const ledger = tempLedger();
const relay = new EventEmitter<DaemonEvents>();
const lock = new FakeLock();
const live = new LiveFeed({ events: relay, lock: () => lock });
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, session, live, timeZone: 'Asia/Shanghai' },
  pino({ level: 'silent' }),
);
let browser: Browser;

async function shoot(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of [['tablet', { width: 1280, height: 800 }], ['desktop', { width: 1920, height: 1080 }]] as const) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(SHOTS, `admin-${name}-${size}.png`), fullPage: true });
  }
}

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  upsertProduct(ledger.db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  await createAccount(ledger.db, 'wang');
  await server.start();
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  ledger.cleanup();
});

describe('live page in chromium', () => {
  it('follows the door, the cart, the decisions and the alarms without a reload; English on request', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${server.address!}live`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/live'), page.click('button[type=submit]')]);
    await page.locator('#live-status[data-connected=true]').waitFor();
    expect(await page.locator('#door-state').innerText()).toBe('门关着');
    expect(await page.locator('#lock-state').innerText()).toBe('已上锁');
    expect(await page.locator('#store-who').innerText()).toBe('店里没有人');
    // a marker a reload would wipe
    await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

    insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'matched', by: 'card', villagerId: 'V001', detail: { unlocked: true } });
    relay.emit('entry_decision', { at: Date.now(), by: 'card', decision: 'matched', villagerId: 'V001', unlocked: true, detail: {}, latencyMs: 100 });
    lock.emit('unlocked', { release_at: Date.now() + 3000, confirmed_at: Date.now(), pulse_ms: 3000 });
    lock.doorState = 'open';
    lock.emit('door', { state: 'open', initial: false, at: Date.now() });
    await page.locator('#decisions li[data-decision=matched]', { hasText: '刷卡放行' }).waitFor();
    await page.locator('#door-state[data-door=open]').waitFor();
    expect(await page.locator('#lock-state').innerText()).toMatch(/^已开锁/);

    engine.phase = 'shopping';
    engine.current = { sessionId: 'sess-1', villagerId: 'V001', kind: 'shopping', enteredBy: 'card', openedAt: Date.now() };
    relay.emit('session_state', {} as DaemonEvents['session_state'][0]);
    await page.locator('#store-phase[data-phase=shopping]').waitFor();
    engine.lines = [{ sku: 'oil', slot: 'B1', count: 1 }];
    relay.emit('cart', {} as DaemonEvents['cart'][0]);
    await page.locator('#cart-total[data-points="30"]').waitFor();
    engine.lines = [{ sku: 'oil', slot: 'B1', count: 2 }];
    relay.emit('cart', {} as DaemonEvents['cart'][0]);
    await page.locator('#cart-total[data-points="60"]').waitFor();
    expect(await page.locator('#cart-table').innerText()).toContain('菜籽油');
    expect(await page.locator('#store-who').innerText()).toContain('王大妈');

    insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'unknown', by: 'face', villagerId: null, detail: { frames: 3, seen: 'unknown,unknown,unknown', unlocked: false } });
    relay.emit('entry_decision', { at: Date.now(), by: 'face', decision: 'unknown', villagerId: null, unlocked: false, detail: {}, latencyMs: null });
    await page.locator('#decisions li[data-decision=unknown]', { hasText: '未识别（3 帧都不像已登记村民）' }).waitFor();
    relay.emit('alarm', { kind: 'unattended_shelf', slot: 'A1', deltaG: -410, at: Date.now() });
    await page.locator('#alarms li[data-kind=unattended_shelf]').waitFor();
    // one way for times: 2026-11-30 20:13
    expect(await page.locator('#decisions li time').first().innerText()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shoot(page, 'live');

    await Promise.all([page.waitForURL((u) => u.searchParams.get('lang') === 'en'), page.click('#lang-switch')]);
    await page.locator('#live-status[data-connected=true]').waitFor();
    expect(await page.locator('#door-state').innerText()).toBe('Door open');
    expect(await page.locator('#decisions li[data-decision=unknown]').innerText()).toContain('Not recognised (none of 3 frames looks like an enrolled villager)');
    expect(await page.locator('#store-phase').innerText()).toBe('Shopping');
    await shoot(page, 'live-en');
    expect(problems).toEqual([]);
    await context.close();
  });
});
