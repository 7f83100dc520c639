/**
 * The admin page shares the event loop with the scale polling: each request must cost a fixed
 * number of statements whatever the number of villagers, receipts or door decisions, and
 * every list on it is limited.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { as, signedIn, TEST_AUTH } from './admin-auth.ts';
import { HealthBoard } from '../../edge/parts.ts';
import type { Db } from '../../edge/ledger/db.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import { tempLedger } from '../ledger/helpers.ts';

const ledger = tempLedger();
afterAll(() => ledger.cleanup());
const rules = { creditFloor: 0 };

/**
 * The ledger handle with every statement run counted (get, all, run, iterate), whether prepared
 * for this request or once per connection (cachedStatement).
 */
let prepared = 0;
const RUNS = new Set(['get', 'all', 'run', 'iterate']);
function countedStatement(st: object): object {
  const proxy: object = new Proxy(st, {
    get(target, key) {
      const v = Reflect.get(target, key, target) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        if (RUNS.has(String(key))) prepared++;
        const r = (v as (...a: unknown[]) => unknown).apply(target, a);
        // pluck(), raw(), bind()… return the statement itself: keep counting through it
        return r === target ? proxy : r;
      };
    },
  });
  return proxy;
}
const counted = new Proxy(ledger.db, {
  get(target, key) {
    if (key === 'prepare') return (sql: string) => countedStatement(target.prepare(sql));
    const v = Reflect.get(target, key, target) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
}) as Db;

const inside: StoreStateSource = {
  phase: 'shopping',
  current: { sessionId: 's-live', villagerId: 'v0', kind: 'shopping', enteredBy: 'card', openedAt: Date.UTC(2026, 10, 30, 9) },
  cart: () => ({ totalPoints: 12, cart: { lines: [{ sku: 'salt', slot: 'A1', count: 1 }, { sku: 'soap', slot: 'A2', count: 1 }], review: [] } }),
};
const app = buildApp({ store: { id: 's', village: 'v', name: '积分超市' }, health: new HealthBoard(), db: () => counted, ledgerRules: rules, auth: TEST_AUTH, session: inside }, pino({ level: 'silent' }));
afterAll(() => app.close());
let get: ReturnType<typeof as>;

let villagers = 0;
let sessions = 0;
function grow(n: number): void {
  const db = ledger.db;
  for (let i = 0; i < n; i++, villagers++) {
    addVillager(db, { id: `v${villagers}`, name: `村民${villagers}`, village: '前进村' });
    applyEntry(db, { id: `a${villagers}`, villagerId: `v${villagers}`, kind: 'award', points: 100, reason: '打扫', origin: 'cli' }, rules);
    const id = `s${sessions++}`;
    openSession(db, { id, kind: 'shopping', villagerId: `v${villagers}`, enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: id, lines: [{ sku: 'salt', slot: 'A1', count: 1 }, { sku: 'soap', slot: 'A2', count: 2 }], review: [{ slot: 'A2', reason: 'not_stable', deltaG: 30, detail: null }] }, rules);
    insertEntryEvent(db, { at: new Date().toISOString(), decision: 'matched', by: 'card', villagerId: `v${villagers}`, detail: { unlocked: true } });
  }
}

async function statementsOf(urls: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const u of urls) out.push(await statements(u)); // one at a time: the counter is shared
  return out;
}

async function statements(url: string): Promise<number> {
  prepared = 0;
  const res = await get(app, { url });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  return prepared;
}

const URLS = ['/', '/board', '/api/receipts?limit=50', '/api/events?limit=50', '/api/stock', '/api/store', '/api/villagers'];

describe('admin page cost', () => {
  it('stays the same number of statements per request as the village grows tenfold', async () => {
    upsertProduct(ledger.db, { sku: 'salt', name: '盐', price: 5, unitG: 500, toleranceG: 20 });
    upsertProduct(ledger.db, { sku: 'soap', name: '肥皂', price: 7, unitG: 120, toleranceG: 10 });
    upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 10_000 });
    upsertSlot(ledger.db, { slot: 'A2', address: 12, sku: 'soap', stock: 10_000 });
    get = as(await signedIn(app, ledger.db));
    grow(12);
    const small = await statementsOf(URLS);
    grow(240);
    const large = await statementsOf(URLS);
    expect(Object.fromEntries(URLS.map((u, i) => [u, large[i]]))).toEqual(Object.fromEntries(URLS.map((u, i) => [u, small[i]])));
    // and few: a handful per section (the signed-in session, its account, the review queue, the accounts and the audit log
    // included), not one per row
    expect(large[0]).toBeLessThanOrEqual(15);
  });

  it('lists at most 100 villagers per page, with links to the others', async () => {
    const first = (await get(app, { url: '/' })).body;
    expect(first.match(/<tr><td>v\d+<\/td>/g)?.length).toBe(100);
    expect(first).toContain(`共 ${villagers} 位`);
    expect(first).toContain('href="/?villagers=2"');
    const third = (await get(app, { url: '/?villagers=3' })).body;
    expect(third.match(/<tr><td>v\d+<\/td>/g)?.length).toBe(villagers - 200);
    expect((await get(app, { url: '/?villagers=0' })).statusCode).toBe(400);
    const api = (await get(app, { url: '/api/villagers?limit=10' })).json() as { items: Array<{ id: string }>; next: string };
    expect(api.items).toHaveLength(10);
    const after = (await get(app, { url: `/api/villagers?limit=10&after=${api.next}` })).json() as { items: Array<{ id: string }> };
    expect(after.items[0]!.id > api.items[9]!.id).toBe(true);
    expect((await get(app, { url: '/api/villagers?offset=5' })).statusCode).toBe(400);
  });
});
