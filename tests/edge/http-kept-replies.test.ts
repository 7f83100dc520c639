/**
 * The replies every tablet asks for alike — the live picture (`/api/live/now`), the shelves
 * (`/api/shelves`), the store (`/api/store`) — are made once per change for all of them
 * (edge/http/kept-reply.ts): fifty requests at once cost one rendering, a client that has the
 * reply gets a 304, and a change (a ledger write, a live change, a scale coming to rest) gives a
 * fresh reply. The renderings are counted through the session's `cart()`, which only making the
 * store's picture calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed } from '../../edge/http/live-feed.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
let renders = 0;
const engine = { phase: 'idle' };
const session: StoreStateSource = {
  get phase() {
    return engine.phase;
  },
  current: null,
  cart: () => {
    renders += 1;
    return null;
  },
};
const weights: Array<{ slot: string; health: string; stable_g: number | null }> = [{ slot: 'A1', health: 'ok', stable_g: 800 }];
const scales: ShelfScales = { status: () => weights.map((w) => ({ ...w })), zero: async () => undefined };
const relay = new EventEmitter<DaemonEvents>();
const live = new LiveFeed({ events: relay });
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session, live, scales: () => scales }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 2 });
  s = await signedIn(app, ledger.db);
  live.start();
});

afterAll(async () => {
  live.stop();
  await app.close();
  ledger.cleanup();
});

const get = (url: string, etag?: string) => app.inject({ url, headers: { cookie: s.cookie, ...(etag ? { 'if-none-match': etag } : {}) } });

describe('replies made once per change for every tablet', () => {
  it('/api/live/now: fifty requests at once, one rendering, one ETag', async () => {
    await get('/api/store');
    renders = 0;
    const replies = await Promise.all(Array.from({ length: 50 }, () => get('/api/live/now')));
    expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 200));
    expect(new Set(replies.map((r) => r.headers.etag)).size).toBe(1);
    expect(new Set(replies.map((r) => r.body)).size).toBe(1);
    expect(renders).toBe(1);
    expect(replies[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(replies[0]!.json()).toMatchObject({ store: { phase: 'idle' }, shelves: [{ slot: 'A1', weight_g: 800, counted: 2 }] });
  });

  it('/api/live/now: 304 while nothing changed; fresh after a live change, a ledger write, a scale at rest', async () => {
    const first = await get('/api/live/now');
    const etag = first.headers.etag as string;
    renders = 0;
    expect((await get('/api/live/now', etag)).statusCode).toBe(304);
    expect((await get('/api/live/now', etag)).body).toBe('');
    expect(renders).toBe(0);

    engine.phase = 'shopping';
    relay.emit('session_state', {} as DaemonEvents['session_state'][0]);
    const shopping = await get('/api/live/now', etag);
    expect(shopping.statusCode).toBe(200);
    expect(shopping.json()).toMatchObject({ store: { phase: 'shopping' } });

    upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 5 });
    const restocked = await get('/api/live/now', shopping.headers.etag as string);
    expect(restocked.statusCode).toBe(200);
    expect(restocked.json()).toMatchObject({ shelves: [{ slot: 'A1', stock: 5 }] });

    weights[0]!.stable_g = 400;
    const lighter = await get('/api/live/now', restocked.headers.etag as string);
    expect(lighter.statusCode).toBe(200);
    expect(lighter.json()).toMatchObject({ shelves: [{ slot: 'A1', weight_g: 400, counted: 1 }] });
    expect((await get('/api/live/now', lighter.headers.etag as string)).statusCode).toBe(304);
  });

  it('/api/shelves and /api/store: one rendering for many, 304 while unchanged, fresh after a change', async () => {
    const shelves = await Promise.all(Array.from({ length: 20 }, () => get('/api/shelves')));
    expect(new Set(shelves.map((r) => r.headers.etag)).size).toBe(1);
    const shelvesTag = shelves[0]!.headers.etag as string;
    expect((await get('/api/shelves', shelvesTag)).statusCode).toBe(304);
    weights[0]!.health = 'silent';
    const silent = await get('/api/shelves', shelvesTag);
    expect(silent.statusCode).toBe(200);
    expect(silent.json()).toMatchObject({ items: [{ slot: 'A1', scale: 'silent', weight_g: null }] });

    renders = 0;
    const stores = await Promise.all(Array.from({ length: 20 }, () => get('/api/store')));
    expect(renders).toBe(1);
    const storeTag = stores[0]!.headers.etag as string;
    expect((await get('/api/store', storeTag)).statusCode).toBe(304);
    engine.phase = 'idle';
    relay.emit('session_state', {} as DaemonEvents['session_state'][0]);
    const idle = await get('/api/store', storeTag);
    expect(idle.statusCode).toBe(200);
    expect(idle.json()).toMatchObject({ phase: 'idle', phase_zh: expect.any(String) });
  });

  it('what is served is what the route schema allows: the same fields as a fresh rendering', async () => {
    const now = (await get('/api/live/now')).json() as Record<string, unknown>;
    expect(Object.keys(now).sort()).toEqual(['alarms', 'at', 'decisions', 'door', 'open_alarms', 'shelves', 'store']);
  });
});
