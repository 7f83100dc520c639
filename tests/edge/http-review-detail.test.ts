/**
 * The review lines of a receipt on the admin page read in the page's language with the product's
 * name, not the session engine's English with skus (edge/http/review-detail.ts); /api/receipts
 * answers the Chinese beside the detail as kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { computeCart, type SlotWeighing } from '../../edge/session/cart.ts';
import { resolveSessionConfig } from '../../edge/session/config.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;

// soap put back on the salt slot, salt untouched: the cart's own review lines and details
const salt: SlotWeighing = { slot: 'A1', sku: 'salt', unitG: 400, toleranceG: 10, baselineG: 2400, currentG: 2630, stable: true };
const soap: SlotWeighing = { slot: 'A2', sku: 'soap', unitG: 230, toleranceG: 8, baselineG: 1150, currentG: 920, stable: true };
const cart = computeCart([salt, soap], resolveSessionConfig().weight, 'shopping');

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 100, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertProduct(db, { sku: 'soap', name: '洗衣皂', price: 5, unitG: 230, toleranceG: 8 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 6 });
  upsertSlot(db, { slot: 'A2', address: 12, sku: 'soap', stock: 5 });
  openSession(db, { id: 'buy-1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 'buy-1', lines: cart.lines, review: cart.review }, rules);
  s = await signedIn(app, db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const reviewCell = (html: string): string => html.match(/<tr data-session="buy-1">[\s\S]*?<td class="review">([\s\S]*?)<\/td>/)?.[1] ?? '';

describe('review lines on the admin page', () => {
  it('reads in Chinese with the product name on the Chinese page', async () => {
    expect(cart.review.map((r) => r.reason)).toEqual(['wrong_slot_return', 'moved_out']);
    const cell = reviewCell((await as(s)(app, '/')).body);
    expect(cell).toContain('1 件洗衣皂（从货位 A2 拿来）放在这里，未扣分');
    expect(cell).toContain('1 件洗衣皂现在在货位 A1，请放回');
    // no English words and no sku left in the line
    expect(cell.replace(/<[^>]+>/g, '')).not.toMatch(/[a-z]/);
  });

  it('reads in English with the product name on the English page', async () => {
    const cell = reviewCell((await as(s)(app, '/?lang=en')).body);
    expect(cell).toContain('1 × 洗衣皂 from slot A2 put down here; not charged');
    expect(cell).toContain('1 × 洗衣皂 now on slot A1; put it back');
    expect(cell).not.toContain('soap');
  });

  it('answers the Chinese beside the kept detail in /api/receipts', async () => {
    const review = (await as(s)(app, '/api/receipts')).json().items[0].review;
    expect(review).toMatchObject([
      { slot: 'A1', reason: 'wrong_slot_return', detail: '1 × soap from slot A2 put down here; not charged', detail_zh: '1 件洗衣皂（从货位 A2 拿来）放在这里，未扣分' },
      { slot: 'A2', reason: 'moved_out', detail: '1 × soap now on slot A1; put it back', detail_zh: '1 件洗衣皂现在在货位 A1，请放回' },
    ]);
  });
});
