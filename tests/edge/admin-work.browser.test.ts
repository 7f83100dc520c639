/**
 * The maintainer's daily work in a real browser (Debian's chromium through playwright-core):
 * first-run setup, a login refused after 5 wrong passwords, calibrate a slot, count a shelf,
 * correct a review line, refund, enrol a villager's face from a photo (a portrait cut from
 * face-api's sample2.jpg at run time, analysed by the real face engine), refused forms coming
 * back with the message beside the field and the input kept, the English switch;
 * screenshots at tablet and desktop sizes under test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorFaces } from '../../edge/entry/admin-faces.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getSlot, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { countTemplates } from '../../edge/ledger/face-templates.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { portraits } from '../../harness/portraits.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');
const rules = { creditFloor: 0 };

class FakeScales implements ShelfScales {
  weights = new Map<string, number | null>([['A1', 7], ['B1', 2760]]);
  status() {
    return [...this.weights].map(([slot, g]) => ({ slot, health: 'ok', stable_g: g }));
  }
  async zero(slot: string): Promise<void> {
    this.weights.set(slot, 0);
  }
}

const ledger = tempLedger();
const scales = new FakeScales();
const session: StoreStateSource = { phase: 'idle', current: null, cart: () => null };
const config = resolveEntryConfig({});
const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: config.detector_min_score, liveness: false });
const faces = new DoorFaces({ db: () => ledger.db, config, dataDir: ledger.dir, engine: () => engine, reload: async () => undefined });
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.95 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, session, scales: () => scales, faces, timeZone: 'Asia/Shanghai' },
  pino({ level: 'silent' }),
);
let browser: Browser;
let photoFile: string;

async function shoot(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of [['tablet', { width: 1280, height: 800 }], ['desktop', { width: 1920, height: 1080 }]] as const) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(SHOTS, `admin-${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Submits a form by its button and waits for the page it leads to. */
async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.click(button)]);
}

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 100, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 920, toleranceG: 20 });
  upsertProduct(db, { sku: 'soap', name: '肥皂', price: 8, unitG: 120, toleranceG: 8 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: 'soap', stock: 0 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  openSession(db, { id: 'buy-1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 'buy-1', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'A1', reason: 'moved_out', deltaG: -240, detail: null }] }, rules);
  await engine.start();
  const [portrait] = await portraits(engine, [2]);
  photoFile = path.join(mkdtempSync(path.join(tmpdir(), 'photo-')), 'wang.jpg');
  writeFileSync(photoFile, portrait!.jpeg);
  await server.start();
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  engine.stop();
  ledger.cleanup();
});

/**
 * A form posted from /shelves comes back to /shelves (303): the URL does not change, so waiting
 * for it would return before the new page is there. Wait for the new document's load instead.
 */
async function submitOnSamePage(page: Page, click: () => Promise<void>): Promise<void> {
  const loaded = page.waitForEvent('load');
  await click();
  await loaded;
}

describe('daily work in chromium', () => {
  it('setup, lockout, calibrate, count, correct, refund, enrol a face, English', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // the refused logins answer 401 and 423 on purpose, the refused forms 415 and 404; anything else is a problem
      const refusedLogin = /status of (401|423)/.test(m.text()) && m.location().url.endsWith('/login');
      const refusedForm = /status of (415|404)/.test(m.text()) && /\/api\/(villagers\/V001\/face|cards\/issue)$/.test(m.location().url);
      if (m.type() === 'error' && !refusedLogin && !refusedForm) problems.push(`${m.text()} ${m.location().url}`);
    });

    // first run: the one-time link makes the first account
    await page.goto(server.setupUrl!);
    await page.fill('#username', 'wang');
    await page.fill('#display_name', '王师傅');
    await page.fill('#password', TEST_PASSWORD);
    await page.fill('#password_confirm', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
    await Promise.all([page.waitForURL((u) => u.pathname === '/login'), page.click('#logout')]);

    // five wrong passwords lock the account: the right one is refused next
    for (let i = 0; i < 5; i++) {
      await page.fill('#username', 'wang');
      await page.fill('#password', `wrong password ${i}`);
      await submit(page, 'button[type=submit]');
    }
    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await submit(page, 'button[type=submit]');
    expect(await page.locator('#login-error').innerText()).toContain('账号已锁定');
    await shoot(page, 'login-locked');
    await createAccount(ledger.db, 'li');
    await page.fill('#username', 'li');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);

    // calibrate A1: empty → zero → known weight → save
    await page.goto(`${server.address!}shelves`);
    await shoot(page, 'shelves');
    const a1 = page.locator('#shelves tr[data-slot=A1]');
    await a1.locator('input[name=confirm_empty]').check();
    await submitOnSamePage(page, () => a1.locator('button[data-action=zero]').click());
    expect(await page.locator('#shelves tr[data-slot=A1] td.weight').innerText()).toBe('0 克');
    scales.weights.set('A1', 1003);
    await page.locator('#shelves tr[data-slot=A1] input[name=known_g]').fill('1000');
    await submitOnSamePage(page, () => page.locator('#shelves tr[data-slot=A1] button[data-action=calibrate]').click());
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ actor: 'li', action: 'slot.calibrate', target: 'A1', after: { known_g: 1000, measured_g: 1003 } });
    scales.weights.set('A1', 0);

    // count B1 from its weight: 3 bottles, not the 4 on the books
    await page.reload();
    expect(await page.locator('#shelves tr[data-slot=B1] td.counted').innerText()).toBe('3');
    await submitOnSamePage(page, () => page.locator('#shelves tr[data-slot=B1] button[data-action=count]').click());
    expect(await page.locator('#shelves tr[data-slot=B1] td.stock').innerText()).toBe('3');
    expect(getSlot(ledger.db, 'B1')!.stock).toBe(3);

    // the review line was two soaps: corrected, charged at today's price; then a refund
    await page.goto(`${server.address!}review`);
    await shoot(page, 'review');
    const line = listOpenReview(ledger.db)[0]!;
    const row = page.locator(`#review-queue tr[data-review="${line.id}"]`);
    await row.locator('select[name=sku]').selectOption('soap');
    await row.locator('input[name=count]').fill('2');
    await Promise.all([page.waitForURL((u) => u.pathname === '/review'), row.locator('button[data-action=correct]').click()]);
    // the line is settled; A1's stock was 0 on the books (emptied for the calibration above), so
    // taking the two soaps off it is clipped at 0, and a line asks for the shelf to be counted
    expect(listOpenReview(ledger.db)).toMatchObject([{ reason: 'stock_clipped', slot: 'A1', session_id: 'buy-1' }]);
    expect(requireVillager(ledger.db, 'V001').balance).toBe(100 - 30 - 16);
    const refund = page.locator('#refunds tr[data-session="buy-1"]');
    await refund.locator('input[name=points]').fill('30');
    await refund.locator('input[name=reason]').fill('油已过期');
    await Promise.all([page.waitForURL((u) => u.pathname === '/review'), refund.locator('button[data-action=refund]').click()]);
    expect(requireVillager(ledger.db, 'V001').balance).toBe(84);
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'receipt.refund', target: 'buy-1' });

    // find 王大妈 and enrol her face from a photo, with her consent
    await page.goto(`${server.address!}villagers`);
    await page.fill('#villager-search input[name=q]', '王');
    await submit(page, '#villager-search button');
    await Promise.all([page.waitForURL((u) => u.pathname === '/villagers/V001'), page.click('#villager-results a')]);
    expect(await page.locator('#history').innerText()).toContain('退分');
    await page.setInputFiles('#photo', photoFile);
    await page.check('#face-enrol input[name=consent]');
    await Promise.all([page.waitForURL((u) => u.pathname === '/villagers/V001'), page.click('#face-enrol button[data-action=enrol]')]);
    await page.locator('#face-state[data-consent=true]').waitFor();
    expect(countTemplates(ledger.db, 'V001')).toBeGreaterThan(0);
    await shoot(page, 'villager');

    // a refused upload comes back as the page: the message beside the photo, consent and guardian kept
    const notPhoto = path.join(path.dirname(photoFile), 'notes.jpg');
    writeFileSync(notPhoto, 'these are notes, not a photo');
    await page.setInputFiles('#photo', notPhoto);
    await page.check('#face-enrol input[name=consent]');
    await page.fill('#guardian', '王小明');
    await submit(page, '#face-enrol button[data-action=enrol]');
    expect(await page.locator('#face-enrol .field-error[data-field=photo]').innerText()).toMatch(/[\u4e00-\u9fff].* \/ .*[a-z]/);
    expect(await page.inputValue('#guardian')).toBe('王小明');
    expect(await page.isChecked('#face-enrol input[name=consent]')).toBe(true);
    await shoot(page, 'villager-refused');
    await page.goto(`${server.address!}villagers/V001`);

    // a new passbook card and its printable QR slip
    await Promise.all([page.waitForEvent('load'), page.click('#card-issue-slip button')]);
    expect(await page.locator('#card-qr svg').count()).toBe(1);
    expect(await page.locator('#card-no').innerText()).toMatch(/^PB-/);
    await shoot(page, 'card-slip');
    await page.goBack();

    // a card for a villager who is not there: the admin page again, the message beside the field, the input kept
    await page.goto(server.address!);
    await page.fill('#card-issue input[name=villager]', 'V404');
    await page.fill('#card-issue input[name=card]', 'PB-777777');
    await submit(page, '#card-issue button');
    expect(await page.locator('#card-issue .field-error[data-field=villager]').innerText()).toMatch(/[\u4e00-\u9fff]/);
    expect(await page.inputValue('#card-issue input[name=villager]')).toBe('V404');
    expect(await page.inputValue('#card-issue input[name=card]')).toBe('PB-777777');
    await shoot(page, 'card-refused');
    await page.goto(`${server.address!}villagers/V001`);

    // English
    await Promise.all([page.waitForURL((u) => u.searchParams.get('lang') === 'en'), page.click('#lang-switch')]);
    expect(await page.locator('h2').allInnerTexts()).toEqual(['Face', 'Enrol a face (upload a photo)', 'Passbook card', 'Purchases and refunds', 'Points history']);
    await shoot(page, 'villager-en');
    await page.goto(`${server.address!}shelves`);
    expect(await page.locator('#shelves tr[data-slot=B1] button[data-action=count]').innerText()).toBe('Count the shelf');
    await shoot(page, 'shelves-en');
    expect(problems).toEqual([]);
    await context.close();
  }, 180_000);
});
