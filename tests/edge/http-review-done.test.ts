/**
 * What a /review form did is said on the page it returns to, in the page's language, once (a
 * reload says nothing again); a charge far above what the line's weight could be worth is
 * refused with the reason and the way to charge more (a correction).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import type { ReviewLine } from '../../edge/ledger/sessions.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: -1000 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});
let visits = 0;
function lineOf(review: ReviewLine, lines: { sku: string; slot: string; count: number }[] = []): { id: number; session: string } {
  const session = `visit-${++visits}`;
  openSession(ledger.db, { id: session, kind: 'shopping', villagerId: 'V005', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(ledger.db, { sessionId: session, lines, review: [review] }, rules);
  return { id: listOpenReview(ledger.db).find((l) => l.session_id === session)!.id, session };
}
beforeAll(async () => {
  addVillager(ledger.db, { id: 'V005', name: '王五', village: '前进村' });
  applyEntry(ledger.db, { id: 'e1', villagerId: 'V005', kind: 'award', points: 20, origin: 'cli' }, rules);
  upsertProduct(ledger.db, { sku: 'soap', name: '肥皂', price: 5, unitG: 230, toleranceG: 10 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'soap', stock: 9 });
  s = await signedIn(app, ledger.db);
});

const BROWSER = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html,application/xhtml+xml' };
const send = (url: string, fields: Record<string, string>) => app.inject({ method: 'POST', url, headers: { ...BROWSER, cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString() });
const get = (url: string) => app.inject({ url, headers: { cookie: s.cookie } });
const notice = (html: string): string | undefined => /<p class="ok" role="status" id="done-notice">([^<]*)<\/p>/.exec(html)?.[1];

describe('/review says what was done, once', () => {
  it('a charge: 已补扣 王五 N 分 with the balance and debt; a reload says nothing again', async () => {
    const line = lineOf({ slot: 'B1', reason: 'not_whole_count', deltaG: -230, detail: null });
    const res = await send(`/api/review/${line.id}/resolve`, { resolution: 'charge', points: '9' });
    expect(res.statusCode).toBe(303);
    const url = String(res.headers.location);
    expect(url).toMatch(/^\/review\?done=/);
    const v = requireVillager(ledger.db, 'V005');
    expect(notice((await get(url)).body)).toBe(`已补扣 王五 9 分，余额 ${v.balance} 分${v.debt > 0 ? `，欠 ${v.debt} 分` : ''}`);
    expect(notice((await get(url)).body)).toBeUndefined();
  });

  it('in English on an English page; a waiver says no points were charged', async () => {
    const line = lineOf({ slot: 'B1', reason: 'not_stable', deltaG: -230, detail: null });
    const res = await send(`/api/review/${line.id}/resolve`, { resolution: 'waive' });
    expect(notice((await get(`${res.headers.location}&lang=en`)).body)).toBe('Waived 王五&#39;s line at B1: no points charged');
  });

  it('a correction says the product, count and points', async () => {
    const line = lineOf({ slot: 'B1', reason: 'not_whole_count', deltaG: -460, detail: null });
    const res = await send(`/api/review/${line.id}/resolve`, { resolution: 'correct', sku: 'soap', count: '2' });
    expect(notice((await get(String(res.headers.location))).body)).toMatch(/^已更正 王五 的记录（肥皂×2），扣 10 分，余额 -?\d+ 分/);
  });

  it('a refund: 已退还 王五 N 分, once', async () => {
    const visit = lineOf({ slot: 'B1', reason: 'not_stable', deltaG: 3, detail: null }, [{ sku: 'soap', slot: 'B1', count: 2 }]);
    const res = await send(`/api/receipts/${visit.session}/refund`, { points: '4', reason: '过期' });
    expect(res.statusCode).toBe(303);
    const url = String(res.headers.location);
    expect(notice((await get(url)).body)).toMatch(/^已退还 王五 4 分，余额 -?\d+ 分/);
    expect(notice((await get(url)).body)).toBeUndefined();
  });

  it('a refund from the villager\'s page says so on that page too, once, in the page\'s language', async () => {
    const visit = lineOf({ slot: 'B1', reason: 'not_stable', deltaG: 3, detail: null }, [{ sku: 'soap', slot: 'B1', count: 2 }]);
    const res = await send(`/api/receipts/${visit.session}/refund`, { points: '3', reason: '破损', _page: 'villager' });
    expect(res.statusCode).toBe(303);
    const url = String(res.headers.location);
    expect(url).toMatch(/^\/villagers\/V005\?done=[^#]+#purchases$/);
    const page = url.replace(/#.*$/, '');
    const v = requireVillager(ledger.db, 'V005');
    expect(notice((await get(page)).body)).toBe(`已退还 王五 3 分，余额 ${v.balance} 分${v.debt > 0 ? `，欠 ${v.debt} 分` : ''}`);
    expect(notice((await get(page)).body)).toBeUndefined();
    const again = await send(`/api/receipts/${visit.session}/refund`, { points: '2', reason: '破损', _page: 'villager' });
    expect(notice((await get(`${String(again.headers.location).replace(/#.*$/, '')}&lang=en`)).body)).toMatch(/^Refunded 王五 2 points; balance -?\d+/);
  });

  it('a charge far above what 230 g could be worth is refused with why and what to do; nothing is charged', async () => {
    const line = lineOf({ slot: 'B1', reason: 'not_whole_count', deltaG: -230, detail: null });
    const before = requireVillager(ledger.db, 'V005');
    const api = await app.inject({ method: 'POST', url: `/api/review/${line.id}/resolve`, headers: s.post, payload: { resolution: 'charge', points: 999 } });
    expect(api.statusCode).toBe(400);
    expect(api.json().zh).toBe('补扣 999 分远超 230 g 的商品可能的价值（最多约 5 分）：请核对积分，或用“更正”选出实际拿走的商品和数量');
    expect(api.json().fields.points).toEqual({ zh: '230 g 最多补扣 10 分，更多请用“更正”', message: 'at most 10 for 230 g; use Correct for more' });
    const page = await send(`/api/review/${line.id}/resolve`, { resolution: 'charge', points: '999' });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('补扣 999 分远超 230 g 的商品可能的价值（最多约 5 分）');
    expect(requireVillager(ledger.db, 'V005')).toMatchObject({ balance: before.balance, debt: before.debt });
    // within the margin it is charged
    expect((await app.inject({ method: 'POST', url: `/api/review/${line.id}/resolve`, headers: s.post, payload: { resolution: 'charge', points: 10 } })).statusCode).toBe(200);
  });
});
