/**
 * The village ledger's side of the daily reconciliation: its totals, per villager, for one
 * store's entries made in [from, to) (entries.origin_store, by the store's created_at; none of 0
 * points: a deduction at a store's floor, sent as an entry row of 0 points, is a debt only here,
 * never an entry, and the store leaves its own out too, edge/ledger/ops-queries.ts) and the
 * store's settled sessions closed in that window (the `session` rows it acknowledged). The
 * store compares them with its own (edge/jobs/reconcile.ts) and raises an alarm naming the
 * villagers whose totals differ.
 */
import type { SqlDb } from './sql.ts';
import type { VillagerTotals } from '../protocol/ops.ts';

/** Session rows arrive after they closed (a store offline for days); they cannot arrive before. */
const SESSION_SCAN_SLACK_MS = 3_600_000;

/**
 * The longest window answered (the store's `jobs.reconcile.window_hours` is at most 48), and how
 * far back it may begin. Requests are unsigned and each answer reads every session row the store
 * sent since `from`: a forged `{from: 2000-…}` would read all of them. A store whose oldest
 * unacknowledged row is older than that has rows on their way, which cannot match anyway.
 */
export const RECONCILE_MAX_WINDOW_MS = 2 * 86_400_000;
export const RECONCILE_MAX_AGE_MS = 7 * 86_400_000;

/** Whether the ledger answers a request for `[from, to)` at `nowMs` (`skewMs`: how far ahead a store's clock may be). */
export function reconcileWindowOk(from: string, to: string, nowMs: number, skewMs: number): boolean {
  const f = Date.parse(from);
  const t = Date.parse(to);
  return f < t && t - f <= RECONCILE_MAX_WINDOW_MS && f >= nowMs - RECONCILE_MAX_AGE_MS && t <= nowMs + skewMs;
}

export async function ledgerTotals(db: SqlDb, village: string, store: string, from: string, to: string): Promise<VillagerTotals[]> {
  const byVillager = new Map<string, VillagerTotals>();
  const get = (v: string): VillagerTotals => {
    let t = byVillager.get(v);
    if (!t) byVillager.set(v, (t = { villager: v, entries: 0, points: 0, redeemed: 0, sessions: 0 }));
    return t;
  };
  const entries = await db.query<{ villager_id: string; n: number | string; points: number | string | null; redeemed: number | string | null }>(
    `SELECT villager_id, COUNT(*) AS n, SUM(points) AS points, SUM(CASE WHEN kind = 'redemption' THEN -points ELSE 0 END) AS redeemed
     FROM entries WHERE village = $1 AND origin_store = $2 AND points <> 0 AND created_at >= $3 AND created_at < $4 GROUP BY villager_id`,
    [village, store, from, to],
  );
  for (const e of entries) {
    const t = get(e.villager_id);
    t.entries = Number(e.n);
    t.points = Number(e.points ?? 0);
    t.redeemed = Number(e.redeemed ?? 0);
  }
  const scanFrom = new Date(Date.parse(from) - SESSION_SCAN_SLACK_MS).toISOString();
  const sessions = await db.query<{ payload: string }>(
    "SELECT payload FROM acked_ids WHERE village = $1 AND store = $2 AND topic = 'session' AND received_at >= $3",
    [village, store, scanFrom],
  );
  // A session resent under a new row id (rows moved by the store after a rollback) is one
  // session: count session ids, as entries are counted by entry id.
  const seen = new Set<string>();
  for (const s of sessions) {
    let p: { id?: unknown; villager?: unknown; closed_at?: unknown; cancelled?: unknown };
    try {
      p = JSON.parse(s.payload) as typeof p;
    } catch {
      continue;
    }
    if (p.cancelled !== undefined || typeof p.villager !== 'string' || typeof p.closed_at !== 'string') continue;
    if (p.closed_at < from || p.closed_at >= to) continue;
    if (typeof p.id === 'string') {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
    }
    get(p.villager).sessions++;
  }
  return [...byVillager.values()].sort((a, b) => (a.villager < b.villager ? -1 : a.villager > b.villager ? 1 : 0));
}
