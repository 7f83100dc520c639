/**
 * The month statement (月度积分对账) and the passbook's month, against the ledger's entries. A
 * village accountant at month end had no list of what each villager earned, lost, spent and had
 * adjusted in a month, nor their balance at its end: only each passbook, every line ever. Now
 * `GET …/statement?month=` (and `.csv`) lists every villager of the village, by name, and the
 * passbook takes `?month=` with the month's subtotals; both count an entry in the village month
 * (UTC+8) it was made, and for every villager opening + earned − deducted − spent + refunded +
 * adjusted = closing, closing being the sum of the villager's entries made before the next month.
 * A reversal's line and the line it undoes name each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { addLedgerEntry } from '../../cloud-sync/ledger/tables.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { signer } from './store-clock-fixture.ts';

interface Row { villager: string; name: string; status: string; opening: number; earned: number; deducted: number; spent: number; refunded: number; adjusted: number; closing: number; entries: number; late: number }
interface LineRef { seq: number; date: string; reason: string | null; points: number }
interface Line { seq: number; date: string; kind: string; reason: string; points: number; balance: number; reverses: LineRef | null; reversed_by: LineRef | null }
interface Book { opening: number; balance: number; lines: Line[]; month: (Omit<Row, 'villager' | 'name' | 'status' | 'entries' | 'late'> & { month: string }) | null }

/** The village month (UTC+8) of an ISO time. */
const monthOf = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 7);
/** A deduction's or a purchase's points as a magnitude (0, not -0). */
const neg = (n: number) => (n === 0 ? 0 : -n);

