/**
 * The month statement (月度积分对账): for one village and one village month (UTC+8), each
 * villager's balance brought forward (承前结余), what they earned (奖励), lost (扣分), spent at the
 * store (兑换), got back (退回), had adjusted (调整: reversals, expiry) and their balance at the
 * month's end (月末结余), as JSON and as CSV, for the village's staff at month end.
 *
 * An entry counts in the month it was made, by the time the passbook shows (a store's stamp, but
 * not beyond the ledger's receipt plus the allowed skew: ../store-time.ts), so the statement and
 * the passbook's month (villager-routes.ts) agree, and for every villager
 * opening + earned − deducted − spent + refunded + adjusted = closing, closing being the sum of
 * every entry made before the next month began.
 *
 * A store offline for days sends its rows when it is back: an entry made in the month but received
 * after it ended (补录, ./late.ts) still counts in it, so a month already closed shows new figures.
 * The statement says so: each villager's count of them (`late`), and the entries themselves listed
 * apart (`late`: both times, made and received, and the store), in the CSV too, below the total.
 */
import { stringify } from 'csv-stringify/sync';
import { Type } from '@fastify/type-provider-typebox';
import type { SqlDb } from '../sql.ts';
import { madeAtSql } from '../store-time.ts';
import { lateEntries, lateFlagSql, type LateEntry } from './late.ts';
import { fieldError } from './rules.ts';
import { MONTH, monthOf, monthStart, nextMonth } from './rollup.ts';
import { csvReply } from './rollup-routes.ts';
import { gate, VillageParams, type GovApp, type GovDeps } from './access.ts';

export interface StatementRow { villager: string; name: string; status: string; opening: number; earned: number; deducted: number; spent: number; refunded: number; adjusted: number; closing: number; entries: number; late: number }
export interface Statement { village: string; village_name: string; month: string; from: string; to: string; rows: StatementRow[]; totals: Omit<StatementRow, 'villager' | 'name' | 'status'>; late: LateEntry[] }

/** The first instant of village month `m` and of the month after it, as ISO strings in UTC (the roll-up's months); `m` checked first (400 on `month`). */
export function monthBounds(m: string): { from: string; to: string } {
  if (!MONTH.test(m)) throw fieldError('month', `month must be a month YYYY-MM (year 1000 or later), not ${JSON.stringify(m)}`, `月份格式应为 YYYY-MM（如 2026-12），收到的是 ${JSON.stringify(m)}`);
  return { from: monthStart(m), to: monthStart(nextMonth(m)) };
}

const SUMS = ['opening', 'earned', 'deducted', 'spent', 'refunded', 'adjusted', 'closing', 'entries', 'late'] as const;

/** Every villager of `village` (any status, by id) with their month; a village with no such id is 404 on `village`. */
export async function monthStatement(db: SqlDb, village: string, month: string): Promise<Statement> {
  const { from, to } = monthBounds(month);
  const v = (await db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [village]))[0];
  if (!v) throw fieldError('village', `no village ${village}`, `找不到村 ${village}`, 404);
  const made = madeAtSql(db, 'e.');
  const inMonth = (kind: string) => `SUM(CASE WHEN ${made} >= $2 AND e.kind ${kind} THEN e.points ELSE 0 END)`;
  const rows = await db.query<Record<string, string | number>>(`
    SELECT p.id, p.name, p.status,
      SUM(CASE WHEN ${made} < $2 THEN e.points ELSE 0 END) AS opening,
      ${inMonth("= 'award'")} AS earned,
      ${inMonth("= 'penalty'")} AS deducted,
      ${inMonth("= 'redemption'")} AS spent,
      ${inMonth("= 'refund'")} AS refunded,
      ${inMonth("IN ('adjustment', 'expiry')")} AS adjusted,
      SUM(CASE WHEN e.points IS NULL THEN 0 ELSE e.points END) AS closing,
      SUM(CASE WHEN ${made} >= $2 THEN 1 ELSE 0 END) AS entries,
      SUM(CASE WHEN ${made} >= $2 THEN ${lateFlagSql(db, 'e.')} ELSE 0 END) AS late
    FROM villagers p LEFT JOIN entries e ON e.villager_id = p.id AND e.village = p.village AND ${made} < $3
    WHERE p.village = $1 GROUP BY p.id, p.name, p.status ORDER BY p.id`, [village, from, to]);
  const out: StatementRow[] = rows.map((r) => ({
    villager: String(r.id), name: String(r.name), status: String(r.status),
    opening: Number(r.opening ?? 0), earned: Number(r.earned ?? 0), deducted: -Number(r.deducted ?? 0), spent: -Number(r.spent ?? 0),
    refunded: Number(r.refunded ?? 0), adjusted: Number(r.adjusted ?? 0), closing: Number(r.closing ?? 0), entries: Number(r.entries ?? 0), late: Number(r.late ?? 0),
  }));
  const totals = Object.fromEntries(SUMS.map((k) => [k, out.reduce((s, r) => s + r[k], 0)])) as Statement['totals'];
  return { village, village_name: v.name, month, from, to, rows: out, totals, late: await lateEntries(db, village, from, to) };
}

