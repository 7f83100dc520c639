/**
 * Refunds and corrected review lines from the admin page: a refund is a new `refund` entry
 * (the redemption is never edited), bounded by what the purchase cost, audited, queued for the
 * village ledger; a review line corrected to a product and count is charged at today's price.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry, getEntry, findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { getReviewLine, listOpenReview } from '../../edge/ledger/review.ts';
import { pendingOutbox } from '../../edge/ledger/outbox.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 100, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertProduct(db, { sku: 'soap', name: '肥皂', price: 8, unitG: 120, toleranceG: 8 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  openSession(db, { id: 'buy-1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 'buy-1', lines: [{ sku: 'oil', slot: 'B1', count: 2 }], review: [{ slot: 'A2', reason: 'moved_out', deltaG: -240, detail: null }] }, rules);
  s = await signedIn(app, db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const post = (url: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url, headers: s.post, payload });

describe('refunds', () => {
  it('refunds part of a purchase as a new entry, audited and queued for the village ledger; never beyond its cost', async () => {
    expect(requireVillager(ledger.db, 'V001').balance).toBe(40);
    expect((await as(s)(app, '/api/receipts/buy-1/refund')).json()).toEqual({ session: 'buy-1', villager_id: 'V001', cost: 60, refunded: 0, left: 60 });
    const res = await post('/api/receipts/buy-1/refund', { points: 30, reason: '油已过期' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ entry: { id: 'refund:buy-1:1', points: 30, balance_after: 70 }, refund: { refunded: 30, left: 30 } });
    expect(getEntry(ledger.db, 'refund:buy-1:1')).toMatchObject({ kind: 'refund', reference: 'buy-1', origin: 'admin' });
    expect(requireVillager(ledger.db, 'V001').balance).toBe(70);
    expect(findBalanceMismatches(ledger.db)).toEqual([]);
    expect(pendingOutbox(ledger.db, 1000).some((r) => JSON.stringify(r.payload).includes('refund:buy-1:1'))).toBe(true);
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ actor: 'wang', action: 'receipt.refund', target: 'buy-1', before: { refunded: 0, balance: 40 }, after: { refunded: 30, balance: 70, reason: '油已过期' } });

    const over = await post('/api/receipts/buy-1/refund', { points: 31, reason: '再退' });
    expect(over.statusCode).toBe(400);
    expect(over.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { points: { zh: expect.stringContaining('最多还能退 30 分') } } });
    const noReason = await post('/api/receipts/buy-1/refund', { points: 1, reason: '   ' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().fields).toHaveProperty('reason');
    // control characters (a NUL cannot be stored by a PostgreSQL village ledger) are refused, naming
    // the field in each language (退分原因 in the Chinese, reason in the English)
    for (const reason of ['油\u0000过期', '油\u001b过期', '\u0007']) {
      const ctl = await post('/api/receipts/buy-1/refund', { points: 1, reason });
      expect(ctl.statusCode).toBe(400);
      expect(ctl.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { reason: { zh: expect.stringContaining('控制字符') } } });
      expect(ctl.json().zh).toMatch(/^退分原因不能包含控制字符/);
      expect(ctl.json().zh).not.toMatch(/[a-z]/);
      expect(ctl.json().message).toMatch(/^reason must not contain control characters/);
    }
    const missing = await post('/api/receipts/buy-1/refund', { reason: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().fields).toHaveProperty('points');
    const unknown = await post('/api/receipts/nope/refund', { points: 1, reason: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().zh).toContain('nope');
    expect(requireVillager(ledger.db, 'V001').balance).toBe(70);
    const noCsrf = await app.inject({ method: 'POST', url: '/api/receipts/buy-1/refund', headers: { cookie: s.cookie }, payload: { points: 1, reason: 'x' } });
    expect(noCsrf.statusCode).toBe(403);
  });

  it('corrects a review line to a product and count, charged at today’s price; the correction may be refunded too', async () => {
    const line = listOpenReview(ledger.db)[0]!;
    const missing = await post(`/api/review/${line.id}/resolve`, { resolution: 'correct', sku: 'soap' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().fields).toHaveProperty('count');
    const unknown = await post(`/api/review/${line.id}/resolve`, { resolution: 'correct', sku: 'nope', count: 1 });
    expect(unknown.statusCode).toBe(404);
    expect(getReviewLine(ledger.db, line.id)!.resolved_at).toBeNull();
    const res = await post(`/api/review/${line.id}/resolve`, { resolution: 'correct', sku: 'soap', count: 2 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ review: { resolution: 'charged 16 (肥皂×2)' }, entry: { points: -16, balance_after: 54 } });
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'review.correct', after: { charged: 16, corrected_to: { sku: 'soap', count: 2 } } });
    expect((await as(s)(app, '/api/receipts/buy-1/refund')).json()).toMatchObject({ cost: 76, refunded: 30, left: 46 });
    const again = await post(`/api/review/${line.id}/resolve`, { resolution: 'correct', sku: 'soap', count: 2 });
    expect(again.statusCode).toBe(409);
  });

  it('a review charge that went into debt counts in full: the purchase may be refunded what it asked, once the debt is paid', async () => {
    const db = ledger.db;
    addVillager(db, { id: 'V003', name: '李大爷', village: '前进村' });
    applyEntry(db, { id: 'e3', villagerId: 'V003', kind: 'award', points: 60, reason: '修水渠', origin: 'cli' }, rules);
    openSession(db, { id: 'buy-3', kind: 'shopping', villagerId: 'V003', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 'buy-3', lines: [{ sku: 'oil', slot: 'B1', count: 2 }], review: [{ slot: 'A2', reason: 'moved_out', deltaG: -240, detail: null }] }, rules);
    const line = listOpenReview(db).find((l) => l.session_id === 'buy-3')!;
    const res = await post(`/api/review/${line.id}/resolve`, { resolution: 'correct', sku: 'soap', count: 2 });
    expect(res.json()).toMatchObject({ entry: { points: 0 }, debt: 16 });
    applyEntry(db, { id: 'e4', villagerId: 'V003', kind: 'award', points: 50, reason: '修水渠', origin: 'cli' }, rules);
    expect(requireVillager(db, 'V003')).toMatchObject({ balance: 34, debt: 0 });
    expect((await as(s)(app, '/api/receipts/buy-3/refund')).json()).toMatchObject({ cost: 76, refunded: 0, left: 76 });
    const full = await post('/api/receipts/buy-3/refund', { points: 76, reason: '整单退' });
    expect(full.statusCode, full.body).toBe(201);
    expect(requireVillager(db, 'V003')).toMatchObject({ balance: 110, debt: 0 });
  });

  it('refunds once for one form sent twice (a double click, a resend), and again for a fresh form, within the purchase\'s limit', async () => {
    const db = ledger.db;
    openSession(db, { id: 'buy-2', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 'buy-2', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [] }, rules);
    const refunds = () => db.prepare("SELECT id, points FROM entries WHERE kind = 'refund' AND reference = 'buy-2'").all() as Array<{ id: string; points: number }>;
    /** The hidden fields of buy-2's refund form on a freshly shown /review page. */
    const freshForm = async () => {
      const row = /<tr data-session="buy-2">[\s\S]*?<\/tr>/.exec((await as(s)(app, '/review')).body)![0];
      const hidden = Object.fromEntries([...row.matchAll(/type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      expect(Object.keys(hidden).sort()).toEqual(['_csrf', 'request']);
      return hidden;
    };
    const balance = requireVillager(db, 'V001').balance;
    const audits = listAudit(db, { limit: 1000 }).length;
    const first = await freshForm();
    const send = (fields: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/api/receipts/buy-2/refund', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    const twice = await Promise.all([1, 2].map(() => send({ ...first, points: '20', reason: '油已过期' })));
    // the one that refunded says so once on the page (`done`), the one sent again goes back plainly
    expect(twice.map((r) => [r.statusCode, String(r.headers.location).replace(/\?done=[\w-]+/, '?done')]).sort()).toEqual([[303, '/review#receipts'], [303, '/review?done#receipts']]);
    expect(refunds()).toEqual([{ id: `refund:buy-2:${first.request}`, points: 20 }]);
    expect(requireVillager(db, 'V001').balance).toBe(balance + 20);
    expect(listAudit(db, { limit: 1000 })).toHaveLength(audits + 1);
    // later still (the purchase has 10 left now): answered as done, not as over the limit
    const json = await post('/api/receipts/buy-2/refund', { points: 20, reason: '油已过期', request: first.request });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({ entry: { id: `refund:buy-2:${first.request}`, points: 20, balance_after: balance + 20 }, repayment: null, balance: balance + 20, debt: 0, refund: { session: 'buy-2', villager_id: 'V001', cost: 30, refunded: 20, left: 10 }, duplicate: true });
    // the same form with another amount (sent back and changed) is not taken for a second refund
    const changed = await post('/api/receipts/buy-2/refund', { points: 5, reason: '油已过期', request: first.request });
    expect(changed.statusCode).toBe(409);
    expect(changed.json()).toMatchObject({ error: 'ENTRY_ID_TAKEN', fields: { points: { zh: expect.stringContaining('重新打开页面') } } });

    // a refund meant as a second one comes from the page shown again: a new form, a new id
    const second = await freshForm();
    expect(second.request).not.toBe(first.request);
    expect((await send({ ...second, points: '11', reason: '少给了' })).statusCode).toBe(400); // 10 left
    expect((await send({ ...second, points: '10', reason: '少给了' })).statusCode).toBe(303);
    expect(refunds().map((r) => r.points).sort()).toEqual([10, 20]);
    expect(requireVillager(db, 'V001').balance).toBe(balance + 30);
    expect(findBalanceMismatches(db)).toEqual([]);
  });

  it('shows refund and correct forms on the review page', async () => {
    const page = await as(s)(app, '/review');
    expect(page.body).toContain('action="/api/receipts/buy-1/refund"');
    expect(page.body).toContain('id="refunds"');
  });
});

