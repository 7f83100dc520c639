/**
 * What the admin page shows about the door and the till, shaped for the page from the
 * ledger's joined queries (edge/ledger/admin-views.ts, edge/ledger/entry-events.ts): a fixed
 * number of queries per request whatever the number of rows, and every list limited.
 */
import type { Db } from '../ledger/db.ts';
import { recentEntryEventRows } from '../ledger/entry-events.ts';
import { getVillager } from '../ledger/villagers.ts';
import { linesOfSessions, productNames, recentReceiptRows, reviewOfSessions, stockRows } from '../ledger/admin-views.ts';
import { outboxAckedAt } from '../ledger/outbox.ts';
import type { SyncState } from '../../cloud-sync/agent/agent.ts';
import { detailSkus, reviewDetail } from './review-detail.ts';

export interface EntryEventView {
  id: number;
  at: string;
  decision: string;
  by: string;
  villager: string | null;
  villager_name: string | null;
  unlocked: boolean;
  detail: Record<string, unknown>;
}

function parseDetail(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return { raw: text };
  }
}

/** The door's latest decisions (older than event `beforeId` when given), newest first. */
export function recentEntryEvents(db: Db, limit: number, beforeId?: number): EntryEventView[] {
  return recentEntryEventRows(db, limit, beforeId).map((r) => {
    const { unlocked, ...rest } = parseDetail(r.detail);
    return { id: r.id, at: r.at, decision: r.decision, by: r.by, villager: r.villager_id, villager_name: r.villager_name, unlocked: unlocked === true, detail: rest };
  });
}

export interface ReceiptView {
  session: string;
  kind: 'shopping' | 'restock';
  villager: string;
  villager_name: string;
  entered_by: string;
  opened_at: string;
  closed_at: string | null;
  total_points: number;
  charged_points: number;
  debt_points: number;
  /** Balance right after this settlement (null when the villager has no entries at all). */
  balance_after: number | null;
  lines: Array<{ sku: string; name: string; slot: string; count: number; points: number }>;
  /** `detail` as the session engine kept it (English, skus); `detail_zh` / `detail_en` in words with product names (./review-detail.ts). */
  review: Array<{ slot: string; reason: string; delta_g: number | null; detail: string | null; detail_zh: string | null; detail_en: string | null }>;
  /** A restock: items put on (positive) or taken off each slot, as the session engine settled them. */
  stock: Array<{ sku: string; name: string; slot: string; count: number }>;
}

/** The stock moves a settled restock keeps in its context (edge/session/engine.ts settle()); anything else is ignored. */
function restockMoves(context: unknown): Array<{ sku: string; slot: string; count: number }> {
  const stock = (context as { stock?: unknown } | null)?.stock;
  if (!Array.isArray(stock)) return [];
  return stock.filter((m): m is { sku: string; slot: string; count: number } => typeof m?.sku === 'string' && typeof m?.slot === 'string' && Number.isSafeInteger(m?.count));
}

