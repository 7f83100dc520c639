/**
 * The town roll-up (镇街汇总): points issued and redeemed per village and month, the most-used
 * rule items, participation (villagers with at least one award in the period, of the
 * villagers registered), and the stores' sales by product, from the sessions the stores sync.
 * Months are village months (UTC+8), `YYYY-MM`; a period is whole months, both ends included.
 * An entry counts in the month it was made; one received after that month ended (补录: a store
 * offline over the month's end, ./late.ts) is counted there too, and a month says how many of its
 * entries came late and their points (`late_entries`, `late_points`): figures of a month already
 * closed that changed.
 */
import type { SqlDb } from '../sql.ts';
import { fieldError } from './rules.ts';
import { DEFAULT_SKEW_MS } from '../../protocol/clock.ts';
import { madeAtSql, storeTime } from '../store-time.ts';
import { lateFlagSql, monthSql } from './late.ts';

export interface Period { from: string; to: string }
export interface MonthRow { village: string; village_name: string; month: string; issued: number; other_awards: number; deducted: number; redeemed: number; refunded: number; adjusted: number; awards: number; villagers_awarded: number; late_entries: number; late_points: number }
export interface ItemRow { village: string; village_name: string; scope: string; code: string; name: string; direction: string; approvals: number; points: number }
export interface ParticipationRow { village: string; name: string; villagers: number; awarded: number; rate: number }
export interface SalesRow { village: string; village_name: string; sku: string; name: string; count: number; points: number; sessions: number }
export interface Rollup { period: Period; villages: string[]; months: MonthRow[]; items: ItemRow[]; participation: ParticipationRow[]; sales: SalesRow[] }

// from year 1000: the months are compared and counted as four-digit text
export const MONTH = /^([1-9]\d{3})-(0[1-9]|1[0-2])$/;
const UTC8 = 8 * 3_600_000;

/** The village month of an instant. */
export const monthOf = (d: Date): string => new Date(d.getTime() + UTC8).toISOString().slice(0, 7);
/** The first instant of a village month, as an ISO string in UTC. */
export const monthStart = (m: string): string => new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)) - 1, 1) - UTC8).toISOString();
export const nextMonth = (m: string): string => {
  const y = Number(m.slice(0, 4));
  const mo = Number(m.slice(5, 7));
  return mo === 12 ? `${String(y + 1).padStart(4, '0')}-01` : `${String(y).padStart(4, '0')}-${String(mo + 1).padStart(2, '0')}`;
};

/** `from`/`to` as given (checked), else the last twelve months up to this one. */
export function periodOf(q: { from?: string | undefined; to?: string | undefined }, now: Date): Period {
  for (const f of ['from', 'to'] as const) {
    const v = q[f];
    if (v !== undefined && !MONTH.test(v)) throw fieldError(f, `${f} must be a month YYYY-MM (year 1000 or later)`, `${f === 'from' ? '起始月份' : '截止月份'}格式应为 YYYY-MM（年份不早于 1000）`);
  }
  const to = q.to ?? monthOf(now);
  let from = q.from;
  if (!from) {
    const d = new Date(Date.UTC(Number(to.slice(0, 4)), Number(to.slice(5, 7)) - 12, 1));
    from = d.toISOString().slice(0, 7);
  }
  if (from > to) throw fieldError('from', 'from is after to', '起始月份晚于截止月份');
  const months = (Number(to.slice(0, 4)) - Number(from.slice(0, 4))) * 12 + Number(to.slice(5, 7)) - Number(from.slice(5, 7)) + 1;
  if (months > 120) throw fieldError('from', 'a period is at most 120 months', '统计区间最长 120 个月');
  return { from, to };
}

const placeholders = (n: number, from: number) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

export type RollupTable = 'months' | 'items' | 'participation' | 'sales';
const ALL: readonly RollupTable[] = ['months', 'items', 'participation', 'sales'];