describe('a refund that repays a debt', () => {
  it('answers and audits the balance the villager holds after the repayment, and the repayment itself', async () => {
    const db = ledger.db;
    addVillager(db, { id: 'V009', name: '李四', village: '前进村' });
    applyEntry(db, { id: 'e9', villagerId: 'V009', kind: 'award', points: 20, origin: 'cli' }, rules);
    openSession(db, { id: 'buy-debt', kind: 'shopping', villagerId: 'V009', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 'buy-debt', lines: [{ sku: 'oil', slot: 'B1', count: 2 }], review: [] }, rules);
    expect(requireVillager(db, 'V009')).toMatchObject({ balance: 0, debt: 40 });
    const form = { points: 60, reason: '油已过期', request: 'debt-refund-0123456789' };
    const res = await post('/api/receipts/buy-debt/refund', form);
    expect(res.statusCode).toBe(201);
    expect(requireVillager(db, 'V009')).toMatchObject({ balance: 20, debt: 0 }); // 60 back, 40 of it repays the debt
    expect(res.json()).toMatchObject({ entry: { points: 60, balance_after: 60 }, repayment: { id: expect.stringContaining('#debt'), points: -40, balance_after: 20 }, balance: 20, debt: 0 });
    expect(listAudit(db, { limit: 1 })[0]).toMatchObject({ action: 'receipt.refund', before: { balance: 0, debt: 40 }, after: { balance: 20, debt: 0, debt_repaid: 40, repayment: res.json().repayment.id } });
    const again = await post('/api/receipts/buy-debt/refund', form);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true, repayment: { id: res.json().repayment.id }, balance: 20, debt: 0 });
    // without a debt there is no repayment: the reply's balance is the entry's
    const plain = await post('/api/receipts/buy-1/refund', { points: 1, reason: '少称' });
    expect(plain.json()).toMatchObject({ repayment: null, balance: plain.json().entry.balance_after });
  });
});

