/**
 * The admin page's routes about the door and the till, through `app.inject()` on a real
 * ledger: the door's decisions, receipts with review lines, the store's live state, stock.
 * Replies follow their schemas; names are escaped in the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp, type App } from '../../edge/http/app.ts';
import type { StoreStateSource, SyncStateSource } from '../../edge/http/queries.ts';
import { formatTime as time } from '../../edge/http/time-format.ts';
import { markOutboxAckedSeqs } from '../../edge/ledger/outbox.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const at = (min: number) => () => new Date(Date.UTC(2026, 10, 29, 8, min, 0));

/** A session engine with 王大妈 in the store and a bottle of oil in her cart. */
const inside: StoreStateSource = {
  phase: 'shopping',
  current: { sessionId: 's-now', villagerId: 'V001', kind: 'shopping', enteredBy: 'face', openedAt: Date.UTC(2026, 10, 29, 9, 0, 0) },
  cart: () => ({ totalPoints: 30, cart: { lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'A1', reason: 'not_stable' }] } }),
};

function build(session?: StoreStateSource, sync?: SyncStateSource): App {
  return buildApp({ store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, ...(session ? { session } : {}), ...(sync ? { sync } : {}) }, pino({ level: 'silent' }));
}

const event = (min: number, decision: string, by: string, villager: string | null, detail: Record<string, unknown>) =>
  ledger.db.prepare('INSERT INTO entry_events (at, decision, by, villager_id, detail) VALUES (?, ?, ?, ?, ?)').run(at(min)().toISOString(), decision, by, villager, JSON.stringify(detail));

let app: App;
let get: ReturnType<typeof as>;

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(db, { id: 'V002', name: '<b>李</b>', village: '前进村' });
  addVillager(db, { id: 'M01', name: '老陈', village: '前进村', isMaintainer: true });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, rules);
  applyEntry(db, { id: 'e2', villagerId: 'V002', kind: 'award', points: 10, reason: '打扫', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 6 });
  upsertSlot(db, { slot: 'A2', address: 12, sku: 'salt', stock: 2 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 3 });

  event(0, 'uncertain', 'face', null, { frames: 3, nearest: 'V001', unlocked: false });
  event(1, 'unknown', 'face', null, { frames: 3, unlocked: false });
  event(2, 'matched', 'card', 'V001', { card: 'PB-0001', unlocked: true });
  event(3, 'store_busy', 'card', 'V002', { card: 'PB-0002', unlocked: false });

  // 老陈 restocked four bags of salt (the engine keeps the moves in the session's context)
  openSession(db, { id: 's0', kind: 'restock', villagerId: 'M01', enteredBy: 'card', state: 'restocking', context: {} }, at(0));
  settleSession(db, { sessionId: 's0', lines: [], review: [], context: { stock: [{ sku: 'salt', slot: 'A1', count: 4 }] } }, rules, at(1));
  // 王大妈 buys two salt, a bag of salt lands on the wrong slot
  openSession(db, { id: 's1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} }, at(2));
  settleSession(db, { sessionId: 's1', lines: [{ sku: 'salt', slot: 'A1', count: 2 }], review: [{ slot: 'A2', reason: 'wrong_slot_return', deltaG: 400, detail: 'put down here' }] }, rules, at(4));
  // 李 takes oil worth more than she has: charged down to 0, debt recorded
  openSession(db, { id: 's2', kind: 'shopping', villagerId: 'V002', enteredBy: 'card', state: 'shopping', context: {} }, at(5));
  settleSession(db, { sessionId: 's2', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [] }, rules, at(6));
  // a restock still open is not a receipt
  openSession(db, { id: 's3', kind: 'restock', villagerId: 'M01', enteredBy: 'card', state: 'restocking', context: {} }, at(7));
  app = build(inside);
  await app.ready();
  get = as(await signedIn(app, ledger.db));
});

afterAll(async () => {
  await app?.close();
  ledger.cleanup();
});

