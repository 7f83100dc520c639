/**
 * A form from a tab opened before the maintainer signed in again in another tab (the session and
 * with it the CSRF token changed): nothing is applied; the browser gets the form's page again
 * with the bilingual "page expired" message (页面已过期，请重新提交), what was typed kept and a
 * fresh token, so pressing the button once more does it. Never bare JSON, never the login page.
 * An API client still gets the JSON CSRF_REJECTED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getProduct, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { getReviewLine, listOpenReview } from '../../edge/ledger/review.ts';
import { refundable } from '../../edge/ledger/refunds.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, TEST_PASSWORD } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
/** The browser's session cookie: the signed-in session of the moment. */
let cookie: string;

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 100, origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertProduct(db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  openSession(db, { id: 'buy1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 'buy1', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null }] }, rules);
  cookie = (await signedIn(app, db)).cookie;
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER };
const csrfIn = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
const cookieOf = (res: { headers: Record<string, unknown> }, name: string): string => {
  const raw = res.headers['set-cookie'];
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as string[];
  const c = list.find((x) => x.startsWith(`${name}=`) && !x.startsWith(`${name}=;`));
  if (!c) throw new Error(`no ${name} cookie in ${JSON.stringify(list)}`);
  return c.split(';')[0]!;
};
/** The form of the page with this action, as markup. */
const formAt = (html: string, action: string): string => {
  const at = html.indexOf(`action="${action}"`);
  return at < 0 ? '' : html.slice(at, html.indexOf('</form>', at));
};
const EXPIRED = /页面已过期，请重新提交[\s\S]*page has expired/;

/** A page of the first tab, opened while `who` was signed in: its form token. */
async function openPage(who: string, url: string): Promise<string> {
  const res = await app.inject({ url, headers: { cookie: who } });
  expect(res.statusCode, res.body).toBe(200);
  return csrfIn(res.body);
}

/**
 * Another tab: the session ended there (signed out), the maintainer signs in again with the login
 * form and the admin page loads. The browser's cookie is the new session's from then on.
 */
async function signInAgainElsewhere(loadAdminPage = true): Promise<string> {
  const me = await app.inject({ url: '/api/me', headers: { cookie } });
  expect((await app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'x-csrf-token': me.json().csrf_token } })).statusCode).toBe(303);
  const login = await app.inject('/login');
  const res = await app.inject({ method: 'POST', url: '/login', headers: { ...FORM, cookie: cookieOf(login, 'store_login') }, payload: new URLSearchParams({ _csrf: csrfIn(login.body), username: 'wang', password: TEST_PASSWORD, next: '/' }).toString() });
  expect(res.statusCode, res.body).toBe(303);
  cookie = cookieOf(res, 'store_admin');
  if (loadAdminPage) expect((await app.inject({ url: '/', headers: { cookie } })).statusCode).toBe(200);
  return cookie;
}

const post = (cookie: string, url: string, fields: Record<string, string>) => app.inject({ method: 'POST', url, headers: { ...FORM, cookie }, payload: new URLSearchParams(fields).toString() });

