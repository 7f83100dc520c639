/**
 * The admin page and /review fit a 10-inch tablet: at 1024×768 and 800×1280 neither page is wider
 * than the window (a wide table scrolls inside its own box, long ids in the audit log wrap), and
 * every button and field is on screen where a tap on it lands on it (elementFromPoint).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { pino } from 'pino';
import { launchChromium } from '../../harness/browser.ts';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { appendAudit } from '../../edge/ledger/audit.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const ledger = tempLedger();
const health = new HealthBoard();
const rules = { creditFloor: 0 };
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health, db: () => ledger.db, ledgerRules: rules },
  pino({ level: 'silent' }),
);
let browser: Browser;

/** What the page's script measures: its width, the window's, controls off the screen or under something else. */
interface Seen { width: number; window: number; off: string[]; covered: string[]; controls: number }

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'zhang', name: '张三', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'zhang', kind: 'award', points: 500, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '鲁花压榨一级花生油 1L 装（家庭实惠装）', price: 30, unitG: 920, toleranceG: 20 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 40 });
  for (let i = 1; i <= 3; i++) {
    openSession(db, { id: `sess-2026-12-04T15:41:2${i}.123Z-9f8e7d6c5b4a39281706f5e4d3c2b1a0`, kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: `sess-2026-12-04T15:41:2${i}.123Z-9f8e7d6c5b4a39281706f5e4d3c2b1a0`, lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: 'a weight between two whole counts on the shelf' }] }, rules);
    // a refund as the audit log records it: long entry ids, before and after
    const id = `refund:sess-2026-12-04T15:41:2${i}.123Z-9f8e7d6c5b4a39281706f5e4d3c2b1a0:req-0123456789abcdef0123456789abcdef`;
    appendAudit(db, { actor: 'wang', action: 'receipt.refund', target: id, before: { refunded: 0, entry: id }, after: { refunded: 30, entry: id, repayment: `${id}:repay`, reason: '商品过期，退还积分' } });
  }
  await createAccount(db, 'wang');
  health.set('ledger', 'ok');
  health.setPhase('running');
  await server.start();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  ledger.cleanup();
});

async function signedIn(viewport: { width: number; height: number }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, hasTouch: true, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(server.address!);
  await page.fill('#username', 'wang');
  await page.fill('#password', TEST_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
  await page.close();
  return context;
}

describe('the admin pages at tablet sizes', () => {
  for (const viewport of [{ width: 1024, height: 768 }, { width: 800, height: 1280 }]) {
    it.each(['/', '/review'])(`%s at ${viewport.width}×${viewport.height}: no wider than the window, every control reachable`, async (url) => {
      const context = await signedIn(viewport);
      const page = await context.newPage();
      await page.goto(new URL(url, server.address!).href);
      const seen = (await page.evaluate(`(() => {
        const out = { width: document.documentElement.scrollWidth, window: document.documentElement.clientWidth, off: [], covered: [], controls: 0 };
        for (const el of document.querySelectorAll('button, input:not([type=hidden]), select, a')) {
          el.scrollIntoView({ block: 'center', inline: 'nearest' });
          const r = el.getBoundingClientRect();
          if (r.width === 0) continue;
          out.controls++;
          const name = el.tagName.toLowerCase() + '[' + (el.getAttribute('name') ?? el.dataset.action ?? el.textContent.trim().slice(0, 12)) + ']';
          if (r.right > document.documentElement.clientWidth || r.left < 0) out.off.push(name);
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          if (!hit || (hit !== el && !el.contains(hit) && !hit.contains(el))) out.covered.push(name);
        }
        return out;
      })()`)) as Seen;
      expect(seen.controls, (await page.content()).slice(0, 600)).toBeGreaterThan(5);
      expect({ width: seen.width, off: seen.off, covered: seen.covered }).toEqual({ width: seen.window, off: [], covered: [] });
      await context.close();
    });
  }
});
