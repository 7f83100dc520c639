/**
 * The admin page's changing parts (`GET /api/admin-page`), which its script puts in place
 * instead of reloading: the same HTML as the page, a 304 while nothing changed, fresh parts
 * after a ledger write or a live change, 401 without a session; the page itself has no meta
 * refresh and loads only its own script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed } from '../../edge/http/live-feed.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const engine: { phase: string } = { phase: 'idle' };
const session: StoreStateSource = {
  get phase() {
    return engine.phase;
  },
  current: null,
  cart: () => null,
};
const relay = new EventEmitter<DaemonEvents>();
const live = new LiveFeed({ events: relay });
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, session, live }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  s = await signedIn(app, ledger.db);
  live.start();
});

afterAll(async () => {
  live.stop();
  await app.close();
  ledger.cleanup();
});

const parts = (etag?: string) => app.inject({ url: '/api/admin-page', headers: { cookie: s.cookie, ...(etag ? { 'if-none-match': etag } : {}) } });

describe('admin page parts', () => {
  it('the page has no meta refresh; each changing part is in a data-part box, the script is its own', async () => {
    const page = await app.inject({ url: '/', headers: { cookie: s.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('http-equiv="refresh"');
    expect(page.body).toContain('<script src="/assets/admin.js" defer></script>');
    const res = await parts();
    const body = res.json() as { parts: Record<string, string> };
    for (const [name, html] of Object.entries(body.parts)) expect(page.body).toContain(`data-part="${name}">${html}</`);
    expect(Object.keys(body.parts)).toEqual(expect.arrayContaining(['status', 'store', 'events', 'receipts', 'review', 'stock', 'sync', 'villagers', 'sessions', 'components', 'audit']));
    const script = await app.inject({ url: '/assets/admin.js' });
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.body).toContain('/api/admin-page');
  });

  it('answers 304 while nothing changed, fresh parts after a ledger write, a session change or a live change', async () => {
    const first = await parts();
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    expect((await parts(etag)).statusCode).toBe(304);

    applyEntry(ledger.db, { id: 'a1', villagerId: 'V001', kind: 'award', points: 40, reason: '打扫村道', origin: 'cli' }, rules);
    const awarded = await parts(etag);
    expect(awarded.statusCode).toBe(200);
    expect((awarded.json() as { parts: Record<string, string> }).parts.villagers).toMatch(/<td class="balance">40<\/td>/);
    const etag2 = awarded.headers.etag as string;
    expect((await parts(etag2)).statusCode).toBe(304);

    engine.phase = 'shopping';
    relay.emit('session_state', {} as DaemonEvents['session_state'][0]);
    const shopping = await parts(etag2);
    expect(shopping.statusCode).toBe(200);
    expect((shopping.json() as { parts: Record<string, string> }).parts.store).toContain('data-phase="shopping"');
    engine.phase = 'idle';
  });

  it('refuses without a session (401) and a bad page number (400)', async () => {
    expect((await app.inject({ url: '/api/admin-page' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/admin-page?villagers=0', headers: { cookie: s.cookie } })).statusCode).toBe(400);
  });
});

describe('?lang= on every page', () => {
  it('is accepted and remembered in the lang cookie on /, /live and /review, as on /villagers and /shelves', async () => {
    const cookieOf = (r: { headers: Record<string, unknown> }) => String(r.headers['set-cookie'] ?? '');
    for (const url of ['/?lang=en', '/live?lang=en', '/review?lang=en', '/villagers?lang=en', '/shelves?lang=en', '/?villagers=1&lang=zh']) {
      const res = await app.inject({ url, headers: { cookie: s.cookie } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toContain('text/html');
      expect(cookieOf(res), url).toContain(`lang=${url.endsWith('zh') ? 'zh' : 'en'}`);
    }
    // the page's changing parts take it as well; any other field is still refused by name
    expect((await app.inject({ url: '/api/admin-page?lang=en', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    const bad = await app.inject({ url: '/?lang=fr', headers: { cookie: s.cookie } });
    expect(bad.statusCode).toBe(400);
    expect(Object.keys(bad.json().fields)).toEqual(['lang']);
    // once remembered, the live page opened from the admin page is in English
    const live = await app.inject({ url: '/live', headers: { cookie: `${s.cookie}; lang=en` } });
    expect(live.body).toContain('lang="en"');
  });
});