describe('a form from before signing in again', () => {
  it('/shelves: nothing saved, the page again saying it expired, what was typed kept; pressing again saves', async () => {
    const old = await openPage(cookie, '/shelves');
    await signInAgainElsewhere();
    const stale = await post(cookie, '/api/products/salt', { _csrf: old, name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true' });
    expect(stale.statusCode).toBe(403);
    expect(stale.headers['content-type']).toMatch(/^text\/html/);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });
    const form = formAt(stale.body, '/api/products/salt');
    expect(form).toMatch(EXPIRED);
    expect(form).not.toContain('x-csrf-token');
    expect(form).toContain('value="海盐"');
    expect(form).toContain('value="7"');
    const fresh = csrfIn(form);
    expect(fresh).not.toBe(old);
    const again = await post(cookie, '/api/products/salt', { _csrf: fresh, name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true' });
    expect(again.statusCode, again.body).toBe(303);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '海盐', price: 7 });
  });

  it('even when the other tab has shown no page since signing in (the new session has no token yet)', async () => {
    const old = await openPage(cookie, '/shelves');
    await signInAgainElsewhere(false);
    const stale = await post(cookie, '/api/products/salt', { _csrf: old, name: '粗盐', price: '6', unit_g: '400', tolerance_g: '10', active: 'true' });
    expect(stale.statusCode).toBe(403);
    const form = formAt(stale.body, '/api/products/salt');
    expect(form).toMatch(EXPIRED);
    expect(form).toContain('value="粗盐"');
    const again = await post(cookie, '/api/products/salt', { _csrf: csrfIn(form), name: '粗盐', price: '6', unit_g: '400', tolerance_g: '10', active: 'true' });
    expect(again.statusCode, again.body).toBe(303);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '粗盐', price: 6 });
  });

  it('/review: a charge and a refund, each its page again with the points and the reason kept', async () => {
    const old = await openPage(cookie, '/review');
    await signInAgainElsewhere();
    const [line] = listOpenReview(ledger.db);
    const charge = await post(cookie, `/api/review/${line!.id}/resolve`, { _csrf: old, resolution: 'charge', points: '15' });
    expect(charge.statusCode).toBe(403);
    expect(charge.headers['content-type']).toMatch(/^text\/html/);
    expect(charge.body).toMatch(EXPIRED);
    expect(getReviewLine(ledger.db, line!.id)!.resolved_at).toBeNull();
    // the points typed are in the line's charge form again
    expect(formAt(charge.body, `/api/review/${line!.id}/resolve`)).toMatch(/name="points"[^>]*value="15"/);
    const correct = await post(cookie, `/api/review/${line!.id}/resolve`, { _csrf: old, resolution: 'correct', sku: 'salt', count: '3' });
    expect(correct.statusCode).toBe(403);
    const corrected = formAt(correct.body, `/api/review/${line!.id}/resolve"><input type="hidden" name="_csrf" value="${csrfIn(correct.body)}"><input type="hidden" name="resolution" value="correct`);
    expect(corrected).toContain('<option value="salt" selected>');
    expect(corrected).toMatch(/name="count"[^>]*value="3"/);
    const refund = await post(cookie, '/api/receipts/buy1/refund', { _csrf: old, points: '10', reason: '油漏了' });
    expect(refund.statusCode).toBe(403);
    expect(refund.body).toMatch(EXPIRED);
    expect(refund.body).toContain('value="油漏了"');
    expect(refundable(ledger.db, 'buy1').refunded).toBe(0);
    const again = await post(cookie, '/api/receipts/buy1/refund', { _csrf: csrfIn(refund.body), points: '10', reason: '油漏了' });
    expect(again.statusCode, again.body).toBe(303);
    expect(refundable(ledger.db, 'buy1').refunded).toBe(10);
  });

  it('the admin page and a villager\'s page: a card and blocking, each its page again', async () => {
    const old = await openPage(cookie, '/');
    const oldVillager = await openPage(cookie, '/villagers/V001');
    await signInAgainElsewhere();
    const card = await post(cookie, '/api/cards/issue', { _csrf: old, villager: 'V001', card: 'CARD-0042' });
    expect(card.statusCode).toBe(403);
    const issue = formAt(card.body, '/api/cards/issue');
    expect(issue).toMatch(EXPIRED);
    expect(issue).toContain('value="CARD-0042"');
    const block = await post(cookie, '/api/villagers/V001/status', { _csrf: oldVillager, status: 'blocked', _page: 'villager' });
    expect(block.statusCode).toBe(403);
    expect(block.body).toContain('王大妈（V001）');
    expect(block.body).toMatch(EXPIRED);
    expect(requireVillager(ledger.db, 'V001').status).toBe('active');
    const again = await post(cookie, '/api/villagers/V001/status', { _csrf: csrfIn(block.body), status: 'blocked', _page: 'villager' });
    expect(again.statusCode, again.body).toBe(303);
    expect(requireVillager(ledger.db, 'V001').status).toBe('blocked');
  });

  it('signing out from an old tab: a page with the way back, not JSON; an API client still gets CSRF_REJECTED', async () => {
    const old = await openPage(cookie, '/');
    await signInAgainElsewhere();
    const out = await post(cookie, '/logout', { _csrf: old });
    expect(out.statusCode).toBe(403);
    expect(out.headers['content-type']).toMatch(/^text\/html/);
    expect(out.body).toMatch(EXPIRED);
    // still signed in: the old tab's press did nothing
    expect((await app.inject({ url: '/api/me', headers: { cookie } })).json().user).toMatchObject({ username: 'wang' });
    const api = await app.inject({ method: 'POST', url: '/api/products/salt', headers: { cookie, 'x-csrf-token': old }, payload: { price: 9 } });
    expect(api.statusCode).toBe(403);
    expect(api.json()).toMatchObject({ error: 'CSRF_REJECTED', zh: expect.any(String) });
    expect(getProduct(ledger.db, 'salt')!.price).toBe(6);
  });
});
