/**
 * The month statement (/statement, /statement.csv): per villager and per product, the month in
 * the store's time zone. On a ledger with purchases on both sides of a month boundary (one opened
 * before local midnight and settled after it), a purchase that added debt, a restock and a
 * refund made a month after its purchase, the totals add up and equal the month's receipts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { refundSession } from '../../edge/ledger/refunds.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const TZ = 'Asia/Shanghai'; // UTC+8: local midnight of 1 November is 2026-10-31T16:00Z
const ledger = tempLedger();
const rules = { creditFloor: 0 };
const now = new Date('2026-11-20T04:00:00Z');
const clock = () => now;
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, timeZone: TZ, clock }, pino({ level: 'silent' }));
let s: Signed;

function buy(id: string, villagerId: string, openedAt: string, closedAt: string, lines: Array<{ sku: string; slot: string; count: number }>, kind: 'shopping' | 'restock' = 'shopping'): void {
  openSession(ledger.db, { id, kind, villagerId, enteredBy: 'card', state: 'shopping', context: {} }, () => new Date(openedAt));
  settleSession(ledger.db, { sessionId: id, lines: kind === 'shopping' ? lines : [], review: [], ...(kind === 'restock' ? { stock: lines } : {}) }, rules, () => new Date(closedAt));
}

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(db, { id: 'V002', name: '李四, "老李"', village: '前进村' });
  addVillager(db, { id: 'V003', name: '张三', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 200, reason: '垃圾分类', origin: 'cli' }, rules, () => new Date('2026-10-01T00:00:00Z'));
  applyEntry(db, { id: 'e2', villagerId: 'V002', kind: 'award', points: 5, reason: '打扫', origin: 'cli' }, rules, () => new Date('2026-10-01T00:00:00Z'));
  applyEntry(db, { id: 'e3', villagerId: 'V003', kind: 'award', points: 100, reason: '打扫', origin: 'cli' }, rules, () => new Date('2026-10-01T00:00:00Z'));
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertProduct(db, { sku: 'soap', name: '洗衣皂', price: 5, unitG: 230, toleranceG: 8 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: 'oil', stock: 20 });
  upsertSlot(db, { slot: 'A2', address: 12, sku: 'soap', stock: 20 });
  // October, local 23:30 on the 31st
  buy('oct-1', 'V001', '2026-10-31T15:20:00Z', '2026-10-31T15:30:00Z', [{ sku: 'oil', slot: 'A1', count: 1 }, { sku: 'soap', slot: 'A2', count: 2 }]);
  // opened 23:50 on 31 October, settled 00:10 on 1 November local: November's
  buy('nov-1', 'V001', '2026-10-31T15:50:00Z', '2026-10-31T16:10:00Z', [{ sku: 'soap', slot: 'A2', count: 3 }]);
  // 30 due on a balance of 5: 5 charged, 25 debt
  buy('nov-2', 'V002', '2026-11-10T02:00:00Z', '2026-11-10T02:05:00Z', [{ sku: 'oil', slot: 'A1', count: 1 }]);
  buy('nov-restock', 'V003', '2026-11-11T02:00:00Z', '2026-11-11T02:30:00Z', [{ sku: 'oil', slot: 'A1', count: 4 }], 'restock');
  // local 23:59 on 30 November, and 00:05 on 1 December
  buy('nov-3', 'V003', '2026-11-30T15:50:00Z', '2026-11-30T15:59:00Z', [{ sku: 'oil', slot: 'A1', count: 2 }]);
  buy('dec-1', 'V003', '2026-11-30T16:01:00Z', '2026-11-30T16:05:00Z', [{ sku: 'soap', slot: 'A2', count: 1 }]);
  // November: 12 of October's purchase refunded
  refundSession(db, 'oct-1', { points: 12, reason: '油漏了' }, rules, () => new Date('2026-11-02T03:00:00Z'));
  s = await signedIn(app, db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

/** A CSV as rows of fields (quotes undone), after its BOM. */
function parseCsv(body: string): string[][] {
  expect(body.startsWith('\uFEFF')).toBe(true);
  const rows: string[][] = [];
  for (const line of body.slice(1).split('\r\n').filter((l) => l !== '')) {
    const fields = [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]!).slice(0, -1);
    rows.push(fields.map((f) => (f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f)));
  }
  return rows;
}

/** The month's receipts as /api/receipts lists them: purchases settled in the local month. */
async function receiptsOf(month: string): Promise<Array<{ session: string; villager: string; kind: string; total_points: number; charged_points: number; debt_points: number; lines: Array<{ sku: string; count: number; points: number }> }>> {
  const local = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit' });
  const all = (await as(s)(app, '/api/receipts?limit=100')).json().items as Array<{ kind: string; closed_at: string; session: string; villager: string; total_points: number; charged_points: number; debt_points: number; lines: Array<{ sku: string; count: number; points: number }> }>;
  return all.filter((r) => r.kind === 'shopping' && local.format(new Date(r.closed_at)) === month);
}

const num = (v: string | undefined): number => Number(v);

