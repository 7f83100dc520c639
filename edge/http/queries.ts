/**
 * What the admin page shows about the door and the till, read through the ledger's own
 * functions (sessions, lines, review lines, entries, products). The door's decisions
 * (entry_events) are written by the entry pipeline and have no reader elsewhere; the one
 * query for them lives here, read-only.
 */
import type { Db } from '../ledger/db.ts';
import { getEntry } from '../ledger/entries.ts';
import { listProducts, listSlots } from '../ledger/products.ts';
import { listSessions, sessionLines, sessionReview } from '../ledger/sessions.ts';
import { getVillager } from '../ledger/villagers.ts';
import { getProduct } from '../ledger/products.ts';

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

interface EntryEventRow { id: number; at: string; decision: string; by: string; villager_id: string | null; detail: string | null }

function parseDetail(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return { raw: text };
  }
}

/** The door's latest decisions, newest first. */
export function recentEntryEvents(db: Db, limit: number): EntryEventView[] {
  const rows = db.prepare('SELECT id, at, decision, by, villager_id, detail FROM entry_events ORDER BY id DESC LIMIT ?').all(limit) as EntryEventRow[];
  return rows.map((r) => {
    const detail = parseDetail(r.detail);
    const { unlocked, ...rest } = detail;
    return { id: r.id, at: r.at, decision: r.decision, by: r.by, villager: r.villager_id, villager_name: r.villager_id ? getVillager(db, r.villager_id)?.name ?? null : null, unlocked: unlocked === true, detail: rest };
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
  review: Array<{ slot: string; reason: string; delta_g: number | null; detail: string | null }>;
  /** A restock: items put on (positive) or taken off each slot, as the session engine settled them. */
  stock: Array<{ sku: string; name: string; slot: string; count: number }>;
}

/** The stock moves a settled restock keeps in its context (edge/session/engine.ts settle()); anything else is ignored. */
function restockMoves(context: unknown): Array<{ sku: string; slot: string; count: number }> {
  const stock = (context as { stock?: unknown } | null)?.stock;
  if (!Array.isArray(stock)) return [];
  return stock.filter((m): m is { sku: string; slot: string; count: number } => typeof m?.sku === 'string' && typeof m?.slot === 'string' && Number.isSafeInteger(m?.count));
}

function balanceAfter(db: Db, villagerId: string, entryId: string | null, closedAt: string | null): number | null {
  if (entryId) {
    const e = getEntry(db, entryId);
    if (e) return e.balanceAfter;
  }
  // nothing charged: the balance is the one left by the villager's last entry before closing
  const r = db.prepare('SELECT balance_after FROM entries WHERE villager_id = ? AND created_at <= ? ORDER BY seq DESC LIMIT 1').get(villagerId, closedAt ?? '9999') as { balance_after: number } | undefined;
  return r?.balance_after ?? null;
}

/** Settled sessions (purchases and restocks), newest first, with their lines and review lines. */
export function recentReceipts(db: Db, limit: number): ReceiptView[] {
  // listSessions orders newest first; open and cancelled ones are not receipts
  return listSessions(db, { limit: limit * 4 })
    .filter((s) => s.status === 'settled')
    .slice(0, limit)
    .map((s) => ({
      session: s.id,
      kind: s.kind,
      villager: s.villagerId,
      villager_name: getVillager(db, s.villagerId)?.name ?? s.villagerId,
      entered_by: s.enteredBy,
      opened_at: s.openedAt,
      closed_at: s.closedAt,
      total_points: s.totalPoints ?? 0,
      charged_points: s.chargedPoints ?? 0,
      debt_points: s.debtPoints ?? 0,
      balance_after: balanceAfter(db, s.villagerId, s.entryId, s.closedAt),
      lines: sessionLines(db, s.id).map((l) => ({ sku: l.sku, name: getProduct(db, l.sku)?.name ?? l.sku, slot: l.slot, count: l.count, points: l.points })),
      review: sessionReview(db, s.id).map((r) => ({ slot: r.slot, reason: r.reason, delta_g: r.deltaG ?? null, detail: r.detail ?? null })),
      stock: s.kind === 'restock' ? restockMoves(s.context).map((m) => ({ sku: m.sku, name: getProduct(db, m.sku)?.name ?? m.sku, slot: m.slot, count: m.count })) : [],
    }));
}

export interface StockView { sku: string; name: string; price: number; active: boolean; stock: number; slots: Array<{ slot: string; address: number; stock: number }> }

/** Stock per product, with the slots that hold it. */
export function stockByProduct(db: Db): StockView[] {
  const slots = listSlots(db);
  return listProducts(db).map((p) => {
    const mine = slots.filter((s) => s.sku === p.sku).map((s) => ({ slot: s.slot, address: s.address, stock: s.stock }));
    return { sku: p.sku, name: p.name, price: p.price, active: p.active, stock: mine.reduce((n, s) => n + s.stock, 0), slots: mine };
  });
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

export function storeState(db: Db, source: StoreStateSource | undefined): StoreStateView {
  if (!source) return { phase: 'unknown', session: null, villager: null, villager_name: null, kind: null, entered_by: null, since: null, cart: null };
  const v = source.current;
  const view = source.cart();
  return {
    phase: source.phase,
    session: v?.sessionId ?? null,
    villager: v?.villagerId ?? null,
    villager_name: v ? getVillager(db, v.villagerId)?.name ?? null : null,
    kind: v?.kind ?? null,
    entered_by: v?.enteredBy ?? null,
    since: v ? new Date(v.openedAt).toISOString() : null,
    cart: view
      ? {
          lines: view.cart.lines.map((l) => {
            const p = getProduct(db, l.sku);
            return { sku: l.sku, name: p?.name ?? l.sku, slot: l.slot, count: l.count, points: (p?.price ?? 0) * l.count };
          }),
          total_points: view.totalPoints,
          review: view.cart.review.map((r) => ({ slot: r.slot, reason: r.reason })),
          stock: (view.cart.stock ?? []).map((m) => ({ sku: m.sku, name: getProduct(db, m.sku)?.name ?? m.sku, slot: m.slot, count: m.count })),
        }
      : null,
  };
}
