/**
 * Open review lines are never silently left out: the admin page lists the oldest 20 and says how
 * many are open, with a link to /review; /review lists them a page of 50 at a time (oldest first)
 * with links to the other pages, so every open line, the newest too, can be reached and decided.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
let n = 0;

/** `count` more shopping visits, each leaving one open review line. */
function openLines(count: number): void {
  for (let i = 0; i < count; i++) {
    const id = `sess-${++n}`;
    openSession(ledger.db, { id, kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(ledger.db, { sessionId: id, lines: [], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null }] }, rules);
  }
}

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(ledger.db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 500, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(ledger.db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 500 });
  s = await signedIn(app, ledger.db);
});

afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const get = async (url: string): Promise<string> => {
  const res = await app.inject({ url, headers: { cookie: s.cookie } });
  expect(res.statusCode, `${url} ${res.body.slice(0, 300)}`).toBe(200);
  return res.body;
};
const rows = (html: string): string[] => [...html.matchAll(/<tr data-review="(\d+)"/g)].map((m) => m[1]!);
const open = (): string[] => listOpenReview(ledger.db, 1000).map((r) => String(r.id));

describe('open review lines', () => {
  it('with 20 or fewer open, / lists them all and adds no count', async () => {
    openLines(20);
    const page = await get('/');
    expect(rows(page)).toEqual(open());
    expect(page).not.toContain('id="review-count"');
  });

  it('with more than 20, / lists the oldest 20 and says how many are open, with a link to /review, which lists them all', async () => {
    openLines(4);
    const page = await get('/');
    expect(rows(page)).toEqual(open().slice(0, 20));
    expect(page).toMatch(/<p id="review-count" data-open="24">显示最早的 20 条 \/ 共 24 条 · <a href="\/review">/);
    expect(await get('/?lang=en')).toContain('the oldest 20 of 24 shown · <a href="/review">review them all</a>');
    const parts = (await app.inject({ url: '/api/admin-page', headers: { cookie: s.cookie } })).json() as { parts: Record<string, string> };
    expect(parts.parts.review).toContain('data-open="24"');
    const review = await get('/review');
    expect(rows(review)).toEqual(open());
    expect(review).not.toContain('id="review-pages"');
  });

  it('/review lists 50 a page, oldest first, with links to the other pages; the newest line is on the last', async () => {
    openLines(31);
    const all = open();
    expect(all).toHaveLength(55);
    const first = await get('/review');
    expect(rows(first)).toEqual(all.slice(0, 50));
    expect(first).toMatch(/<p id="review-pages" data-open="55">第 1–50 条，共 55 条（最早的在前） <a href="\/review\?page=2" data-page="next">下一页<\/a><\/p>/);
    const second = await get('/review?page=2');
    expect(rows(second)).toEqual(all.slice(50));
    expect(second).toContain('第 51–55 条，共 55 条');
    expect(second).toContain('<a href="/review?page=1" data-page="prev">');
    expect(second).not.toContain('data-page="next"');
    // a page past the end (lines decided meanwhile) shows the last one
    expect(rows(await get('/review?page=9'))).toEqual(all.slice(50));
    expect(await get('/review?page=2&lang=en')).toContain('Lines 51–55 of 55 (oldest first)');
  });
});
