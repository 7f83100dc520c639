/**
 * The admin page and the public board in a real browser (Debian's chromium through
 * playwright-core): the daemon's own app on a real port, Chinese text rendered, no script
 * errors, and what the ledger holds is what the maintainer sees.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { markOutboxAckedSeqs } from '../../edge/ledger/outbox.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import type { StoreStateSource, SyncStateSource } from '../../edge/http/queries.ts';
import { countAdminAccounts } from '../../edge/ledger/admin-accounts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const ledger = tempLedger();
const health = new HealthBoard();
/** The session engine as the page sees it: 王大妈 inside with a bottle of oil in her cart. */
const session: StoreStateSource = {
  phase: 'shopping',
  current: { sessionId: 's-now', villagerId: 'V001', kind: 'shopping', enteredBy: 'face', openedAt: Date.now() },
  cart: () => ({ totalPoints: 30, cart: { lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [] } }),
};
/** The sync agent as the page sees it: connected, two rows waiting, one forged message refused. */
const sync: SyncStateSource = {
  state: () => ({ connected: true, outbox_pending: 2, last_acked_seq: 1, inbound_seq: 12, last_contact: new Date().toISOString(), refused: { unsigned: 0, forged: 1, replayed: 0, expired: 0, invalid: 0 } }),
};
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health, db: () => ledger.db, ledgerRules: { creditFloor: 0 }, session, sync },
  pino({ level: 'silent' }),
);
let browser: Browser;
/** One browser profile for the whole file: signed in once, like a maintainer's tablet. */
let context: BrowserContext;
const SHOTS = path.resolve(import.meta.dirname, '../../test-results');
const TABLET = { width: 1280, height: 800 };
const DESKTOP = { width: 1920, height: 1080 };

async function shoot(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of [['tablet', TABLET], ['desktop', DESKTOP]] as const) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(SHOTS, `admin-${name}-${size}.png`), fullPage: true });
  }
}

/** A page of the signed-in profile (signing in through the form if the session is gone). */
async function signedPage(): Promise<Page> {
  if (countAdminAccounts(ledger.db) === 0) await createAccount(ledger.db, 'wang');
  const page = await context.newPage();
  await page.goto(server.address!);
  if (new URL(page.url()).pathname === '/login') {
    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
  }
  return page;
}

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(ledger.db, { id: 'V002', name: '<script>alert(1)</script>', village: '前进村' });
  applyEntry(ledger.db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 42, reason: '垃圾分类', origin: 'cli' }, { creditFloor: 0 });
  upsertProduct(ledger.db, { sku: 'oil', name: '花生油 1L', price: 30, unitG: 920, toleranceG: 20 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 4 });
  const event = ledger.db.prepare('INSERT INTO entry_events (at, decision, by, villager_id, detail) VALUES (?, ?, ?, ?, ?)');
  event.run(new Date().toISOString(), 'matched', 'face', 'V001', JSON.stringify({ distance: 0.1, unlocked: true }));
  event.run(new Date().toISOString(), 'store_busy', 'card', 'V002', JSON.stringify({ card: '<img src=x onerror=alert(2)>', unlocked: false }));
  addVillager(ledger.db, { id: 'V003', name: '李四', village: '前进村' });
  applyEntry(ledger.db, { id: 'e3', villagerId: 'V003', kind: 'award', points: 40, reason: '修水渠', origin: 'cli' }, { creditFloor: 0 });
  openSession(ledger.db, { id: 's1', kind: 'shopping', villagerId: 'V003', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(ledger.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'A2', reason: 'moved_out', deltaG: -920, detail: 'put it back' }] }, { creditFloor: 0 });
  markOutboxAckedSeqs(ledger.db, [1], new Date().toISOString()); // the village ledger has the first row
  health.set('ledger', 'ok');
  health.setPhase('running');
  await server.start();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: TABLET, locale: 'zh-CN' });
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  ledger.cleanup();
});

