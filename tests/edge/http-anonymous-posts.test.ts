/**
 * What a post without a session may cost the store: a form from the store's own pages is kept
 * (./http-signed-out-forms.test.ts) only while its body is the size a form of the pages is; a
 * bigger one is not read and nothing of it is kept. Each address (not the store PC itself) may
 * send only ANONYMOUS_POSTS_PER_MINUTE such posts a minute: then 429 with Retry-After, a page in
 * the page's language for a browser, JSON for an API client. A face photo uploaded without a
 * session is never read: a browser gets the sign-in page, an API client the JSON 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { ANONYMOUS_FORM_BYTES, ANONYMOUS_POSTS_PER_MINUTE } from '../../edge/http/anonymous-posts.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { upsertProduct } from '../../edge/ledger/products.ts';
import { countTemplates } from '../../edge/ledger/face-templates.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_AUTH } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, allowedHosts: ['localhost', 'store.lan'] }, pino({ level: 'silent' }));

beforeAll(async () => {
  await createAccount(ledger.db, 'cun', 'village_admin');
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER, 'sec-fetch-site': 'same-origin' };
const hidden = (html: string, name: string): string | undefined => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
let lan = 10;
/** Each test from its own address of the store's network, so their counts do not mix. */
const nextAddress = (): string => `192.168.1.${++lan}`;
const post = (fields: Record<string, string>, headers: Record<string, string>, remoteAddress: string) =>
  app.inject({ method: 'POST', url: '/api/products/salt', headers, remoteAddress, payload: new URLSearchParams(fields).toString() });

describe('a form without a session', () => {
  it('the size a form of the pages is: kept; a bigger one is not read and nothing of it is kept, said in both languages', async () => {
    const from = nextAddress();
    const small = await post({ _csrf: 'x', name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true' }, FORM, from);
    expect(small.statusCode).toBe(401);
    expect(hidden(small.body, 'kept')).toContain('海盐');
    const big = await post({ _csrf: 'x', name: '海盐', price: '7', unit_g: '400', tolerance_g: '10', active: 'true', pad: 'x'.repeat(ANONYMOUS_FORM_BYTES) }, FORM, from);
    expect(big.statusCode).toBe(401);
    expect(big.headers['content-type']).toMatch(/^text\/html/);
    expect(hidden(big.body, 'kept')).toBeUndefined();
    expect(big.body).not.toContain('海盐');
    expect(big.body).toMatch(/没有保留[\s\S]*not kept/);
    // the sign-in form is there to sign in with
    expect(hidden(big.body, '_csrf')).toBeTruthy();
  });

  it(`at most ${ANONYMOUS_POSTS_PER_MINUTE} a minute from one address: then 429 with Retry-After, a page in the page's language or JSON`, async () => {
    const from = nextAddress();
    for (let i = 0; i < ANONYMOUS_POSTS_PER_MINUTE; i++) {
      expect((await post({ _csrf: 'x', name: `盐${i}` }, FORM, from)).statusCode).toBe(401);
    }
    const zh = await post({ _csrf: 'x', name: '又一个' }, FORM, from);
    expect(zh.statusCode).toBe(429);
    expect(Number(zh.headers['retry-after'])).toBeGreaterThan(0);
    expect(zh.headers['content-type']).toMatch(/^text\/html/);
    expect(zh.body).not.toContain('又一个');
    expect(zh.body).toMatch(/<h1>[^<]*请稍后再试[\s\S]*too many/i);
    const en = await post({ _csrf: 'x', name: 'again' }, { ...FORM, cookie: 'lang=en' }, from);
    expect(en.statusCode).toBe(429);
    expect(en.body).toMatch(/<h1>[^<]*Try again later[\s\S]*too many[\s\S]*请 \d+ 秒后再试/);
    const api = await app.inject({ method: 'POST', url: '/api/products/salt', headers: { 'content-type': 'application/json', accept: 'application/json' }, remoteAddress: from, payload: { name: 'x' } });
    expect(api.statusCode).toBe(429);
    expect(api.json()).toMatchObject({ error: 'RATE_LIMITED', message: expect.stringMatching(/without signing in/), zh: expect.stringMatching(/未登录/) });
    expect(Number(api.headers['retry-after'])).toBeGreaterThan(0);
    // another address is not held back by it, nor is the store PC itself
    expect((await post({ _csrf: 'x', name: '盐' }, FORM, nextAddress())).statusCode).toBe(401);
    expect((await post({ _csrf: 'x', name: '盐' }, FORM, '127.0.0.1')).statusCode).toBe(401);
  });

  it('nothing is stored for it: no session is made, however many are sent', async () => {
    const sessions = (): number => (ledger.db.prepare('SELECT count(*) AS n FROM admin_sessions').get() as { n: number }).n;
    const before = sessions();
    for (let i = 0; i < 5; i++) await post({ _csrf: 'x', name: `盐${i}` }, FORM, '127.0.0.1');
    expect(sessions()).toBe(before);
  });
});

/** A face photo upload as a browser sends it from the villager's page. */
function upload(headers: Record<string, string>, remoteAddress = '127.0.0.1') {
  const boundary = '----storeboundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="_csrf"\r\n\r\nold\r\n--${boundary}\r\ncontent-disposition: form-data; name="consent"\r\n\r\ntrue\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="wang.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`),
    Buffer.alloc(4096, 0xff),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return app.inject({ method: 'POST', url: '/api/villagers/V001/face', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers }, remoteAddress, payload: body });
}

describe('a face photo uploaded without a session', () => {
  it('from the store\'s own page in a browser: the sign-in page in both languages, the photo not kept', async () => {
    const res = await upload({ accept: BROWSER, 'sec-fetch-site': 'same-origin' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/照片[\s\S]*photo/);
    expect(hidden(res.body, 'kept')).toBeUndefined();
    expect(hidden(res.body, 'next')).toBe('/villagers/V001');
    expect(hidden(res.body, '_csrf')).toBeTruthy();
    expect(countTemplates(ledger.db, 'V001')).toBe(0);
  });

  it('an API client (or another site\'s page) keeps the JSON 401', async () => {
    const clients: Array<Record<string, string>> = [{ accept: 'application/json' }, { accept: '*/*' }, { accept: BROWSER, 'sec-fetch-site': 'cross-site' }];
    for (const headers of clients) {
      const res = await upload(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json(), JSON.stringify(headers)).toMatchObject({ error: 'UNAUTHENTICATED' });
    }
  });
});