describe('the refund form on /review', () => {
  const formMax = (html: string, session: string): number | null => {
    const m = new RegExp(`action="/api/receipts/${session}/refund">[^]*?name="points" type="number" min="1" max="(\\d+)"`).exec(html);
    return m ? Number(m[1]) : null;
  };
  it('offers what the server says is left: review charges and corrections included, refunds made taken off', async () => {
    const db = ledger.db;
    addVillager(db, { id: 'V020', name: '周八', village: '前进村' });
    applyEntry(db, { id: 'e20', villagerId: 'V020', kind: 'award', points: 500, origin: 'cli' }, rules);
    upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 20 });
    // buy-c1: 2 oil at settlement (60) and a line charged 30 at review
    openSession(db, { id: 'buy-c1', kind: 'shopping', villagerId: 'V020', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 'buy-c1', lines: [{ sku: 'oil', slot: 'B1', count: 2 }], review: [{ slot: 'B1', reason: 'moved_out', deltaG: -900, detail: null }] }, rules);
    // buy-c2: nothing counted at settlement; the line corrected at review to 1 oil (30)
    openSession(db, { id: 'buy-c2', kind: 'shopping', villagerId: 'V020', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 'buy-c2', lines: [], review: [{ slot: 'B1', reason: 'moved_out', deltaG: -900, detail: null }] }, rules);
    const line = (session: string) => listOpenReview(db).find((l) => l.session_id === session && l.reason === 'moved_out')!;
    const [l1, l2] = [line('buy-c1'), line('buy-c2')];
    expect((await post(`/api/review/${l1!.id}/resolve`, { resolution: 'charge', points: 30 })).statusCode).toBe(200);
    expect((await post(`/api/review/${l2!.id}/resolve`, { resolution: 'correct', sku: 'oil', count: 1 })).statusCode).toBe(200);

    let page = (await as(s)(app, '/review')).body;
    expect({ c1: formMax(page, 'buy-c1'), c2: formMax(page, 'buy-c2') }).toEqual({ c1: 90, c2: 30 });
    expect(/<tr data-session="buy-c1">[\s\S]*?<\/tr>/.exec(page)![0]).toContain('核对补扣 30');
    // after a partial refund the form offers what is left; fully refunded, no form
    expect((await post('/api/receipts/buy-c1/refund', { points: 40, reason: '油已过期' })).statusCode).toBe(201);
    expect((await post('/api/receipts/buy-c2/refund', { points: 30, reason: '油已过期' })).statusCode).toBe(201);
    page = (await as(s)(app, '/review')).body;
    expect({ c1: formMax(page, 'buy-c1'), c2: formMax(page, 'buy-c2') }).toEqual({ c1: 50, c2: null });
  });
});