describe('admin page in chromium', () => {
  it('first run: setup from the logged link, sign out, a refused and an accepted login, block and unblock a villager, charge a review line', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // without the one-time link, the page only says where to find it
    await page.goto(server.address!);
    expect(new URL(page.url()).pathname).toBe('/setup');
    expect(await page.locator('#message').innerText()).toContain('首次设置链接');
    await page.goto(server.setupUrl!);
    await shoot(page, 'setup');
    await page.fill('#username', 'wang');
    await page.fill('#display_name', '王师傅');
    await page.fill('#password', 'short');
    await page.fill('#password_confirm', 'short');
    await page.click('button[type=submit]');
    expect(await page.locator('.field-error[data-field="password"]').innerText()).toContain('密码至少 10 位');
    await page.fill('#password', TEST_PASSWORD);
    await page.fill('#password_confirm', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
    expect(await page.locator('#signed-in').innerText()).toContain('王师傅（门店维护员）已登录');

    await Promise.all([page.waitForURL((u) => u.pathname === '/login'), page.click('#logout')]);
    await page.fill('#username', 'wang');
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    expect(await page.locator('#login-error').innerText()).toContain('用户名或密码错误');
    await shoot(page, 'login-refused');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);

    const row = page.locator('#villagers tr', { hasText: '王大妈' });
    await Promise.all([page.waitForLoadState('load'), row.locator('button[data-action=block]').click()]);
    await page.locator('#villagers tr', { hasText: '王大妈' }).locator('button[data-action=unblock]').waitFor();
    expect(await page.locator('#villagers tr', { hasText: '王大妈' }).locator('td').nth(3).innerText()).toBe('已冻结');
    expect(await page.locator('#audit tr[data-action="villager.block"]').innerText()).toContain('V001');
    await shoot(page, 'blocked');
    await page.locator('#villagers tr', { hasText: '王大妈' }).locator('button[data-action=unblock]').click();
    await page.locator('#villagers tr', { hasText: '王大妈' }).locator('button[data-action=block]').waitFor();
    expect(await page.locator('#audit tr[data-action="villager.unblock"] td').nth(1).innerText()).toBe('wang');

    // the review line of 李四's receipt: charged 5 points from the queue's page
    expect(await page.locator('#review-queue tr', { hasText: '李四' }).innerText()).toContain('商品被放到别的货位');
    await Promise.all([page.waitForURL((u) => u.pathname === '/review'), page.locator('#review-queue a[href="/review"]').first().click()]);
    const line = page.locator('#review-queue tr', { hasText: '李四' });
    await line.locator('input[name=points]').fill('5');
    await shoot(page, 'review');
    await line.locator('button[data-action=charge]').click();
    // back on /review once charged: the queue is empty
    await page.locator('#review-queue', { hasText: '没有待核对的记录' }).waitFor();
    await page.goto(server.address!);
    expect(await page.locator('#audit tr[data-action="review.charge"]').innerText()).toContain('charged 5');
    expect(await page.locator('#villagers tr', { hasText: '李四' }).locator('td').nth(4).innerText()).toBe('5');
    await shoot(page, 'review-charged');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows the store, villagers with balances and products, in Chinese, with names escaped', async () => {
    const page = await signedPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    const res = await page.goto(server.address!);
    expect(res?.status()).toBe(200);
    await shoot(page, 'home');
    expect(await page.title()).toContain('前进村积分超市');
    expect(await page.locator('#status').innerText()).toBe('正常');
    const row = page.locator('#villagers tr', { hasText: '王大妈' });
    expect(await row.locator('td').nth(4).innerText()).toBe('42');
    expect(await page.locator('#villagers').innerText()).toContain('<script>alert(1)</script>');
    expect(await page.locator('#products').innerText()).toContain('花生油 1L');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows who is inside, the door decisions, receipts with review lines, stock per product and the sync state', async () => {
    const page = await signedPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(server.address!);
    const state = await page.locator('#store-state').innerText();
    expect(state).toContain('购物中');
    expect(state).toContain('王大妈');
    expect(await page.locator('#cart').innerText()).toContain('花生油 1L');
    const busy = page.locator('#entry-events tr[data-decision="store_busy"]');
    expect(await busy.locator('td').nth(1).innerText()).toBe('店内有人，请稍候');
    expect(await busy.locator('td').nth(3).innerText()).toBe('<script>alert(1)</script>');
    expect(await busy.innerText()).toContain('<img src=x onerror=alert(2)>');
    expect(await page.locator('#entry-events tr[data-decision="matched"] td').nth(1).innerText()).toBe('已放行');
    const receipt = page.locator('#receipts tr[data-session="s1"]');
    expect(await receipt.innerText()).toContain('花生油 1L ×1（30 分）');
    expect(await receipt.locator('td').nth(1).innerText()).toBe('李四');
    expect(await receipt.locator('td').nth(5).innerText()).toBe('10');
    expect(await receipt.locator('td.review').innerText()).toContain('货位 A2：商品被放到别的货位');
    expect(await page.locator('#products tr', { hasText: '花生油 1L' }).locator('td').nth(3).innerText()).toBe('3');
    const syncTable = page.locator('#sync');
    expect(await syncTable.locator('tr', { hasText: '连接' }).locator('td').innerText()).toBe('已连接');
    expect(await page.locator('#sync-outbox').innerText()).toBe('2 条');
    expect(await page.locator('#sync-ack').innerText()).toMatch(/^第 1 条，\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    expect(await page.locator('#sync-inbound').innerText()).toBe('至第 12 条');
    expect(await page.locator('#sync-refused').innerText()).toBe('签名不符 1');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses a login after 5 wrong passwords, even with the right one', async () => {
    await createAccount(ledger.db, 'li');
    const fresh = await browser.newContext({ viewport: TABLET, locale: 'zh-CN' });
    const page = await fresh.newPage();
    await page.goto(new URL('/login', server.address).toString());
    // each answer is a new page: wait for it before reading it
    const submit = async (password: string): Promise<string> => {
      await page.fill('#username', 'li');
      await page.fill('#password', password);
      await Promise.all([page.waitForEvent('framenavigated'), page.click('button[type=submit]')]);
      await page.waitForLoadState('domcontentloaded');
      return page.locator('#login-error').innerText();
    };
    for (let i = 0; i < 4; i++) expect(await submit(`wrong password ${i}`)).toContain('用户名或密码错误');
    // the 5th wrong one locks, and says so at once
    expect(await submit('wrong password 4')).toContain('账号现已锁定 15 分钟');
    expect(await submit(TEST_PASSWORD)).toContain('账号已锁定');
    expect(new URL(page.url()).pathname).toBe('/login');
    await shoot(page, 'login-locked');
    await fresh.close();
  }, 60_000);

  it('the public board lists prices with stock, and never a balance or a debt', async () => {
    // Its red list comes from the village ledger (tests/edge/board.browser.test.ts); balances are never on it.
    const page = await browser.newPage();
    await page.goto(new URL('/board', server.address).toString());
    const text = await page.locator('body').innerText();
    expect(text).toContain('积分公示栏');
    expect(text).toContain('花生油 1L');
    expect(text).toContain('有货');
    expect(text).not.toContain('王大妈');
    expect(text).not.toContain('欠');
    await page.close();
  });
});
