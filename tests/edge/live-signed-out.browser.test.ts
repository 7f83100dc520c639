/**
 * /live and /shelves once the admin session ends (a logout in another tab, a new password, the
 * 8 hours), in a real browser (Debian's chromium through playwright-core): the stream is refused
 * (401) and EventSource gives up, so the page must not stay frozen saying it reconnects. With
 * nothing typed it goes to the login, which brings the maintainer back, following again; with a
 * note typed it stays, says so in both languages with a sign-in link, an acknowledgement then
 * fails saying so in both languages with the link, and it follows again once signed in in another
 * tab. A stream refused for another reason (503, busy) is followed again, not left for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { launchChromium, pageProblems } from '../../harness/browser.ts';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed } from '../../edge/http/live-feed.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { alarmById } from '../../edge/ledger/alarms.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const log = pino({ level: 'silent' });
const ledger = tempLedger();
const board = new AlarmBoard(() => ledger.db, log);
const live = new LiveFeed({ events: new EventEmitter<DaemonEvents>(), board: () => board });
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.95 },
  {
    dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, live, timeZone: 'Asia/Shanghai',
    ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note) },
  },
  log,
);
let browser: Browser;

beforeAll(async () => {
  await createAccount(ledger.db, 'wang');
  upsertProduct(ledger.db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  await server.start();
  live.start();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  live.stop();
  await server.stop();
  ledger.cleanup();
});

/** Signs in on the login page `page` is at; waits until it has gone on to `path`. */
async function signIn(page: Page, path: string): Promise<void> {
  await page.fill('#username', 'wang');
  await page.fill('#password', TEST_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === path), page.click('button[type=submit]')]);
}

/** A tablet signed in, showing `path` with its stream open. */
async function tablet(path: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'zh-CN', hasTouch: true });
  const page = await context.newPage();
  const problems = pageProblems(page);
  await page.goto(`${server.address!}${path.slice(1)}`);
  await signIn(page, path.split('?')[0]!);
  await page.locator('#live-status[data-connected=true]').waitFor();
  return { context, page, problems };
}

/** Another tab of the same tablet signs out (the session of both ends). */
async function logoutElsewhere(context: BrowserContext): Promise<Page> {
  const other = await context.newPage();
  await other.goto(server.address!);
  await Promise.all([other.waitForURL((u) => u.pathname === '/login'), other.click('#logout')]);
  return other;
}

/** The browser's own log lines for the stream and the acknowledgement refused 401 (and the one 503 below) are expected; nothing else. */
const unexpected = (problems: string[]): string[] => problems.filter((p) => !/status of (401|503)/.test(p) && !/EventSource's response has a MIME type/.test(p));

describe('the live pages once the session ends, in chromium', () => {
  for (const path of ['/live', '/shelves']) {
    it(`${path}: goes to the login, which brings it back following the stream`, { timeout: 90_000 }, async () => {
      const { context, page, problems } = await tablet(path);
      await logoutElsewhere(context);
      await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === path);
      await signIn(page, path);
      await page.locator('#live-status[data-connected=true]').waitFor();
      expect(unexpected(problems)).toEqual([]);
      await context.close();
    });
  }

  it('/live with a note typed: stays, says so in both languages with a sign-in link, and follows again once signed in elsewhere', { timeout: 90_000 }, async () => {
    const alarm = board.raise('disk_low', 'data', 'free 3 %');
    const { context, page, problems } = await tablet('/live?lang=en');
    const note = page.locator(`#open-alarms li[data-alarm="${alarm.id}"] input[data-note]`);
    await note.fill('checked the disk');
    const other = await logoutElsewhere(context);

    const status = page.locator('#live-status[data-connected=signed-out]');
    await status.waitFor();
    expect(await status.innerText()).toContain('登录已结束');
    expect(await status.innerText()).toContain('Signed out');
    expect(await page.locator('#live-login').getAttribute('href')).toBe('/login?next=%2Flive%3Flang%3Den');
    expect(new URL(page.url()).pathname).toBe('/live');

    await page.click(`#open-alarms li[data-alarm="${alarm.id}"] button[data-action=acknowledge]`);
    const said = page.locator('#ack-status', { hasText: 'Could not acknowledge' });
    await said.waitFor();
    expect(await said.innerText()).toContain('确认失败：登录已结束，请重新登录');
    expect(await said.innerText()).toContain('you are signed out; sign in again');
    expect(await said.innerText()).not.toContain('POST /login');
    expect(await page.locator('#ack-login').getAttribute('href')).toBe('/login?next=%2Flive%3Flang%3Den');
    expect(alarmById(ledger.db, alarm.id)).toMatchObject({ acknowledged_at: null });

    // signed in again in the other tab: this one follows again, the note still there, and acknowledges
    await other.goto(`${server.address!}login`);
    await signIn(other, '/');
    await page.locator('#live-status[data-connected=true]').waitFor();
    expect(await note.inputValue()).toBe('checked the disk');
    await page.click(`#open-alarms li[data-alarm="${alarm.id}"] button[data-action=acknowledge]`);
    await page.locator(`#open-alarms li[data-alarm="${alarm.id}"][data-acknowledged=true]`).waitFor();
    expect(alarmById(ledger.db, alarm.id)).toMatchObject({ acknowledged_by: 'wang', ack_note: 'checked the disk' });
    expect(unexpected(problems)).toEqual([]);
    await context.close();
  });

  it('/live: a stream refused for another reason (503, busy) is followed again, saying so meanwhile', { timeout: 90_000 }, async () => {
    const { context, page, problems } = await tablet('/live');
    // the stream's next request is refused as a busy daemon does; the one after it is held until the page has been seen saying so
    let asked = 0;
    let seen!: () => void;
    const saidSo = new Promise<void>((resolve) => (seen = resolve));
    await page.route('**/api/live', async (route) => {
      asked++;
      if (asked === 1) return route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"BUSY","message":"busy","zh":"忙"}' });
      if (asked === 2) await saidSo;
      return route.fallback();
    });
    await page.reload();
    const lost = page.locator('#live-status[data-connected=false]');
    await lost.waitFor();
    expect(await lost.innerText()).toBe('连接中断，正在重连…');
    await expect.poll(() => asked).toBe(2);
    seen();
    await page.locator('#live-status[data-connected=true]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/live');
    expect(unexpected(problems)).toEqual([]);
    await context.close();
  });
});
