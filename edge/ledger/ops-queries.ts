/** Small reads for the operations views (/readyz, doctor). */
import Database from 'better-sqlite3';
import type { Db } from './db.ts';

/** A trivial read: the ledger file is open and answers. */
export function pingLedger(db: Db): void {
  db.prepare('SELECT 1').get();
}

/** The newest time the ledger has written (entries, door decisions, job runs), ISO; null when empty. */
export function newestLedgerTime(db: Db): string | null {
  const r = db.prepare(`SELECT max(t) AS t FROM (
    SELECT max(created_at) AS t FROM entries UNION ALL SELECT max(at) FROM entry_events UNION ALL SELECT max(last_finished_at) FROM job_runs)`).get() as { t: string | null };
  return r.t;
}

/** The ledger's schema version (PRAGMA user_version). */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Rows waiting for the village ledger's acknowledgement, and when the oldest was written. */
export function outboxBacklog(db: Db): { pending: number; oldest: string | null } {
  return db.prepare('SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE acked_at IS NULL').get() as { pending: number; oldest: string | null };
}

/** When the store was last in use: the newest session's opening or closing (ISO), null when none. */
export function lastSessionActivity(db: Db): string | null {
  return db.prepare("SELECT MAX(MAX(opened_at), COALESCE(MAX(closed_at), '')) FROM store_sessions").pluck().get() as string | null;
}

/** Stock per slot, as the ledger counts it. */
export function slotStocks(db: Db): Map<string, number> {
  return new Map((db.prepare('SELECT slot, stock FROM slots').all() as { slot: string; stock: number }[]).map((r) => [r.slot, r.stock]));
}

/** One villager's totals for a window (the reconciliation with the village ledger). */
export interface VillagerWindowTotals { villager: string; entries: number; points: number; redeemed: number; sessions: number }

/**
 * The store's own totals per villager over [from, to): entries it made (origin other than
 * `ledger`) of points other than 0, their net points, points redeemed, settled sessions. One of
 * 0 points (a deduction at the credit floor) goes to the outbox too, but the village ledger
 * records only its debt, no entry (cloud-sync/ledger/floor-debts.ts), so neither side counts it.
 */
export function storeWindowTotals(db: Db, from: string, to: string): VillagerWindowTotals[] {
  const by = new Map<string, VillagerWindowTotals>();
  const get = (v: string): VillagerWindowTotals => {
    let t = by.get(v);
    if (!t) by.set(v, (t = { villager: v, entries: 0, points: 0, redeemed: 0, sessions: 0 }));
    return t;
  };
  const entries = db.prepare(`SELECT villager_id, COUNT(*) AS n, SUM(points) AS points, SUM(CASE WHEN kind = 'redemption' THEN -points ELSE 0 END) AS redeemed
    FROM entries WHERE origin <> 'ledger' AND points <> 0 AND created_at >= ? AND created_at < ? GROUP BY villager_id`).all(from, to) as { villager_id: string; n: number; points: number; redeemed: number }[];
  for (const e of entries) Object.assign(get(e.villager_id), { entries: e.n, points: e.points, redeemed: e.redeemed });
  const sessions = db.prepare("SELECT villager_id, COUNT(*) AS n FROM store_sessions WHERE status = 'settled' AND closed_at >= ? AND closed_at < ? GROUP BY villager_id").all(from, to) as { villager_id: string; n: number }[];
  for (const s of sessions) get(s.villager_id).sessions = s.n;
  return [...by.values()].sort((a, b) => (a.villager < b.villager ? -1 : a.villager > b.villager ? 1 : 0));
}

/**
 * Bytes an SQLite database file holds, WAL included (page_count × page_size through a read-only
 * connection; the file's size lags behind, since a WAL is reused and the file grows only at
 * checkpoints). Any SQLite file: the soak measures the village ledger's too.
 */
export function databaseBytes(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  } finally {
    db.close();
  }
}
