/**
 * What the admin page reads, as a fixed number of joined queries per page whatever the
 * number of villagers, sessions or lines: the page runs on the event loop that also polls the
 * scales, so no per-row query and no unbounded list.
 */
import { cachedStatement, type Db } from './db.ts';
import type { Villager } from './villagers.ts';
import { villagerFromRow } from './villagers.ts';

export interface ReceiptRow {
  id: string;
  kind: 'shopping' | 'restock';
  villager_id: string;
  villager_name: string | null;
  entered_by: string;
  opened_at: string;
  closed_at: string | null;
  total_points: number | null;
  charged_points: number | null;
  debt_points: number | null;
  balance_after: number | null;
  state_json: string;
}

/**
 * The latest settled sessions (opened before session `beforeSession` when given: a page's cursor) with the villager's name and the balance right after: the
 * redemption's own balance, or (nothing charged) the one left by the last entry before closing.
 */
export function recentReceiptRows(db: Db, limit: number, beforeSession?: string): ReceiptRow[] {
  return cachedStatement(db, 
    `SELECT s.id, s.kind, s.villager_id, v.name AS villager_name, s.entered_by, s.opened_at, s.closed_at,
            s.total_points, s.charged_points, s.debt_points, s.state_json,
            COALESCE(
              (SELECT e.balance_after FROM entries e WHERE e.id = s.entry_id),
              (SELECT e.balance_after FROM entries e WHERE e.villager_id = s.villager_id AND e.created_at <= COALESCE(s.closed_at, '9999') ORDER BY e.seq DESC LIMIT 1)
            ) AS balance_after
     FROM store_sessions s LEFT JOIN villagers v ON v.id = s.villager_id
     WHERE s.status = 'settled'${beforeSession === undefined ? '' : ' AND (s.opened_at, s.id) < (SELECT b.opened_at, b.id FROM store_sessions b WHERE b.id = @before)'}
     ORDER BY s.opened_at DESC, s.id DESC LIMIT @limit`,
  ).all(beforeSession === undefined ? { limit } : { limit, before: beforeSession }) as ReceiptRow[];
}

export interface ReceiptLineRow { session_id: string; sku: string; name: string; slot: string; count: number; points: number }
export interface ReceiptReviewRow { session_id: string; slot: string; reason: string; delta_g: number | null; detail: string | null }

/** The lines of several sessions at once, with product names (one query). */
export function linesOfSessions(db: Db, ids: readonly string[]): ReceiptLineRow[] {
  if (ids.length === 0) return [];
  return cachedStatement(db, 
    `SELECT l.session_id, l.sku, COALESCE(p.name, l.sku) AS name, l.slot, l.count, l.points
     FROM session_lines l LEFT JOIN products p ON p.sku = l.sku
     WHERE l.session_id IN (SELECT value FROM json_each(?)) ORDER BY l.session_id, l.line_no`,
  ).all(JSON.stringify(ids)) as ReceiptLineRow[];
}

/** The review lines of several sessions at once (one query). */
export function reviewOfSessions(db: Db, ids: readonly string[]): ReceiptReviewRow[] {
  if (ids.length === 0) return [];
  return cachedStatement(db, 
    `SELECT session_id, slot, reason, delta_g, detail FROM review_lines
     WHERE session_id IN (SELECT value FROM json_each(?)) ORDER BY id`,
  ).all(JSON.stringify(ids)) as ReceiptReviewRow[];
}

/** Names and prices of the given products (one query); unknown skus are absent. */
export function productNames(db: Db, skus: readonly string[]): Map<string, { name: string; price: number }> {
  if (skus.length === 0) return new Map();
  const rows = cachedStatement(db, 'SELECT sku, name, price FROM products WHERE sku IN (SELECT value FROM json_each(?))').all(JSON.stringify([...new Set(skus)])) as Array<{ sku: string; name: string; price: number }>;
  return new Map(rows.map((r) => [r.sku, { name: r.name, price: r.price }]));
}

/** Villagers' names by id, in one query whatever the number. */
export function villagerNames(db: Db, ids: readonly string[]): Map<string, string> {
  if (ids.length === 0) return new Map();
  const rows = db.prepare('SELECT id, name FROM villagers WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify([...new Set(ids)])) as Array<{ id: string; name: string }>;
  return new Map(rows.map((r) => [r.id, r.name]));
}

export interface StockRow { sku: string; name: string; price: number; active: number; slot: string | null; address: number | null; stock: number | null }

/**
 * Every product with the slots that hold it, one row per (product, slot), ordered by sku then slot;
 * `shelved`: only active products on a shelf of this store, chosen before the limit (a store knows
 * the village's whole catalogue, most of it on no shelf here).
 */
export function stockRows(db: Db, limit: number, opts: { shelved?: boolean } = {}): StockRow[] {
  const which = opts.shelved ? 'WHERE q.active = 1 AND EXISTS (SELECT 1 FROM slots h WHERE h.sku = q.sku) ' : '';
  return cachedStatement(db, 
    `SELECT p.sku, p.name, p.price, p.active, s.slot, s.address, s.stock
     FROM (SELECT * FROM products q ${which}ORDER BY q.sku LIMIT ?) p LEFT JOIN slots s ON s.sku = p.sku
     ORDER BY p.sku, s.slot`,
  ).all(limit) as StockRow[];
}

/** One page of villagers by id, and how many there are in all. */
export function villagerPage(db: Db, limit: number, offset: number): { villagers: Villager[]; total: number } {
  const rows = cachedStatement(db, 'SELECT * FROM villagers ORDER BY id LIMIT ? OFFSET ?').all(limit, offset) as Parameters<typeof villagerFromRow>[0][];
  const total = (cachedStatement(db, 'SELECT count(*) AS n FROM villagers').get() as { n: number }).n;
  return { villagers: rows.map(villagerFromRow), total };
}