/** The roll-up of `villages` over `period`; `only` computes just those tables (a CSV needs one), the others come back empty. */
export async function rollup(db: SqlDb, villages: string[], period: Period, only: readonly RollupTable[] = ALL): Promise<Rollup> {
  const empty: Rollup = { period, villages, months: [], items: [], participation: [], sales: [] };
  if (villages.length === 0) return empty;
  const lo = monthStart(period.from);
  const hi = monthStart(nextMonth(period.to));
  const vs = placeholders(villages.length, 3);
  const made = madeAtSql(db, '');
  const m = monthSql(db, made);
  const late = lateFlagSql(db, '');

  const want = new Set(only);
  // `issued` is the points for deeds: awards made by approving a claim (a rule item, a task), as
  // the public board counts them; an award with no claim (opening points, 开户积分, a manual award)
  // is `other_awards`, so the month still adds up to the change of the balances. A reversed
  // claim's award stays in `issued` and its reversal is in `adjusted` (the board leaves both out).
  const months = !want.has('months') ? [] : await db.query<Record<string, string | number>>(`
    SELECT village, ${m} AS month,
      SUM(CASE WHEN kind = 'award' AND d.entry_id IS NOT NULL THEN points ELSE 0 END) AS issued,
      SUM(CASE WHEN kind = 'award' AND d.entry_id IS NULL THEN points ELSE 0 END) AS other_awards,
      SUM(CASE WHEN kind = 'penalty' THEN -points ELSE 0 END) AS deducted,
      SUM(CASE WHEN kind = 'redemption' THEN -points ELSE 0 END) AS redeemed,
      SUM(CASE WHEN kind = 'refund' THEN points ELSE 0 END) AS refunded,
      SUM(CASE WHEN kind = 'adjustment' THEN points ELSE 0 END) AS adjusted,
      SUM(CASE WHEN kind = 'award' AND d.entry_id IS NOT NULL THEN 1 ELSE 0 END) AS awards,
      COUNT(DISTINCT CASE WHEN kind = 'award' AND d.entry_id IS NOT NULL THEN villager_id END) AS villagers_awarded,
      SUM(${late}) AS late_entries, SUM(${late} * points) AS late_points
    FROM entries LEFT JOIN (SELECT DISTINCT entry_id FROM gov_claims WHERE entry_id IS NOT NULL AND village IN (${vs})) d ON d.entry_id = entries.id
    WHERE ${made} >= $1 AND ${made} < $2 AND village IN (${vs})
    GROUP BY village, ${m} ORDER BY village, month`, [lo, hi, ...villages]);

  // Approved (not reversed) claims by the item they were rated under and the sign each was filed
  // under (schema v22: an item edited from add to deduct leaves its earlier awards awards, a row
  // of their own); names from the latest version. Every (village, item, direction) row: the table
  // is the town's record, and /town adds it up per item for its chart. It is bounded by villages ×
  // items in use, a few thousand rows for a large town.
  const items = !want.has('items') ? [] : await db.query<Record<string, string | number>>(`
    SELECT c.village, c.item_scope AS scope, c.item_code AS code, COALESCE(c.direction, iv.direction) AS direction, COUNT(*) AS approvals, SUM(c.points) AS points,
      (SELECT i.name FROM gov_items i WHERE i.scope = c.item_scope AND i.code = c.item_code ORDER BY i.version DESC LIMIT 1) AS name
    FROM gov_claims c LEFT JOIN gov_items iv ON iv.scope = c.item_scope AND iv.code = c.item_code AND iv.version = c.item_version
    WHERE c.status = 'approved' AND c.decided_at >= $1 AND c.decided_at < $2 AND c.village IN (${vs})
    GROUP BY c.village, c.item_scope, c.item_code, COALESCE(c.direction, iv.direction) ORDER BY approvals DESC, points DESC, code, c.village, c.item_scope, direction`, [lo, hi, ...villages]);

  // Participation as the public board counts it (board/compute.ts): villagers, not those who
  // left nor staff (board_villagers.staff), with at least one approved claim that added points
  // (a deed from the item library or a task, not reversed) decided in the period. Opening points,
  // refunds and other awards with no claim are not participation.
  const participation = !want.has('participation') ? [] : await db.query<Record<string, string | number>>(`
    SELECT v.id AS village, v.name,
      (SELECT COUNT(*) FROM villagers p LEFT JOIN board_villagers b ON b.villager_id = p.id WHERE p.village = v.id AND p.status <> 'left' AND COALESCE(b.staff, 0) = 0) AS villagers,
      (SELECT COUNT(DISTINCT c.villager_id) FROM gov_claims c JOIN entries e ON e.id = c.entry_id JOIN villagers p ON p.id = c.villager_id LEFT JOIN board_villagers b ON b.villager_id = c.villager_id
        WHERE c.village = v.id AND c.status = 'approved' AND e.points > 0 AND c.decided_at >= $1 AND c.decided_at < $2 AND p.status <> 'left' AND COALESCE(b.staff, 0) = 0) AS awarded
    FROM villages v WHERE v.id IN (${vs}) ORDER BY v.id`, [lo, hi, ...villages]);
  const names = new Map((await db.query<{ id: string; name: string }>(`SELECT id, name FROM villages WHERE id IN (${placeholders(villages.length, 1)})`, villages)).map((v) => [v.id, v.name]));
  const nameOf = (v: unknown): string => names.get(String(v)) ?? String(v);

  return {
    period, villages,
    months: months.map((r) => ({
      village: String(r.village), village_name: nameOf(r.village), month: String(r.month), issued: Number(r.issued), other_awards: Number(r.other_awards), deducted: Number(r.deducted), redeemed: Number(r.redeemed),
      refunded: Number(r.refunded), adjusted: Number(r.adjusted), awards: Number(r.awards), villagers_awarded: Number(r.villagers_awarded),
      late_entries: Number(r.late_entries), late_points: Number(r.late_points),
    })),
    items: items.map((r) => ({ village: String(r.village), village_name: nameOf(r.village), scope: r.scope === '*' ? 'town' : 'village', code: String(r.code), name: String(r.name ?? r.code), direction: String(r.direction ?? 'add'), approvals: Number(r.approvals), points: Number(r.points) })),
    participation: participation.map((r) => {
      const n = Number(r.villagers);
      const a = Number(r.awarded);
      return { village: String(r.village), name: String(r.name), villagers: n, awarded: a, rate: n === 0 ? 0 : Math.round((a / n) * 10_000) / 10_000 };
    }),
    sales: want.has('sales') ? (await sales(db, villages, lo, hi)).map((r) => ({ ...r, village_name: nameOf(r.village) })) : [],
  };
}

