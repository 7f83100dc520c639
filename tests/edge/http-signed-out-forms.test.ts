/**
 * A form sent after its sign-in ended: a browser gets the sign-in page (401, HTML, both
 * languages) carrying what was typed but never a password or token, and after signing in the
 * form's page once with those values; nothing is done until it is sent again with the new
 * session's token. An API client (JSON, or a form asking for JSON) keeps the JSON 401, and a
 * stale Log out goes to the sign-in page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { getProduct, upsertProduct } from '../../edge/ledger/products.ts';
import { getAdminAccount } from '../../edge/ledger/admin-accounts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_AUTH, TEST_PASSWORD } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));

beforeAll(async () => {
  await createAccount(ledger.db, 'cun', 'village_admin');
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
// a browser marks a form sent from the store's own page (Sec-Fetch-Site); only such a form is kept
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER, 'sec-fetch-site': 'same-origin' };
const PLAIN = { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER };
const hidden = (html: string, name: string): string | undefined => {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return m ? m[1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') : undefined;
};
const cookieOf = (res: { headers: Record<string, unknown> }, name: string): string => {
  const raw = res.headers['set-cookie'];
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as string[];
  const c = list.find((x) => x.startsWith(`${name}=`) && !x.startsWith(`${name}=;`));
  if (!c) throw new Error(`no ${name} cookie in ${JSON.stringify(list)}`);
  return c.split(';')[0]!;
};
const post = (url: string, fields: Record<string, string>, headers: Record<string, string> = FORM) => app.inject({ method: 'POST', url, headers, payload: new URLSearchParams(fields).toString() });

/** Signs in with the sign-in page a refused form got (its cookie, token and hidden fields). */
async function signInFrom(page: { body: string; headers: Record<string, unknown> }, password = TEST_PASSWORD, cookie = cookieOf(page, 'store_login')) {
  return app.inject({
    method: 'POST', url: '/login', headers: { ...FORM, cookie },
    payload: new URLSearchParams({ _csrf: hidden(page.body, '_csrf')!, next: hidden(page.body, 'next')!, kept: hidden(page.body, 'kept') ?? '', username: 'cun', password }).toString(),
  });
}

