/**
 * The stock rules of a settlement, in one place: a sale takes its items off the slot, a
 * maintainer's restock moves the slot's stock by what was weighed. Stock never goes below
 * zero; when it would, the count stops at zero and a `stock_clipped` review line asks a
 * maintainer to count the shelf, so a miscount is reported rather than vanishing silently.
 * Runs inside settleSession's transaction.
 */
import type { Db } from './db.ts';
import { adjustStock } from './products.ts';

/** Items added (positive) or removed (negative) on a slot by a restock. */
export interface StockMove { sku: string; slot: string; count: number }

export interface StockReviewLine { slot: string; reason: 'stock_clipped'; deltaG: null; detail: string }

/** Moves stock for a settled session; returns the review lines for every clip. */
export function settleStock(db: Db, kind: 'shopping' | 'restock', sold: readonly StockMove[], restocked: readonly StockMove[], at: string): StockReviewLine[] {
  const review: StockReviewLine[] = [];
  if (kind === 'shopping') {
    for (const l of sold) {
      // more sold than the ledger thought the slot held: the villager is charged for what
      // was weighed, and a maintainer is asked to count the shelf
      const held = adjustStock(db, l.slot, -l.count, at);
      if (held.clipped) review.push({ slot: l.slot, reason: 'stock_clipped', deltaG: null, detail: `${l.count} × ${l.sku} sold but the ledger had fewer; stock set to 0, please count the shelf / 库存记录不足，请盘点` });
    }
    return review;
  }
  for (const m of restocked) {
    const held = adjustStock(db, m.slot, m.count, at);
    if (held.clipped) review.push({ slot: m.slot, reason: 'stock_clipped', deltaG: null, detail: `${-m.count} × ${m.sku} taken away but the ledger had ${held.before}; stock set to 0, please count the shelf / 库存记录不足，请盘点` });
  }
  return review;
}