/** Settled sessions (purchases and restocks; opened before session `before` when given), newest first, with their lines and review lines. */
export function recentReceipts(db: Db, limit: number, before?: string): ReceiptView[] {
  const rows = recentReceiptRows(db, limit, before);
  const ids = rows.map((r) => r.id);
  const lines = groupBy(linesOfSessions(db, ids), (l) => l.session_id);
  const review = groupBy(reviewOfSessions(db, ids), (r) => r.session_id);
  const moves = new Map(rows.map((r) => [r.id, r.kind === 'restock' ? restockMoves(parseJson(r.state_json)) : []]));
  const names = productNames(db, [...[...moves.values()].flat().map((m) => m.sku), ...[...review.values()].flat().flatMap((r) => detailSkus(r.detail))]);
  return rows.map((s) => ({
    session: s.id,
    kind: s.kind,
    villager: s.villager_id,
    villager_name: s.villager_name ?? s.villager_id,
    entered_by: s.entered_by,
    opened_at: s.opened_at,
    closed_at: s.closed_at,
    total_points: s.total_points ?? 0,
    charged_points: s.charged_points ?? 0,
    debt_points: s.debt_points ?? 0,
    balance_after: s.balance_after,
    lines: (lines.get(s.id) ?? []).map((l) => ({ sku: l.sku, name: l.name, slot: l.slot, count: l.count, points: l.points })),
    review: (review.get(s.id) ?? []).map((r) => ({ slot: r.slot, reason: r.reason, delta_g: r.delta_g, detail: r.detail, detail_zh: reviewDetail(r.detail, 'zh', names), detail_en: reviewDetail(r.detail, 'en', names) })),
    stock: (moves.get(s.id) ?? []).map((m) => ({ sku: m.sku, name: names.get(m.sku)?.name ?? m.sku, slot: m.slot, count: m.count })),
  }));
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export interface StockView { sku: string; name: string; price: number; active: boolean; stock: number; slots: Array<{ slot: string; address: number; stock: number }> }

/** Products listed on the page and in /api/stock at most (a village store holds far fewer). */
export const STOCK_LIMIT = 500;

/** Stock per product, with the slots that hold it (`shelved`: only active products on a shelf here). */
export function stockByProduct(db: Db, limit = STOCK_LIMIT, opts: { shelved?: boolean } = {}): StockView[] {
  const out: StockView[] = [];
  for (const r of stockRows(db, limit, opts)) {
    let p = out[out.length - 1];
    if (p?.sku !== r.sku) {
      p = { sku: r.sku, name: r.name, price: r.price, active: r.active === 1, stock: 0, slots: [] };
      out.push(p);
    }
    if (r.slot !== null) {
      p.slots.push({ slot: r.slot, address: r.address ?? 0, stock: r.stock ?? 0 });
      p.stock += r.stock ?? 0;
    }
  }
  return out;
}

/** The session engine as the admin page reads it (StoreSessionEngine fits); absent in page-only tests. */
export interface StoreStateSource {
  readonly phase: string;
  readonly current: { sessionId: string; villagerId: string; kind: string; enteredBy: string; openedAt: number } | null;
  cart(): { totalPoints: number; cart: { lines: Array<{ sku: string; slot: string; count: number }>; review: Array<{ slot: string; reason: string }>; stock?: Array<{ sku: string; slot: string; count: number }> } } | null;
}

export interface StoreStateView {
  phase: string;
  session: string | null;
  villager: string | null;
  villager_name: string | null;
  kind: string | null;
  entered_by: string | null;
  since: string | null;
  /** The live cart; while restocking, `stock` holds the items put on (or taken off) each slot so far. */
  cart: { lines: Array<{ sku: string; name: string; slot: string; count: number; points: number }>; total_points: number; review: Array<{ slot: string; reason: string }>; stock: Array<{ sku: string; name: string; slot: string; count: number }> } | null;
}

const villagerName = (db: Db, id: string): string | null => getVillager(db, id)?.name ?? null;

export function storeState(db: Db, source: StoreStateSource | undefined): StoreStateView {
  if (!source) return { phase: 'unknown', session: null, villager: null, villager_name: null, kind: null, entered_by: null, since: null, cart: null };
  const v = source.current;
  const view = source.cart();
  const products = productNames(db, view ? [...view.cart.lines.map((l) => l.sku), ...(view.cart.stock ?? []).map((m) => m.sku)] : []);
  return {
    phase: source.phase,
    session: v?.sessionId ?? null,
    villager: v?.villagerId ?? null,
    villager_name: v ? villagerName(db, v.villagerId) : null,
    kind: v?.kind ?? null,
    entered_by: v?.enteredBy ?? null,
    since: v ? new Date(v.openedAt).toISOString() : null,
    cart: view
      ? {
          lines: view.cart.lines.map((l) => {
            const p = products.get(l.sku);
            return { sku: l.sku, name: p?.name ?? l.sku, slot: l.slot, count: l.count, points: (p?.price ?? 0) * l.count };
          }),
          total_points: view.totalPoints,
          review: view.cart.review.map((r) => ({ slot: r.slot, reason: r.reason })),
          stock: (view.cart.stock ?? []).map((m) => ({ sku: m.sku, name: products.get(m.sku)?.name ?? m.sku, slot: m.slot, count: m.count })),
        }
      : null,
  };
}

/** The sync agent as the page sees it (its `state()`). */
export interface SyncStateSource {
  state(): SyncState;
  /**
   * The agent's counts since start (cloud-sync/agent/agent.ts `counters`): rows sent, rows sent
   * again, snapshots asked, stream checks, and snapshot copies or parts dropped while one was
   * being applied. On /metrics as store_sync_counts{what}.
   */
  readonly counters?: Readonly<Record<string, number>>;
}

export interface SyncView extends SyncState {
  enabled: boolean;
  last_error: NonNullable<SyncState['last_error']> | null;
  /** When the ledger acknowledged row `last_acked_seq`. */
  last_ack_at: string | null;
}

/** The store's sync with the village ledger: the agent's state and one key lookup; all zero when sync is off. */
export function syncState(db: Db, source: SyncStateSource | undefined): SyncView {
  if (!source) return { enabled: false, connected: false, outbox_pending: 0, last_acked_seq: 0, last_ack_at: null, inbound_seq: 0, last_contact: null, refused: {}, last_error: null };
  const s = source.state();
  return { enabled: true, ...s, last_error: s.last_error ?? null, last_ack_at: s.last_acked_seq > 0 ? (outboxAckedAt(db, s.last_acked_seq) ?? null) : null };
}