describe('a form sent without a session', () => {
  it('from another site (or from where cannot be told): the sign-in page, nothing kept and nothing said to be', async () => {
    const tries: Array<Record<string, string>> = [
      { ...PLAIN, 'sec-fetch-site': 'cross-site' },
      { ...PLAIN, 'sec-fetch-site': 'same-site' },
      { ...PLAIN, origin: 'http://evil.example' },
      PLAIN,
    ];
    for (const headers of tries) {
      const res = await post('/api/products/salt', { _csrf: 'x', name: '毒盐', price: '1', unit_g: '400', tolerance_g: '10', active: 'true' }, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(hidden(res.body, 'kept'), JSON.stringify(headers)).toBeUndefined();
      expect(res.body).not.toContain('毒盐');
      expect(res.body).toMatch(/没有保留[\s\S]*not kept/);
    }
    // an older browser without Sec-Fetch-Site, from this host: kept
    const own = await post('/api/products/salt', { _csrf: 'x', name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true' }, { ...PLAIN, origin: 'http://localhost:80' });
    expect(hidden(own.body, 'kept')).toContain('海盐');
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });
  });

  it('a browser: the sign-in page saying so, the product untouched; signed in, /shelves once with the values', async () => {
    const res = await post('/api/products/salt', { _csrf: 'old-token', name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/登录已结束[\s\S]*已保留[\s\S]*signed out[\s\S]*kept/);
    expect(hidden(res.body, 'next')).toBe('/shelves');
    expect(hidden(res.body, 'kept')).toContain('海盐');
    expect(hidden(res.body, 'kept')).not.toContain('old-token');
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });

    // a wrong password: the sign-in page again, still carrying the form
    const wrong = await signInFrom(res, 'not the password');
    expect(wrong.statusCode).toBe(401);
    expect(hidden(wrong.body, 'kept')).toContain('海盐');

    const login = await signInFrom(wrong, TEST_PASSWORD, cookieOf(res, 'store_login'));
    expect(login.statusCode, login.body).toBe(303);
    expect(login.headers.location).toBe('/shelves');
    const cookie = cookieOf(login, 'store_admin');
    const shelves = await app.inject({ url: '/shelves', headers: { cookie } });
    const form = shelves.body.slice(shelves.body.indexOf('action="/api/products/salt"'));
    expect(form.slice(0, form.indexOf('</form>'))).toMatch(/已保留[\s\S]*value="海盐"[\s\S]*value="7"/);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });
    // once: the next showing is the ledger's
    const later = await app.inject({ url: '/shelves', headers: { cookie } });
    expect(later.body).not.toContain('value="海盐"');
    // the page's fresh token saves it
    const saved = await post('/api/products/salt', { _csrf: hidden(shelves.body, '_csrf')!, name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true' }, { ...FORM, cookie });
    expect(saved.statusCode, saved.body).toBe(303);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '海盐', price: 7 });
  });

  it('the account form: the passwords are never kept, the rest is, back on the admin page', async () => {
    const res = await post('/api/accounts', { _csrf: 'x', username: 'xiaowang', display_name: '小王', role: 'maintainer', password: 'abcdefghijk1', password_confirm: 'abcdefghijk1' });
    expect(res.statusCode).toBe(401);
    const kept = hidden(res.body, 'kept')!;
    expect(kept).toContain('xiaowang');
    expect(res.body).not.toContain('abcdefghijk1');
    const login = await signInFrom(res);
    expect(login.headers.location).toBe('/#accounts');
    const page = await app.inject({ url: '/', headers: { cookie: cookieOf(login, 'store_admin') } });
    expect(page.body).toContain('value="xiaowang"');
    expect(page.body).not.toContain('abcdefghijk1');
    expect(getAdminAccount(ledger.db, 'xiaowang')).toBeUndefined();
  });

  it('shown only on the page it came from: another page first drops it', async () => {
    const res = await post('/api/products/salt', { _csrf: 'x', name: '粗盐', price: '6', unit_g: '400', tolerance_g: '10', active: 'true' });
    const login = await signInFrom(res);
    const cookie = cookieOf(login, 'store_admin');
    expect((await app.inject({ url: '/review', headers: { cookie } })).body).not.toContain('粗盐');
    expect((await app.inject({ url: '/shelves', headers: { cookie } })).body).not.toContain('value="粗盐"');
  });

  it('a kept field that is not a kept form is ignored', async () => {
    const page = await app.inject('/login');
    const login = await app.inject({ method: 'POST', url: '/login', headers: { ...FORM, cookie: cookieOf(page, 'store_login') }, payload: new URLSearchParams({ _csrf: hidden(page.body, '_csrf')!, next: '/shelves', kept: '{"form":1}', username: 'cun', password: TEST_PASSWORD }).toString() });
    expect(login.statusCode).toBe(303);
    expect((await app.inject({ url: '/shelves', headers: { cookie: cookieOf(login, 'store_admin') } })).body).not.toMatch(/已保留/);
  });

  it('an API client keeps the JSON 401: a JSON body, or a form asking for JSON', async () => {
    const json = await app.inject({ method: 'POST', url: '/api/products/salt', headers: { 'content-type': 'application/json' }, payload: { name: 'x' } });
    expect(json.statusCode).toBe(401);
    expect(json.json()).toMatchObject({ error: 'UNAUTHENTICATED', zh: expect.any(String) });
    const form = await post('/api/products/salt', { name: 'x' }, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
    expect(form.statusCode).toBe(401);
    expect(form.json()).toMatchObject({ error: 'UNAUTHENTICATED' });
  });

  it('a Log out from a signed-out tab goes to the sign-in page', async () => {
    const res = await post('/logout', { _csrf: 'x' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login');
  });
});