describe('month statement', () => {
  it('per villager: the CSV adds up, equals the month\'s receipts, and counts the refund in the month it was made', async () => {
    const res = await as(s)(app, '/statement.csv?month=2026-11&part=villagers');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers['content-disposition']).toContain('store-statement-2026-11-villagers.csv');
    const [head, ...rest] = parseCsv(res.body);
    expect(head).toEqual(['姓名 name', '村民编号 villager_id', '小票数 receipts', '实扣积分 charged', '新增欠分 debt_added', '退分 refunds', '净额 net']);
    const total = rest[rest.length - 1]!;
    const rows = rest.slice(0, -1);
    expect(total[0]).toBe('合计 total');
    expect(rows.map((r) => r[1])).toEqual(['V001', 'V002', 'V003']);
    expect(rows.find((r) => r[1] === 'V002')![0]).toBe('李四, "老李"');
    // each column's total is the sum of its rows; net = charged + debt − refunds on every row
    for (let c = 2; c <= 6; c++) expect(num(total[c])).toBe(rows.reduce((n, r) => n + num(r[c]), 0));
    for (const r of [...rows, total]) expect(num(r[6])).toBe(num(r[3]) + num(r[4]) - num(r[5]));

    const receipts = await receiptsOf('2026-11');
    expect(receipts.map((r) => r.session).sort()).toEqual(['nov-1', 'nov-2', 'nov-3']);
    expect(num(total[2])).toBe(receipts.length);
    expect(num(total[3])).toBe(receipts.reduce((n, r) => n + r.charged_points, 0));
    expect(num(total[4])).toBe(receipts.reduce((n, r) => n + r.debt_points, 0));
    expect(num(total[3]) + num(total[4])).toBe(receipts.reduce((n, r) => n + r.total_points, 0));
    for (const r of rows) {
      const mine = receipts.filter((x) => x.villager === r[1]);
      expect([num(r[2]), num(r[3]), num(r[4])]).toEqual([mine.length, mine.reduce((n, x) => n + x.charged_points, 0), mine.reduce((n, x) => n + x.debt_points, 0)]);
    }
    expect(num(rows.find((r) => r[1] === 'V002')![4])).toBeGreaterThan(0);
    // the refund of October's purchase is November's, on its villager
    expect(rows.find((r) => r[1] === 'V001')![5]).toBe('12');
    expect(total[5]).toBe('12');
  });

  it('per product: counts and points equal the month\'s receipt lines', async () => {
    const [head, ...rest] = parseCsv((await as(s)(app, '/statement.csv?month=2026-11&part=products')).body);
    expect(head).toEqual(['商品名称 name', '编码 sku', '数量 count', '积分 points']);
    const total = rest[rest.length - 1]!;
    const rows = rest.slice(0, -1);
    const lines = (await receiptsOf('2026-11')).flatMap((r) => r.lines);
    const want = new Map<string, { count: number; points: number }>();
    for (const l of lines) want.set(l.sku, { count: (want.get(l.sku)?.count ?? 0) + l.count, points: (want.get(l.sku)?.points ?? 0) + l.points });
    expect(new Map(rows.map((r) => [r[1]!, { count: num(r[2]), points: num(r[3]) }]))).toEqual(want);
    expect(rows.find((r) => r[1] === 'oil')![0]).toBe('菜籽油');
    expect(num(total[2])).toBe(lines.reduce((n, l) => n + l.count, 0));
    expect(num(total[3])).toBe(lines.reduce((n, l) => n + l.points, 0));
    expect(num(total[3])).toBe((await receiptsOf('2026-11')).reduce((n, r) => n + r.total_points, 0));
  });

  it('October holds only what was settled before its local midnight', async () => {
    const rest = parseCsv((await as(s)(app, '/statement.csv?month=2026-10')).body).slice(1);
    const oct = await receiptsOf('2026-10');
    expect(oct.map((r) => r.session)).toEqual(['oct-1']);
    expect(rest.map((r) => [r[1], r[2], r[5]])).toEqual([['V001', '1', '0'], ['', '1', '0']]);
    expect(num(rest[1]![3]) + num(rest[1]![4])).toBe(oct[0]!.total_points);
  });

  it('shows the page in Chinese (this month by default) and in English, with the same totals', async () => {
    const zh = await as(s)(app, '/statement');
    expect(zh.statusCode).toBe(200);
    expect(zh.body).toContain('月结单 2026-11');
    expect(zh.body).toContain('Asia/Shanghai');
    expect(zh.body).toContain('2026-11-01 00:00');
    expect(zh.body).toMatch(/<tr data-villager="V002"><td>李四, &quot;老李&quot;<\/td><td>V002<\/td><td>1<\/td><td>5<\/td><td>25<\/td><td>0<\/td><td>30<\/td><\/tr>/);
    expect(zh.body).toContain('href="/statement.csv?month=2026-11&amp;part=villagers"');
    const en = await as(s)(app, '/statement?month=2026-11&lang=en');
    expect(en.body).toContain('Month statement 2026-11');
    expect(en.body.match(/<tr class="total">[\s\S]*?<\/tr>/)![0]).toBe(zh.body.match(/<tr class="total">[\s\S]*?<\/tr>/)![0].replace('合计', 'Total'));
    expect((await as(s)(app, '/')).body).toContain('href="/statement"');
  });

  it('refuses a malformed month in both languages, and anyone not signed in', async () => {
    for (const month of ['2026-13', '0050-03']) { // 0050: Date.UTC would read it as 1950
      const bad = await as(s)(app, { url: `/statement.csv?month=${month}`, headers: { accept: 'application/json' } });
      expect(bad.statusCode).toBe(400);
      expect(JSON.stringify(bad.json())).toContain('月份');
      expect(JSON.stringify(bad.json())).toContain('2026-11');
    }
    // without a session: sent to the login page, nothing of the statement shown
    for (const url of ['/statement.csv?month=2026-11', '/statement']) {
      const anon = await app.inject({ url, headers: { accept: 'text/html' } });
      expect(anon.statusCode).toBe(303);
      expect(anon.headers.location).toMatch(/^\/login/);
      expect(anon.body).not.toContain('王大妈');
    }
  });
});
