/**
 * Settlement as the session runs it: weigh the cart, hand it to the ledger in one transaction
 * with whatever session writes are still pending, and build the receipt from what the ledger
 * stored. The stock rules (sales, restock moves, clipping at zero) are the ledger's
 * (edge/ledger/settlement.ts); the review lines counted on the receipt are the ledger's too.
 */
import { inTransaction, type Db } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { getProduct } from '../ledger/products.ts';
import { isPaidReviewLine } from '../ledger/review.ts';
import { offlineOverPoints, settleSession, type SettleResult } from '../ledger/sessions.ts';
import { getVillager } from '../ledger/villagers.ts';
import { computeCart, type Cart } from './cart.ts';
import type { WeightRules } from './config.ts';
import type { Visit } from './machine.ts';
import type { Shelves } from './ports.ts';
import { toPersisted } from './persisted.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { receiptText, type Receipt } from './receipt.ts';
import { pricedLines, weighings, type ExitWeights } from './weighing.ts';

export interface Settled { result: SettleResult; cart: Cart; ms: number }

/**
 * Weighs and settles `v`, each slot at the weight the exit wait decided for it (`atExit`; a slot
 * not decided there is weighed as its scale stands now). Throws what the ledger throws (a read
 * while weighing, the settlement's transaction): the caller turns it into a failed settlement
 * with its retry.
 * `pending` writes the session's own unsaved writes inside the same transaction.
 */
export function settleVisit(db: Db, scales: Shelves, atExit: ExitWeights, v: Visit, weight: WeightRules, rules: LedgerRules, pending: (db: Db) => void, clock: Clock = systemClock): Settled {
  const t0 = performance.now();
  const cart = computeCart(weighings(db, scales, v, atExit), weight, v.kind);
  const context = { ...toPersisted(v), stock: cart.stock };
  const result = inTransaction(db, v.kind === 'restock' ? 'settling restock' : 'settling session', () => {
    pending(db);
    return v.kind === 'restock'
      ? settleSession(db, { sessionId: v.sessionId, lines: [], review: cart.review, stock: cart.stock, state: 'settled', context }, rules, clock)
      : settleSession(db, { sessionId: v.sessionId, lines: pricedLines(db, v, cart), review: cart.review, state: 'settled', context }, rules, clock);
  });
  return { result, cart, ms: performance.now() - t0 };
}

/** The receipt for a settled visit, from what the ledger stored (a resumed settlement included). */
export function buildReceipt(db: Db, v: Visit, done: Settled, at: number): Receipt {
  const villager = getVillager(db, v.villagerId);
  const name = (sku: string): string => getProduct(db, sku)?.name ?? sku;
  const r = done.result;
  const base = {
    sessionId: v.sessionId,
    villagerId: v.villagerId,
    villagerName: villager?.name ?? v.villagerId,
    kind: v.kind,
    lines: r.lines.map((l) => ({ sku: l.sku, name: name(l.sku), count: l.count, points: l.points })),
    totalPoints: r.session.totalPoints ?? 0,
    chargedPoints: r.session.chargedPoints ?? 0,
    debtPoints: r.session.debtPoints ?? 0,
    balance: villager?.balance ?? 0,
    // a paid line (edge/ledger/review.ts: the offline limit, a sale beyond the stock on record)
    // was charged, unlike a shelf's: the receipt says each apart. A restock charges nothing.
    reviewCount: r.review.filter((l) => (v.kind === 'restock' ? l.reason !== 'offline_limit' : !isPaidReviewLine(l))).length,
    stockClipped: v.kind === 'shopping' ? r.review.filter((l) => l.reason === 'stock_clipped').length : 0,
    offlineOverPoints: offlineOverPoints(r.review),
    stock: done.cart.stock.map((s) => ({ sku: s.sku, name: name(s.sku), count: s.count })),
  };
  return { ...base, text: receiptText(base), at, settleMs: done.ms };
}
