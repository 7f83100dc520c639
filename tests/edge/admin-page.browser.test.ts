/**
 * The admin page and the public board in a real browser (Debian's chromium through
 * playwright-core): the daemon's own app on a real port, Chinese text rendered, no script
 * errors, and what the ledger holds is what the maintainer sees.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct } from '../../edge/ledger/products.ts';
import { tempLedger } from '../ledger/helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ledger = tempLedger();
const health = new HealthBoard();
const server = new HttpServer(
  { host: '127.0.0.1', port: 0 },
  { store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health, db: () => ledger.db, ledgerRules: { creditFloor: 0 } },
  pino({ level: 'silent' }),
);
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(ledger.db, { id: 'V002', name: '<script>alert(1)</script>', village: '前进村' });
  applyEntry(ledger.db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 42, reason: '垃圾分类', origin: 'cli' }, { creditFloor: 0 });
  upsertProduct(ledger.db, { sku: 'oil', name: '花生油 1L', price: 30, unitG: 920, toleranceG: 20 });
  health.set('ledger', 'ok');
  health.setPhase('running');
  await server.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  ledger.cleanup();
});

describe('admin page in chromium', () => {
  it('shows the store, villagers with balances and products, in Chinese, with names escaped', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    const res = await page.goto(server.address!);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toContain('前进村积分超市');
    expect(await page.locator('#status').innerText()).toBe('正常');
    const row = page.locator('#villagers tr', { hasText: '王大妈' });
    expect(await row.locator('td').nth(4).innerText()).toBe('42');
    expect(await page.locator('#villagers').innerText()).toContain('<script>alert(1)</script>');
    expect(await page.locator('#products').innerText()).toContain('花生油 1L');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the public board ranks villagers and lists prices, without debts', async () => {
    const page = await browser.newPage();
    await page.goto(new URL('/board', server.address).toString());
    const text = await page.locator('body').innerText();
    expect(text).toContain('积分公示栏');
    expect(text.indexOf('王大妈')).toBeGreaterThan(-1);
    expect(text).toContain('30 分');
    expect(text).not.toContain('欠');
    await page.close();
  });
});