describe(`the month statement and the passbook's month reconcile with the entries (${ledgerDbKind})`, () => {
  let g: GovApp;
  let now = new Date('2026-10-15T02:00:00.000Z');
  let zhang: string;

  beforeAll(async () => {
    g = await govApp({ clock: () => now });
    zhang = await g.villager(g.a, 'zhang');
    await g.villager(g.a, 'li');
    await g.villager(g.a, 'wang');
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang`, { name: '张三' })).statusCode).toBe(200);
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/li`, { name: '李四' })).statusCode).toBe(200);
    const file = async (villager: string, body: object) => {
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { villager, ...body });
      expect(r.statusCode, r.body).toBe(201);
      return (r.json() as { id: string }).id;
    };
    const decide = async (id: string, how: 'approve' | 'reverse', body: object = {}) => {
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/${how}`, body);
      expect(r.statusCode, r.body).toBe(200);
    };
    const entry = (id: string, villager: string, kind: 'redemption' | 'refund' | 'award', points: number, at: string) =>
      addLedgerEntry(g.db, g.a, { id, villager, kind, points, reason: `${kind} ${id}`, created_at: at }, signer, new Date(at));
    // October: zhang's flood work 15, li's meeting 2 (reversed in November)
    const flood = await file('zhang', { item: 'SAF-FLOOD', points: 15, evidence: '王主任' });
    await decide(flood, 'approve');
    const meeting = await file('li', { item: 'GOV-MEETING' });
    await decide(meeting, 'approve');
    await entry('buy-oct', 'zhang', 'redemption', -4, '2026-10-20T03:00:00.000Z');
    // November: a deduction, li's October award reversed, a purchase and its part refund
    now = new Date('2026-11-05T02:00:00.000Z');
    await decide(await file('zhang', { item: 'DED-LITTER', evidence: '村委会存档照片 3 号' }), 'approve');
    now = new Date('2026-11-06T07:30:00.000Z');
    await decide(meeting, 'reverse', { reason: '当天未到会，误记' });
    await entry('buy-nov', 'zhang', 'redemption', -6, '2026-11-10T03:00:00.000Z');
    await entry('refund-nov', 'zhang', 'refund', 2, '2026-11-11T03:00:00.000Z');
    // 30 November 23:30 village time: November; 1 December 00:30 village time: December
    await entry('late-nov', 'li', 'award', 3, '2026-11-30T15:30:00.000Z');
    await entry('early-dec', 'li', 'award', 5, '2026-11-30T16:30:00.000Z');
    now = new Date('2026-12-05T04:00:00.000Z');
    // signed in again: the October session has expired by December
    const login = await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'zhang', pin: '2468' });
    expect(login.statusCode, login.body).toBe(200);
    zhang = (login.json() as { token: string }).token;
  }, 60_000);
  afterAll(async () => {
    await g?.close();
  });

  it('each villager\'s month adds up, and matches the entries counted by the month they were made', async () => {
    const entries = await g.db.query<{ villager_id: string; kind: string; points: number | string; created_at: string }>('SELECT villager_id, kind, points, created_at FROM entries WHERE village = $1', [g.a]);
    const res = await g.call(g.va, 'GET', `/api/villages/${g.a}/statement?month=2026-11`);
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json() as { village: string; village_name: string; month: string; rows: Row[]; totals: Omit<Row, 'villager' | 'name' | 'status'>; late: unknown[] };
    const vname = (await g.db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [g.a]))[0]!.name;
    expect({ village: s.village, village_name: s.village_name, month: s.month }).toEqual({ village: g.a, village_name: vname, month: '2026-11' });
    expect(s.rows.map((r) => [r.villager, r.name])).toEqual([['li', '李四'], ['wang', '村民wang'], ['zhang', '张三']]);
    for (const r of s.rows) {
      const mine = entries.filter((e) => e.villager_id === r.villager);
      const sum = (f: (e: (typeof mine)[number]) => boolean) => mine.filter(f).reduce((t, e) => t + Number(e.points), 0);
      const inNov = (kinds: string[]) => (e: (typeof mine)[number]) => monthOf(e.created_at) === '2026-11' && kinds.includes(e.kind);
      expect(r, r.villager).toEqual({
        villager: r.villager, name: r.name, status: 'active',
        opening: sum((e) => monthOf(e.created_at) < '2026-11'),
        earned: sum(inNov(['award'])), deducted: neg(sum(inNov(['penalty']))), spent: neg(sum(inNov(['redemption']))),
        refunded: sum(inNov(['refund'])), adjusted: sum(inNov(['adjustment', 'expiry'])),
        closing: sum((e) => monthOf(e.created_at) <= '2026-11'),
        entries: mine.filter((e) => monthOf(e.created_at) === '2026-11').length,
        // every entry here was made at the ledger, none came late (late-entries.test.ts)
        late: 0,
      });
      expect(r.opening + r.earned - r.deducted - r.spent + r.refunded + r.adjusted, r.villager).toBe(r.closing);
    }
    // the figures the scenario made, so that the sums above are of something
    const by = Object.fromEntries(s.rows.map((r) => [r.villager, r]));
    expect(by.zhang).toMatchObject({ opening: 11, earned: 0, deducted: 2, spent: 6, refunded: 2, adjusted: 0, closing: 5 });
    expect(by.li).toMatchObject({ opening: 2, earned: 3, adjusted: -2, closing: 3 });
    expect(by.wang).toMatchObject({ opening: 0, closing: 0, entries: 0 });
    expect(s.totals).toEqual({ opening: 13, earned: 3, deducted: 2, spent: 6, refunded: 2, adjusted: -2, closing: 8, entries: 5, late: 0 });
    expect(s.late).toEqual([]);

    // the passbook's November for each: the same subtotals, its lines those of the month
    for (const r of s.rows) {
      const book = (await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/${r.villager}/passbook?month=2026-11`)).json() as Book;
      const { villager: _v, name: _n, status: _s, entries: n, late: _l, ...figures } = r;
      expect(book.month).toMatchObject({ month: '2026-11', ...figures });
      expect(book.opening).toBe(r.opening);
      expect(book.lines.length).toBe(n);
      expect(book.lines.reduce((t, l) => t + l.points, r.opening)).toBe(r.closing);
      if (n > 0) expect(book.lines.at(-1)!.balance).toBe(r.closing);
    }
    // the villager's own, by their session
    const own = (await g.call(zhang, 'GET', `/api/villages/${g.a}/me/passbook?month=2026-11`)).json() as Book;
    expect(own.month).toMatchObject({ opening: 11, closing: 5 });
  });

  it('the CSV has Chinese headers first, the village\'s and villagers\' names, and a 合计 line', async () => {
    const res = await g.call(g.va, 'GET', `/api/villages/${g.a}/statement.csv?month=2026-11`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${g.a}-statement-2026-11.csv"`);
    const lines = res.body.replace(/^\uFEFF/, '').trim().split('\r\n').map((l) => l.split(','));
    expect(lines[0]).toEqual(['村编号 village', '村名 village name', '月份 month', '村民编号 villager', '姓名 name', '状态 status', '承前结余 opening', '奖励 earned', '扣分 deducted', '兑换 spent', '退回 refunded', '调整 adjusted', '月末结余 closing', '笔数 entries', '补录笔数 late']);
    expect(lines.find((l) => l[3] === 'zhang')).toEqual([g.a, '村', '2026-11', 'zhang', '张三', '正常 active', '11', '0', '2', '6', '2', '0', '5', '3', '0']);
    expect(lines.at(-1)).toEqual([g.a, '村', '2026-11', '合计 total', '', '', '13', '3', '2', '6', '2', '-2', '8', '5', '0']);
  });

  it('a month that is no month is refused by name in both languages; villagers and other villages read no statement', async () => {
    for (const url of [`/api/villages/${g.a}/statement?month=2026-13`, `/api/villages/${g.a}/villagers/zhang/passbook?month=11-2026`]) {
      const r = await g.call(g.va, 'GET', url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json()).toMatchObject({ field: 'month', zh: expect.stringContaining('月份格式') as unknown, message: expect.stringContaining('YYYY-MM') as unknown });
    }
    expect((await g.call(zhang, 'GET', `/api/villages/${g.a}/statement?month=2026-11`)).statusCode).toBe(403);
    expect((await g.call(g.vb, 'GET', `/api/villages/${g.a}/statement?month=2026-11`)).statusCode).toBe(404);
    expect((await g.call(g.town, 'GET', `/api/villages/${g.a}/statement?month=2026-11`)).statusCode).toBe(200);
    // no month: this month's (December, with li's early award)
    const dec = (await g.call(g.va, 'GET', `/api/villages/${g.a}/statement`)).json() as { month: string; totals: Row };
    expect(dec).toMatchObject({ month: '2026-12', totals: { opening: 8, earned: 5, closing: 13 } });
  });

  it('a reversal\'s line names the line it undoes, with its date and reason, and that line names the reversal', async () => {
    const book = (await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/li/passbook`)).json() as Book;
    const award = book.lines.find((l) => l.kind === '奖励' && l.reason.startsWith('参加村民会议'))!;
    const reversal = book.lines.find((l) => l.kind === '调整')!;
    expect(reversal.reverses).toEqual({ seq: award.seq, date: award.date, reason: award.reason, points: 2 });
    expect(award.reversed_by).toEqual({ seq: reversal.seq, date: reversal.date, reason: reversal.reason, points: -2 });
    expect(book.lines.filter((l) => l !== award && l !== reversal).every((l) => l.reverses === null && l.reversed_by === null)).toBe(true);
  });
});
