/**
 * The public board on the store's side, through `app.inject()`: public, with a policy that
 * lets only the store's own script run; the village data as the ledger sent it (kept in the
 * store's ledger), the store's maintainers left off and the places closed up, every value
 * escaped; prices with in-stock or out-of-stock from the shelves; and a clear note when there
 * is no ledger, no board yet, or the board is stale because the store is cut off.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp, type App } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import type { SyncStateSource } from '../../edge/http/queries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { saveBoard } from '../../edge/ledger/board.ts';
import { BOARD_STALE_AFTER_MS, rerank } from '../../edge/http/board/view.ts';
import { BOARD_FORMAT, type BoardBody } from '../../cloud-sync/protocol/board.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { TEST_AUTH } from './admin-auth.ts';

const ledgers: Array<ReturnType<typeof tempLedger>> = [];
const apps: App[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const l of ledgers) l.cleanup();
});

function setup(sync?: SyncStateSource) {
  const ledger = tempLedger();
  ledgers.push(ledger);
  const health = new HealthBoard();
  health.setPhase('running');
  const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health, db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, ...(sync ? { sync } : {}) }, pino({ level: 'silent' }));
  apps.push(app);
  return { app, db: ledger.db };
}
const online = (connected: boolean): SyncStateSource => ({ state: () => ({ connected, outbox_pending: 0, last_acked_seq: 0, inbound_seq: 0, last_contact: null, refused: {} }) });

const body = (computedAt = new Date()): BoardBody => ({
  format: BOARD_FORMAT,
  village: { id: 'v1', name: '前进村' },
  month: '2026-12',
  computed_at: computedAt.toISOString(),
  published: { red_list: true, deeds: true, totals: true },
  red_list: [
    { rank: 1, villager: 'chen', name: '老陈', masked: false, points: 40, items: [{ name: '参加防汛抢险', count: 1 }] },
    { rank: 2, villager: 'zhang', name: '张三', masked: false, points: 30, items: [{ name: '清扫街巷', count: 3 }] },
    { rank: 2, villager: 'li', name: '李**', masked: true, points: 30, items: [] },
    { rank: 4, villager: 'x', name: '<img src=x onerror=alert(1)>', masked: false, points: 5, items: [{ name: '<b>说法评理</b>', count: 2 }] },
  ],
  deeds: [{ title: '清理河道垃圾 & 杂物', village: '前进村', points: 8, date: '2026-12-01' }],
  totals: { issued: 120, redeemed: 45, deeds: 9, participants: 5, villagers: 20 },
});

describe('the board page', () => {
  it('is public, and lets run only the store’s own script', async () => {
    const { app } = setup();
    for (const url of ['/board', '/board/live', '/board/board.js']) {
      const res = await app.inject(url);
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|https?:/);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect((await app.inject('/board/board.js')).headers['content-type']).toContain('javascript');
    const page = (await app.inject('/board')).body;
    expect(page).toContain('<script src="/board/board.js" defer></script>');
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]/);
    // the admin pages have their own policy: the store's own scripts only, never inline, and no
    // form posting elsewhere (the board's form-action 'none' is not theirs)
    const admin = String((await app.inject('/login')).headers['content-security-policy']);
    expect(admin.split(';').find((d) => d.trim().startsWith('script-src'))?.trim()).toBe("script-src 'self'");
    expect(admin).not.toContain("form-action 'none'");
    expect((await app.inject('/board?refresh=1')).statusCode).toBe(400);
  });

  it('without sync shows the store’s prices with stock, and says there is no village data', async () => {
    const { app, db } = setup();
    upsertProduct(db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
    upsertProduct(db, { sku: 'soap', name: '香皂', price: 8, unitG: 100, toleranceG: 5 });
    upsertProduct(db, { sku: 'tea', name: '茶叶（未上架）', price: 50, unitG: 250, toleranceG: 5 });
    upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 3 });
    upsertSlot(db, { slot: 'A2', address: 12, sku: 'soap', stock: 0 });
    const html = (await app.inject('/board')).body;
    expect(html).toContain('本店未接入村账本');
    expect(html).toMatch(/食盐<\/span><span class="price">5<small>分<\/small><\/span><span class="stock">有货/);
    expect(html).toMatch(/香皂<\/span><span class="price">8<small>分<\/small><\/span><span class="stock">缺货/);
    expect(html).not.toContain('茶叶'); // on no shelf of this store
    expect(html).not.toContain('红榜');
  });

  it('lists every shelved product however many more the store knows (village catalogue, retired)', async () => {
    const { app, db } = setup();
    // the village's catalogue reaches every store: 45 products sorting first, none on a shelf here, and a retired one on a shelf
    for (let i = 0; i < 45; i++) upsertProduct(db, { sku: `a-${String(i).padStart(2, '0')}`, name: `村目录商品${i}`, price: 3, unitG: 400, toleranceG: 10 });
    upsertProduct(db, { sku: 'a-old', name: '旧货（已下架）', price: 2, unitG: 400, toleranceG: 10, active: false });
    upsertSlot(db, { slot: 'A3', address: 13, sku: 'a-old', stock: 1 });
    upsertProduct(db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
    upsertProduct(db, { sku: 'soap', name: '香皂', price: 8, unitG: 100, toleranceG: 5 });
    upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 3 });
    upsertSlot(db, { slot: 'A2', address: 12, sku: 'soap', stock: 2 });
    const html = (await app.inject('/board')).body;
    expect([...html.matchAll(/<span class="name">([^<]+)</g)].map((m) => m[1])).toEqual(['食盐', '香皂']);
    expect(html).not.toContain('暂无商品');
  });

  it('shows the ledger’s board with the store’s maintainer left off, places closed up, every value escaped', async () => {
    const { app, db } = setup(online(true));
    expect((await app.inject('/board/live')).body).toContain('正在等待村账本发来公示数据');
    addVillager(db, { id: 'chen', name: '老陈', village: 'v1', isMaintainer: true });
    saveBoard(db, { version: 1, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: body() });
    const html = (await app.inject('/board/live')).body;
    expect(html).not.toContain('老陈');
    const ranks = [...html.matchAll(/<span class="rank">(\d+)<\/span><span class="who[^"]*">([^<]+)</g)].map((m) => [Number(m[1]), m[2]]);
    expect(ranks).toEqual([[1, '张三'], [1, '李**'], [3, '&lt;img src=x onerror=alert(1)&gt;']]);
    expect(html).toContain('&lt;b&gt;说法评理&lt;/b&gt;×2');
    expect(html).toContain('清理河道垃圾 &amp; 杂物');
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain('id="board-status" class="ok"');
    expect(html).toMatch(/<div class="stat" id="total-participants"><span class="n">5<small>\/20<\/small><\/span><span class="l">参与村民（25%）/);
  });

  it('says the data is stale when the store is cut off, or when the last board is old', async () => {
    let connected = false;
    const { app, db } = setup({ state: () => online(connected).state() });
    saveBoard(db, { version: 2, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: body() });
    let html = (await app.inject('/board/live')).body;
    expect(html).toContain('data-stale="1"');
    expect(html).toContain('本店暂时与村账本断开连接');
    expect(html).toContain('张三'); // the last board stays up
    connected = true;
    expect((await app.inject('/board/live')).body).not.toContain('data-stale');
    saveBoard(db, { version: 3, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: body(new Date(Date.now() - BOARD_STALE_AFTER_MS - 60_000)) });
    html = (await app.inject('/board/live')).body;
    expect(html).toContain('村账本数据已较长时间未更新');
    expect(html).toMatch(/（1[56] 分钟前）/);
  });

  it('sections the village does not publish are not shown', async () => {
    const { app, db } = setup(online(true));
    saveBoard(db, { version: 1, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: { ...body(), published: { red_list: false, deeds: false, totals: false }, red_list: [], deeds: [], totals: null } });
    const html = (await app.inject('/board/live')).body;
    for (const id of ['red-list', 'deeds', 'totals']) expect(html).not.toContain(`id="${id}"`);
    expect(html).toContain('id="prices"');
  });

  it('a first place larger than the message: its 50 rows and how many more share it, and a place left off counted', async () => {
    const { app, db } = setup(online(true));
    const tied = Array.from({ length: 50 }, (_, i) => ({ rank: 1, villager: `p${String(i).padStart(2, '0')}`, name: `村民${i}`, masked: false, points: 2, items: [] }));
    saveBoard(db, { version: 1, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: { ...body(), red_list: tied, red_list_more: { rank: 1, points: 2, count: 70 } } });
    let html = (await app.inject('/board/live')).body;
    expect([...html.matchAll(/<span class="rank">1<\/span>/g)].length).toBe(50);
    expect(html).toContain('<p id="red-list-more" class="more" data-count="70">另有 70 位村民同为第 1 名（各 2 分），榜上未能列出</p>');
    expect(html).not.toContain('本月还没有获得积分的村民');
    // a place left off whole after the store's maintainer is left off too: its place closes up with the rows
    addVillager(db, { id: 'chen', name: '老陈', village: 'v1', isMaintainer: true });
    saveBoard(db, { version: 2, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: { ...body(), red_list_more: { rank: 5, points: 3, count: 4 } } });
    html = (await app.inject('/board/live')).body;
    expect(html).toContain('另有 4 位村民同为第 4 名（各 3 分），榜上未能列出');
    // a board without the count shows none
    saveBoard(db, { version: 3, issuedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), body: body() });
    expect((await app.inject('/board/live')).body).not.toContain('red-list-more');
  });

  it('reranks with shared places after rows are left off', () => {
    const row = (villager: string, points: number) => ({ rank: 0, villager, name: villager, masked: false, points, items: [] });
    expect(rerank([row('a', 9), row('b', 9), row('c', 7), row('d', 7), row('e', 1)]).map((r) => r.rank)).toEqual([1, 1, 3, 3, 5]);
  });
});
