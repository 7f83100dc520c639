/**
 * What each resolution of a review line does to stock and points, through the HTTP API as the
 * tablet sends it. A line's goods were neither charged nor taken off the stock at settlement
 * (docs/scenarios.md, "How weights become a cart"), so:
 * - a correction says what left the shelves: charged at today's price, and that many items of
 *   that product taken off the stock (the line's slot when it holds the product), in the same
 *   transaction, the audit row saying which slot moved from what to what;
 * - a charge (points only) and a waiver name no product: stock stays as the scales left it;
 * - the correction of a session already sent to the village ledger goes up as its own entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getSlot, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import { markOutboxAcked, pendingOutbox } from '../../edge/ledger/outbox.ts';
import type { ReviewLine } from '../../edge/ledger/sessions.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const stock = (slot: string): number => getSlot(ledger.db, slot)!.stock;
const balance = (): number => requireVillager(ledger.db, 'V001').balance;
let sessions = 0;
/** A shopping visit of V001 that sold `lines` and left one review line; that line. */
function visitWithLine(review: ReviewLine, lines: { sku: string; slot: string; count: number }[] = []): { id: number; session: string } {
  const session = `visit-${++sessions}`;
  openSession(ledger.db, { id: session, kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(ledger.db, { sessionId: session, lines, review: [review] }, rules);
  const line = listOpenReview(ledger.db).find((l) => l.session_id === session)!;
  return { id: line.id, session };
}
const resolve = (id: number, payload: Record<string, unknown>) => app.inject({ method: 'POST', url: `/api/review/${id}/resolve`, headers: s.post, payload });

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 500, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertProduct(db, { sku: 'vinegar', name: '陈醋', price: 8, unitG: 500, toleranceG: 10 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  upsertSlot(db, { slot: 'A2', address: 12, sku: 'vinegar', stock: 6 });
  s = await signedIn(app, db);
});

describe('review resolutions and stock', () => {
  it('a settlement leaves a line\'s goods on the stock: only its whole-item lines are taken off', () => {
    visitWithLine({ slot: 'A2', reason: 'not_whole_count', deltaG: -700, detail: null }, [{ sku: 'oil', slot: 'B1', count: 1 }]);
    expect([stock('B1'), stock('A2')]).toEqual([4, 6]);
  });

  it('a correction takes what she really took off the stock, and leaves what was not taken: one transaction, audited', async () => {
    // the oil slot's scale saw a fall it could not count: she took 2 × oil
    const line = visitWithLine({ slot: 'B1', reason: 'not_whole_count', deltaG: -1750, detail: null });
    const [b1, a2, points] = [stock('B1'), stock('A2'), balance()];
    const res = await resolve(line.id, { resolution: 'correct', sku: 'oil', count: 2 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ review: { resolution: 'charged 60 (菜籽油×2)' }, entry: { points: -60 } });
    expect(balance()).toBe(points - 60);
    expect(stock('B1')).toBe(b1 - 2);
    expect(stock('A2')).toBe(a2);
    expect(listAudit(ledger.db)[0]).toMatchObject({ action: 'review.correct', after: { corrected_to: { sku: 'oil', count: 2 }, stock: { slot: 'B1', sku: 'oil', before: b1, after: b1 - 2 } } });
  });

  it('a correction to a product another slot holds takes it off that slot, not the line\'s', async () => {
    // "she took 2 × oil, not 1 × vinegar": the line is on the vinegar slot
    const line = visitWithLine({ slot: 'A2', reason: 'not_stable', deltaG: -500, detail: null });
    const [b1, a2] = [stock('B1'), stock('A2')];
    const res = await resolve(line.id, { resolution: 'correct', sku: 'oil', count: 2 });
    expect(res.statusCode, res.body).toBe(200);
    expect([stock('B1'), stock('A2')]).toEqual([b1 - 2, a2]);
    expect(listAudit(ledger.db)[0]).toMatchObject({ after: { stock: { slot: 'B1', sku: 'oil', before: b1, after: b1 - 2 } } });
  });

  it('a correction beyond the stock on record stops at zero, raises a stock_clipped line to count the shelf, and says so', async () => {
    const line = visitWithLine({ slot: 'A2', reason: 'not_whole_count', deltaG: -3300, detail: null });
    const a2 = stock('A2');
    const res = await resolve(line.id, { resolution: 'correct', sku: 'vinegar', count: a2 + 1 });
    expect(res.statusCode, res.body).toBe(200);
    expect(stock('A2')).toBe(0);
    // a new open line on the same visit and slot: the stock count is off, the shelf is to be counted
    const raised = listOpenReview(ledger.db).find((l) => l.session_id === line.session && l.id !== line.id);
    expect(raised).toMatchObject({ slot: 'A2', reason: 'stock_clipped' });
    expect(raised!.detail).toMatch(/vinegar[\s\S]*count the shelf[\s\S]*请盘点/);
    expect(res.json().stock_warning).toMatchObject({ kind: 'clipped', review_line: raised!.id, message: expect.stringMatching(/count the shelf/), zh: expect.stringMatching(/盘点/) });
    expect(listAudit(ledger.db)[0]).toMatchObject({ after: { stock: { slot: 'A2', sku: 'vinegar', before: a2, after: 0, clipped: true, review_line: raised!.id } } });
    // the admin page's review section shows it
    const page = await app.inject({ url: '/review', headers: { cookie: s.cookie } });
    expect(page.body).toContain(`data-review="${raised!.id}"`);
    upsertSlot(ledger.db, { slot: 'A2', address: 12, sku: 'vinegar', stock: 6 });
  });

  it('a correction to a product on no slot moves no stock and says so, in both languages, to the API and the page', async () => {
    upsertProduct(ledger.db, { sku: 'tea', name: '茶叶', price: 12, unitG: 250, toleranceG: 5 });
    const line = visitWithLine({ slot: 'A2', reason: 'not_whole_count', deltaG: -500, detail: null });
    const [b1, a2] = [stock('B1'), stock('A2')];
    const res = await resolve(line.id, { resolution: 'correct', sku: 'tea', count: 2 });
    expect(res.statusCode, res.body).toBe(200);
    expect([stock('B1'), stock('A2')]).toEqual([b1, a2]);
    expect(res.json().stock_warning).toMatchObject({ kind: 'no_slot', message: expect.stringMatching(/no slot[\s\S]*no stock/), zh: expect.stringMatching(/货位/) });
    expect(listAudit(ledger.db)[0]).toMatchObject({ after: { stock: { slot: null, sku: 'tea', moved: 0 } } });
    // a browser's form: the review page saying so, not a silent redirect
    const page = await as(s)(app, '/review');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const other = visitWithLine({ slot: 'A2', reason: 'not_whole_count', deltaG: -500, detail: null });
    const form = await app.inject({ method: 'POST', url: `/api/review/${other.id}/resolve`, headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ _csrf: csrf, resolution: 'correct', sku: 'tea', count: '1' }).toString() });
    expect(form.statusCode, form.body).toBe(200);
    expect(form.body).toMatch(/茶叶[\s\S]*货位[\s\S]*no slot/);
    expect(listOpenReview(ledger.db).some((l) => l.id === other.id)).toBe(false);
  });

  it('a charge of points and a waiver name no product: stock stays as the scales left it', async () => {
    const charged = visitWithLine({ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null });
    const waived = visitWithLine({ slot: 'A2', reason: 'unexpected_increase', deltaG: 300, detail: null });
    const [b1, a2, points] = [stock('B1'), stock('A2'), balance()];
    expect((await resolve(charged.id, { resolution: 'charge', points: 15 })).statusCode).toBe(200);
    expect((await resolve(waived.id, { resolution: 'waive' })).statusCode).toBe(200);
    expect([stock('B1'), stock('A2'), balance()]).toEqual([b1, a2, points - 15]);
    expect(listAudit(ledger.db).slice(0, 2).map((a) => (a.after as { stock?: unknown }).stock ?? null)).toEqual([null, null]);
  });

  it('the correction of a session the village ledger has already is sent up as its own entry', async () => {
    const line = visitWithLine({ slot: 'B1', reason: 'not_whole_count', deltaG: -800, detail: null });
    // the session's outbox rows, sent and acknowledged
    markOutboxAcked(ledger.db, Number.MAX_SAFE_INTEGER, new Date().toISOString());
    expect(pendingOutbox(ledger.db)).toEqual([]);
    const res = await resolve(line.id, { resolution: 'correct', sku: 'oil', count: 1 });
    expect(res.statusCode, res.body).toBe(200);
    expect(pendingOutbox(ledger.db).map((r) => [r.topic, r.payload])).toEqual([
      ['entry', expect.objectContaining({ id: `review:${line.session}:${line.id}`, villager: 'V001', kind: 'redemption', points: -30, reference: line.session, balance_after: balance() })],
    ]);
  });
});