const PARSE_BATCH = 500;
interface SessionPayload { kind?: unknown; closed_at?: unknown; cancelled?: unknown; lines?: unknown }
interface ProductPayload { sku?: unknown; name?: unknown }

/**
 * Sales by product from the `session` rows the stores synced (each settled session lists its
 * lines: sku, count, points) and product names, the latest of the village's catalogue and their `product` rows. Parsed here rather
 * than in SQL: the two databases' JSON functions differ, and a row a store sent malformed is
 * skipped, not an error of the whole roll-up. A town-year is 10,000 sessions, half a second of
 * parsing on a loaded machine: it yields to the event loop every PARSE_BATCH rows, so on
 * PostgreSQL (where this runs on the ledger's own thread) MQTT and the pages are not held.
 */
async function sales(db: SqlDb, villages: string[], lo: string, hi: string): Promise<Omit<SalesRow, 'village_name'>[]> {
  const vs = placeholders(villages.length, 1);
  // A product's latest name, by time, as the stores apply them (applyCatalogue): the village's
  // catalogue (a store that got it by snapshot sends no product row of it) as of its last
  // publishing, and what the stores sent (a store's own products and its changes) as of when the
  // store made it (acked_ids.created_at: a rename made offline counts from then, not from its
  // late arrival; a stamp beyond the clock skew and a row held before schema v15 count from
  // receipt); a store's row stands over the catalogue unless the village published after it.
  const names = new Map<string, { name: string; at: number }>();
  for (const p of await db.query<{ village: string; sku: string; name: string; updated_at: string }>(`SELECT village, sku, name, updated_at FROM products WHERE village IN (${vs})`, villages)) {
    names.set(`${p.village}\u0000${p.sku}`, { name: p.name, at: Date.parse(p.updated_at) });
  }
  const products = (await db.query<{ village: string; payload: string; made_at: string }>(`SELECT village, payload, COALESCE(created_at, received_at) AS made_at FROM acked_ids WHERE topic = 'product' AND village IN (${vs}) ORDER BY received_at, seq`, villages))
    .map((p) => ({ ...p, at: Date.parse(p.made_at) }))
    // by time made; equal times in their order of receipt (the sort is stable)
    .sort((a, b) => a.at - b.at);
  for (const p of products) {
    const body = parse<ProductPayload>(p.payload);
    if (typeof body?.sku !== 'string' || typeof body.name !== 'string') continue;
    const key = `${p.village}\u0000${body.sku}`;
    const known = names.get(key);
    if (known === undefined || !(p.at < known.at)) names.set(key, { name: body.name, at: p.at });
  }
  const out = new Map<string, Omit<SalesRow, 'village_name'>>();
  const rows = await db.query<{ village: string; payload: string; received_at: string }>(`SELECT village, payload, received_at FROM acked_ids WHERE topic = 'session' AND village IN (${vs})`, villages);
  let n = 0;
  for (const r of rows) {
    if (++n % PARSE_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const s = parse<SessionPayload>(r.payload);
    if (!s || s.kind !== 'shopping' || s.cancelled !== undefined || typeof s.closed_at !== 'string' || !Array.isArray(s.lines)) continue;
    if (Number.isNaN(Date.parse(s.closed_at))) continue;
    // closed by the store's clock, but not beyond its receipt plus the skew (as madeAtSql)
    const closed = new Date(storeTime(new Date(s.closed_at).toISOString(), new Date(r.received_at), DEFAULT_SKEW_MS));
    if (closed.toISOString() < lo || closed.toISOString() >= hi) continue;
    const seen = new Set<string>();
    for (const l of s.lines as { sku?: unknown; count?: unknown; points?: unknown }[]) {
      if (typeof l?.sku !== 'string' || typeof l.count !== 'number' || typeof l.points !== 'number' || l.count <= 0) continue;
      const key = `${r.village}\u0000${l.sku}`;
      const row = out.get(key) ?? { village: r.village, sku: l.sku, name: names.get(key)?.name ?? l.sku, count: 0, points: 0, sessions: 0 };
      row.count += l.count;
      row.points += l.points;
      if (!seen.has(key)) row.sessions++;
      seen.add(key);
      out.set(key, row);
    }
  }
  return [...out.values()].sort((a, b) => b.points - a.points || b.count - a.count || a.sku.localeCompare(b.sku));
}

function parse<T>(text: string): T | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/** All villages, for the town. */
export async function allVillages(db: SqlDb): Promise<string[]> {
  return (await db.query<{ id: string }>('SELECT id FROM villages ORDER BY id')).map((r) => r.id);
}