const STATUS_ZH: Record<string, string> = { active: '正常', blocked: '停用', left: '已离村' };
/** Chinese first, then English, as the roll-up's CSV. */
const COLUMNS: [keyof StatementRow, string][] = [
  ['villager', '村民编号 villager'], ['name', '姓名 name'], ['status', '状态 status'], ['opening', '承前结余 opening'], ['earned', '奖励 earned'],
  ['deducted', '扣分 deducted'], ['spent', '兑换 spent'], ['refunded', '退回 refunded'], ['adjusted', '调整 adjusted'], ['closing', '月末结余 closing'], ['entries', '笔数 entries'], ['late', '补录笔数 late'],
];

const KIND_ZH: Record<string, string> = { award: '奖励', penalty: '扣分', redemption: '兑换', refund: '退回', adjustment: '调整', expiry: '过期' };

/**
 * The statement as CSV (UTF-8 with a BOM for Excel, formulas escaped): the village and month on
 * every line, then a 合计 line; then, when the month has late entries, an empty line and the late
 * entries (补录明细) under their own header, each with its time made and its time received.
 */
export function statementCsv(s: Statement): string {
  const head = ['村编号 village', '村名 village name', '月份 month', ...COLUMNS.map(([, h]) => h)];
  const line = (r: Record<string, unknown>) => [s.village, s.village_name, s.month, ...COLUMNS.map(([k]) => (k === 'status' ? `${STATUS_ZH[String(r.status)] ?? r.status} ${r.status}` : r[k]))];
  const total = [s.village, s.village_name, s.month, '合计 total', '', '', ...COLUMNS.slice(3).map(([k]) => s.totals[k as keyof Statement['totals']])];
  const late = s.late.length === 0 ? [] : [[],
    ['补录明细 late entries', '村民编号 villager', '姓名 name', '类别 kind', '积分 points', '门店 store', '记账时间 made at', '村账本收到时间 received at', '记录编号 entry'],
    ...s.late.map((l) => ['补录 late', l.villager, l.name, `${KIND_ZH[l.kind] ?? l.kind} ${l.kind}`, l.points, l.store, l.made_at, l.received_at, l.id])];
  return `\uFEFF${stringify([head, ...s.rows.map((r) => line(r as unknown as Record<string, unknown>)), total, ...late], { record_delimiter: 'windows', escape_formulas: true })}`;
}

export function registerStatementRoutes(app: GovApp, deps: GovDeps): void {
  const Query = Type.Object({ month: Type.Optional(Type.String({ maxLength: 16 })) });
  const asked = (q: { month?: string | undefined }): string => q.month ?? monthOf(deps.clock());
  // The village's staff, and the town, read it (the villagers' own months are on their passbooks).
  app.get('/api/villages/:village/statement', { schema: { params: VillageParams, querystring: Query } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return monthStatement(deps.db, req.params.village, asked(req.query));
  });
  app.get('/api/villages/:village/statement.csv', { schema: { params: VillageParams, querystring: Query } }, async (req, reply) => {
    gate(deps, req, req.params.village, 'read');
    const s = await monthStatement(deps.db, req.params.village, asked(req.query));
    return csvReply(reply, statementCsv(s), `${s.village}-statement-${s.month}.csv`);
  });
}