describe('GET /api/events', () => {
  it('lists the door decisions newest first, with the reason in Chinese and the name', async () => {
    const res = await get(app, '/api/events');
    expect(res.statusCode).toBe(200);
    const { items: events, next } = res.json<{ items: Array<Record<string, unknown>>; next: number | null }>();
    expect(next).toBeNull();
    expect(events.map((e) => [e.decision, e.decision_zh, e.by, e.villager, e.villager_name, e.unlocked])).toEqual([
      ['store_busy', '店内有人，请稍候', 'card', 'V002', '<b>李</b>', false],
      ['matched', '已放行', 'card', 'V001', '王大妈', true],
      ['unknown', '未识别', 'face', null, null, false],
      ['uncertain', '无法确认，请刷卡或扫码', 'face', null, null, false],
    ]);
    expect(events[1]?.detail).toEqual({ card: 'PB-0001' });
  });

  it('honours limit, pages with the cursor, and refuses a bad one', async () => {
    type Page = { items: Array<{ decision: string }>; next: number | null };
    const first = (await get(app, '/api/events?limit=3')).json<Page>();
    expect(first.items.map((e) => e.decision)).toEqual(['store_busy', 'matched', 'unknown']);
    expect(first.next).not.toBeNull();
    const second = (await get(app, `/api/events?limit=3&before=${first.next}`)).json<Page>();
    expect(second).toEqual({ items: [expect.objectContaining({ decision: 'uncertain' })], next: null });
    for (const bad of ['0', '201', 'abc']) {
      const res = await get(app, `/api/events?limit=${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT' });
    }
  });
});

describe('GET /api/receipts', () => {
  it('lists settled sessions with lines, points, balance after and review lines; not open ones', async () => {
    const res = await get(app, '/api/receipts');
    expect(res.statusCode).toBe(200);
    const { items: receipts, next } = res.json<{ items: Array<Record<string, unknown>>; next: string | null }>();
    expect(receipts.map((r) => r.session)).toEqual(['s2', 's1', 's0']);
    expect(next).toBeNull();
    // a page at a time, newest first
    const first = (await get(app, '/api/receipts?limit=2')).json<{ items: Array<{ session: string }>; next: string | null }>();
    expect([first.items.map((r) => r.session), first.next]).toEqual([['s2', 's1'], 's1']);
    const rest = (await get(app, `/api/receipts?limit=2&before=${first.next}`)).json<{ items: Array<{ session: string }>; next: string | null }>();
    expect([rest.items.map((r) => r.session), rest.next]).toEqual([['s0'], null]);
    expect(receipts[2]).toMatchObject({ kind: 'restock', villager_name: '老陈', total_points: 0, balance_after: null, lines: [], stock: [{ sku: 'salt', name: '食盐', slot: 'A1', count: 4 }] });
    expect(receipts[0]?.stock).toEqual([]);
    expect(receipts[0]).toMatchObject({ villager: 'V002', villager_name: '<b>李</b>', total_points: 30, charged_points: 10, debt_points: 20, balance_after: 0, review: [] });
    expect(receipts[1]).toMatchObject({
      villager_name: '王大妈',
      total_points: 6,
      charged_points: 6,
      balance_after: 44,
      lines: [{ sku: 'salt', name: '食盐', slot: 'A1', count: 2, points: 6 }],
      review: [{ slot: 'A2', reason: 'wrong_slot_return', reason_zh: '商品放错货位', delta_g: 400, detail: 'put down here' }],
    });
  });
});

describe('GET /api/store', () => {
  it("reports the session engine's phase, who is inside and the live cart", async () => {
    const s = (await get(app, '/api/store')).json<Record<string, unknown>>();
    expect(s).toMatchObject({ phase: 'shopping', phase_zh: '购物中', villager: 'V001', villager_name: '王大妈', entered_by: 'face', since: '2026-11-29T09:00:00.000Z' });
    expect(s.cart).toEqual({ lines: [{ sku: 'oil', name: '菜籽油', slot: 'B1', count: 1, points: 30 }], total_points: 30, review: [{ slot: 'A1', reason: 'not_stable' }], stock: [] });
  });

  it('while restocking, shows what the maintainer put on each slot', async () => {
    const restocking = build({
      phase: 'restocking',
      current: { sessionId: 's3', villagerId: 'M01', kind: 'restock', enteredBy: 'card', openedAt: Date.UTC(2026, 10, 29, 9, 5, 0) },
      cart: () => ({ totalPoints: 0, cart: { lines: [], review: [], stock: [{ sku: 'salt', slot: 'A1', count: 3 }] } }),
    });
    expect((await get(restocking, '/api/store')).json<{ cart: unknown }>().cart).toEqual({ lines: [], total_points: 0, review: [], stock: [{ sku: 'salt', name: '食盐', slot: 'A1', count: 3 }] });
    const html = (await get(restocking, '/')).body;
    expect(html).toContain('补货中');
    expect(html).toContain('<td>食盐</td><td>A1</td><td>+3</td>');
    await restocking.close();
  });

  it('says unknown without a session engine (the page alone)', async () => {
    const bare = build();
    const s = (await get(bare, '/api/store')).json<Record<string, unknown>>();
    expect(s).toMatchObject({ phase: 'unknown', villager: null, cart: null });
    await bare.close();
  });
});

describe('GET /api/stock', () => {
  it('gives stock per product with its slots', async () => {
    const { items: products, next } = (await get(app, '/api/stock')).json<{ items: Array<Record<string, unknown>>; next: null }>();
    expect(next).toBeNull();
    expect(products).toEqual([
      { sku: 'oil', name: '菜籽油', price: 30, active: true, stock: 2, slots: [{ slot: 'B1', address: 13, stock: 2 }] },
      { sku: 'salt', name: '食盐', price: 3, active: true, stock: 6, slots: [{ slot: 'A1', address: 11, stock: 4 }, { slot: 'A2', address: 12, stock: 2 }] },
    ]);
  });
});

describe('GET / (admin page)', () => {
  it('shows the store state, door decisions, receipts with review lines and stock, escaped', async () => {
    const res = await get(app, '/');
    expect(res.statusCode).toBe(200);
    const html = res.body;
    for (const id of ['store-state', 'entry-events', 'receipts', 'products', 'villagers']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('购物中');
    expect(html).toContain('店内：王大妈（V001）');
    expect(html).toContain('店内有人，请稍候');
    expect(html).toContain('卡号 PB-0001');
    expect(html).toContain('补货：食盐+4（A1）');
    expect(html).toContain('商品放错货位');
    expect(html).toContain('欠 20 分');
    expect(html).toContain('&lt;b&gt;李&lt;/b&gt;');
    expect(html).not.toContain('<b>李</b>');
  });
});

describe('sync with the village ledger (GET /api/sync and the admin page)', () => {
  it("shows the agent's state: connection, outbox depth, last ack with its time, inbound seq, last contact, refused by reason", async () => {
    const ackedAt = '2026-11-29T08:30:00.000Z';
    // why the broker cannot be reached (cloud-sync/mqtt-failure.ts; tests/sync/broker-failure.test.ts)
    const brokerError = { reason: 'bad_credentials' as const, message: 'the broker refused the user name or password / 消息服务器拒绝了用户名或密码', since: '2026-11-29T08:32:00.000Z', attempts: 12 };
    markOutboxAckedSeqs(ledger.db, [1, 2], ackedAt);
    const agent: SyncStateSource = {
      state: () => ({ connected: false, outbox_pending: 7, last_acked_seq: 2, inbound_seq: 41, last_contact: '2026-11-29T08:31:00.000Z', refused: { unsigned: 0, forged: 3, replayed: 1, expired: 0, invalid: 0 }, last_error: brokerError }),
    };
    const withSync = build(undefined, agent);
    const res = await get(withSync, '/api/sync');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      enabled: true, connected: false, outbox_pending: 7, last_acked_seq: 2, last_ack_at: ackedAt, inbound_seq: 41,
      last_contact: '2026-11-29T08:31:00.000Z', refused: { unsigned: 0, forged: 3, replayed: 1, expired: 0, invalid: 0 }, last_error: brokerError,
    });
    const html = (await get(withSync, '/')).body;
    expect(html).toContain('<table id="sync" data-enabled="true" data-connected="false">');
    expect(html).toContain('未连接');
    expect(html).toContain('<td id="sync-outbox">7 条</td>');
    expect(html).toContain(`<td id="sync-ack">第 2 条，${time(ackedAt)}</td>`);
    expect(html).toContain('<td id="sync-inbound">至第 41 条</td>');
    expect(html).toContain(time('2026-11-29T08:31:00.000Z'));
    expect(html).toContain('<span data-reason="forged">签名不符 3</span>，<span data-reason="replayed">重复或过期序号 1</span>');
    await withSync.close();
  });

  it('says sync is off when the store has no agent', async () => {
    expect((await get(app, '/api/sync')).json()).toMatchObject({ enabled: false, connected: false, last_ack_at: null, last_error: null });
    expect((await get(app, '/')).body).toContain('<p id="sync" data-enabled="false">');
  });
});
