/**
 * A browser opening a page that cannot be shown (an unknown villager, a page number below 1, a
 * path no route has) gets a page in its language with the message and a way back; an API
 * client asking the same keeps the bilingual JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});
beforeAll(async () => {
  s = await signedIn(app, ledger.db);
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const open = (url: string, accept = BROWSER, lang?: 'en') => app.inject({ url, headers: { cookie: `${s.cookie}${lang ? `; lang=${lang}` : ''}`, accept } });

describe('refusals a browser sees as pages', () => {
  it.each([
    ['/villagers/ghost', 404, '未知村民 ghost'],
    ['/review?page=-1', 400, '页码须不小于 1'],
    ['/?villagers=-5', 400, '页码须不小于 1'],
    ['/no-such-page', 404, '没有这个页面或接口'],
  ])('%s: a Chinese page with the message and the way back', async (url, status, zh) => {
    const res = await open(url);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<html lang="zh-CN">');
    expect(res.body).toContain(zh);
    expect(res.body).toContain('<a href="/" id="back">返回管理页</a>');
  });

  it('in English with ?lang=en', async () => {
    const res = await open('/villagers/ghost?lang=en');
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('<html lang="en">');
    expect(res.body).toContain('<a href="/" id="back">Back to admin</a>');
  });

  it('an API client keeps the JSON', async () => {
    const res = await open('/villagers/ghost', 'application/json');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'UNKNOWN_VILLAGER', zh: expect.any(String) });
    const api = await open('/api/villagers/ghost');
    expect(api.json()).toMatchObject({ error: 'UNKNOWN_VILLAGER' });
    const page = await open('/review?page=-1', '*/*');
    expect(page.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { page: { zh: '页码须不小于 1' } } });
  });
});
