/**
 * The cart from weights, as one pure function over each slot's weight at the start of the
 * session (the baseline) and its last stable weight now.
 *
 * Working on net changes per slot, not on the stream of events, is what makes a power cut
 * harmless: the baseline is persisted at the door and the shelves keep their weight, so the
 * cart after a restart is the cart before it. Taking two and putting one back nets to one.
 *
 * Rules (docs/scenarios.md has examples):
 * - a fall near a whole number of the slot's items is a line (those items are charged);
 * - a fall or rise not near a whole count, a rise on a slot (more back than was taken),
 *   a slot whose scale is unavailable or still moving at exit: a review line, no charge;
 * - a rise that matches whole items of a product taken from another slot is a wrong-slot
 *   return: those items are not charged, both slots get a review line so a maintainer puts
 *   the item back.
 * In a restock, whole-item changes are stock moves; a change that is not can still be items
 * moved between slots (a misplaced item put back home: no stock change), see `restockMove`.
 */
import type { WeightRules } from './config.ts';

export interface SlotWeighing {
  slot: string;
  /** The product the slot holds, or null for a slot without one. */
  sku: string | null;
  unitG: number | null;
  toleranceG: number | null;
  /** Stable weight when the session began; null when the scale had no stable reading then. */
  baselineG: number | null;
  /** Last stable weight; null when the scale has no reading now. */
  currentG: number | null;
  /** Whether the slot came to rest after the exit (false: still moving when the exit wait ended). */
  stable: boolean;
}

export type ReviewReason =
  | 'not_whole_count'
  | 'unexpected_increase'
  | 'wrong_slot_return'
  | 'moved_out'
  | 'not_stable'
  | 'scale_unavailable'
  | 'no_product';

export interface CartLine { sku: string; slot: string; count: number }
export interface CartReview { slot: string; reason: ReviewReason; deltaG: number | null; detail: string }
/** For a maintainer's restock: items added (positive) or removed (negative) per slot. */
export interface StockMove { sku: string; slot: string; count: number }

export interface Cart {
  lines: CartLine[];
  review: CartReview[];
  stock: StockMove[];
}

/** Tolerance for a count of `n` items of a product. Never half an item or more, so counts cannot overlap. */
export function toleranceFor(n: number, unitG: number, productToleranceG: number, rules: WeightRules): number {
  const one = Math.max(productToleranceG, rules.min_tolerance_g);
  const t = rules.tolerance_grows_with_count ? one * Math.sqrt(Math.max(1, n)) : one;
  return Math.min(t, unitG / 2 - 0.5);
}

/** `deltaG` as a whole count of `unitG` items within tolerance, or null. */
export function wholeCount(deltaG: number, unitG: number, productToleranceG: number, rules: WeightRules): number | null {
  const n = Math.round(Math.abs(deltaG) / unitG);
  if (n < 1) return null;
  const err = Math.abs(Math.abs(deltaG) - n * unitG);
  return err <= toleranceFor(n, unitG, productToleranceG, rules) ? n : null;
}

const round = (g: number): number => Math.round(g);

type Removal = CartLine & { unitG: number; toleranceG: number };
/** A restock's whole-item change on a slot (positive: added). */
type Move = StockMove & { unitG: number; toleranceG: number };

export function computeCart(slots: readonly SlotWeighing[], rules: WeightRules, mode: 'shopping' | 'restock'): Cart {
  const review: CartReview[] = [];
  const removals = new Map<string, Removal>();
  const unexplained: Array<{ s: SlotWeighing; deltaG: number }> = [];
  const moves = new Map<string, Move>();

  for (const s of [...slots].sort((a, b) => a.slot.localeCompare(b.slot))) {
    if (s.baselineG === null || s.currentG === null) {
      review.push({ slot: s.slot, reason: 'scale_unavailable', deltaG: null, detail: s.baselineG === null ? 'no stable weight when the session began' : 'no reading at the end of the session' });
      continue;
    }
    const deltaG = s.currentG - s.baselineG;
    if (!s.stable) {
      review.push({ slot: s.slot, reason: 'not_stable', deltaG: round(deltaG), detail: 'still moving when the exit wait ended (at most session.exit_settle_max_ms of readings); nothing charged for this slot' });
      continue;
    }
    if (Math.abs(deltaG) <= rules.drift_allowance_g) continue;
    if (s.sku === null || s.unitG === null || s.toleranceG === null) {
      if (deltaG > 0 || mode === 'restock') unexplained.push({ s, deltaG });
      else review.push({ slot: s.slot, reason: 'no_product', deltaG: round(deltaG), detail: 'weight changed on a slot without a product' });
      continue;
    }
    const n = wholeCount(deltaG, s.unitG, s.toleranceG, rules);
    if (mode === 'restock') {
      if (n === null) unexplained.push({ s, deltaG });
      else moves.set(s.slot, { sku: s.sku, slot: s.slot, count: deltaG > 0 ? n : -n, unitG: s.unitG, toleranceG: s.toleranceG });
      continue;
    }
    if (deltaG < 0 && n !== null) removals.set(s.slot, { sku: s.sku, slot: s.slot, count: n, unitG: s.unitG, toleranceG: s.toleranceG });
    else unexplained.push({ s, deltaG });
  }

  if (mode === 'restock') {
    for (const { s, deltaG } of unexplained) review.push(...restockMove(s, deltaG, moves, rules));
    const stock = [...moves.values()].filter((m) => m.count !== 0).map(({ sku, slot, count }) => ({ sku, slot, count }));
    return { lines: [], review, stock };
  }

  // What is left: rises, and falls that are not whole counts. Try to explain each as n of the
  // slot's own items taken plus m items of a product taken from another slot put down here
  // (a wrong-slot return, possibly onto a slot that was also taken from).
  for (const { s, deltaG } of unexplained) {
    let best: { from: Removal; n: number; m: number; err: number } | null = null;
    const ownUnit = s.unitG ?? 0;
    for (const from of removals.values()) {
      if (from.slot === s.slot) continue;
      for (let m = 1; m <= from.count; m++) {
        const rest = deltaG - m * from.unitG; // what the slot's own items must explain
        // n follows from this explanation whatever the sign of deltaG: a rise can be m items
        // put down here on top of n of the slot's own taken away
        const n = ownUnit > 0 ? Math.round(-rest / ownUnit) : 0;
        if (n < 0 || (n > 0 && s.sku === null)) continue;
        const err = Math.abs(rest + n * ownUnit);
        const tol = Math.hypot(toleranceFor(m, from.unitG, from.toleranceG, rules), n > 0 ? toleranceFor(n, ownUnit, s.toleranceG ?? 0, rules) : 0);
        if (err <= tol && (!best || err < best.err)) best = { from, n, m, err };
      }
    }
    if (best) {
      best.from.count -= best.m;
      if (best.n > 0 && s.sku !== null && s.unitG !== null && s.toleranceG !== null) removals.set(s.slot, { sku: s.sku, slot: s.slot, count: best.n, unitG: s.unitG, toleranceG: s.toleranceG });
      review.push({ slot: s.slot, reason: 'wrong_slot_return', deltaG: round(best.m * best.from.unitG), detail: `${best.m} × ${best.from.sku} from slot ${best.from.slot} put down here; not charged` });
      review.push({ slot: best.from.slot, reason: 'moved_out', deltaG: round(-best.m * best.from.unitG), detail: `${best.m} × ${best.from.sku} now on slot ${s.slot}; put it back` });
      continue;
    }
    if (deltaG < 0) {
      review.push({ slot: s.slot, reason: 'not_whole_count', deltaG: round(deltaG), detail: `${round(-deltaG)} g taken is not a whole number of ${s.unitG ?? '?'} g items` });
      continue;
    }
    const own = s.unitG !== null && s.toleranceG !== null ? wholeCount(deltaG, s.unitG, s.toleranceG, rules) : null;
    review.push({
      slot: s.slot,
      reason: s.sku === null ? 'no_product' : 'unexpected_increase',
      deltaG: round(deltaG),
      detail: own !== null ? `${own} × ${s.sku} more than at the start (never taken from this slot)` : `${round(deltaG)} g more than at the start, not a whole number of items`,
    });
  }

  const lines = [...removals.values()].filter((l) => l.count > 0).map(({ sku, slot, count }) => ({ sku, slot, count }));
  return { lines, review, stock: [] };
}

/**
 * A restock's change on slot `s` that is not a whole count of its own items, explained as n of
 * its own items added or taken (any sign) and m items of another slot's product moved against
 * that slot's whole-item change:
 * - that slot rose by them, this one fell: an item lying here put back home (a shopper's
 *   wrong-slot return, not sold, so its home slot's stock still counts it). A move between
 *   slots: no delivery, no stock change, no review line;
 * - that slot fell by them, this one rose: put down here, not taken away; its home slot's stock
 *   keeps counting it and both slots get the review lines a shopper's would (put it back).
 * Only changes nothing else explains are tried, so a whole-item delivery stays a delivery.
 * Moves `moves` by what it explains; returns the slot's review lines.
 */
function restockMove(s: SlotWeighing, deltaG: number, moves: Map<string, Move>, rules: WeightRules): CartReview[] {
  let best: { from: Move; dir: 1 | -1; n: number; m: number; err: number } | null = null;
  const ownUnit = s.unitG ?? 0;
  for (const from of moves.values()) {
    if (from.slot === s.slot || from.count === 0) continue;
    const dir = from.count > 0 ? -1 : 1; // its rise came from here / its fall was put down here
    for (let m = 1; m <= Math.abs(from.count); m++) {
      const rest = deltaG - dir * m * from.unitG; // what the slot's own items must explain
      const n = ownUnit > 0 ? Math.round(rest / ownUnit) : 0;
      const err = Math.abs(rest - n * ownUnit);
      const tol = Math.hypot(toleranceFor(m, from.unitG, from.toleranceG, rules), n !== 0 ? toleranceFor(Math.abs(n), ownUnit, s.toleranceG ?? 0, rules) : 0);
      if (err <= tol && (!best || err < best.err)) best = { from, dir, n, m, err };
    }
  }
  if (!best) {
    if (s.sku === null) return [{ slot: s.slot, reason: 'no_product', deltaG: round(deltaG), detail: 'weight changed on a slot without a product' }];
    return [{ slot: s.slot, reason: 'not_whole_count', deltaG: round(deltaG), detail: `${round(deltaG)} g is not a whole number of ${s.unitG ?? '?'} g items` }];
  }
  best.from.count += best.dir * best.m;
  if (best.n !== 0 && s.sku !== null && s.unitG !== null && s.toleranceG !== null) moves.set(s.slot, { sku: s.sku, slot: s.slot, count: best.n, unitG: s.unitG, toleranceG: s.toleranceG });
  if (best.dir === -1) return [];
  return [
    { slot: s.slot, reason: 'wrong_slot_return', deltaG: round(best.m * best.from.unitG), detail: `${best.m} × ${best.from.sku} from slot ${best.from.slot} put down here; not a removal` },
    { slot: best.from.slot, reason: 'moved_out', deltaG: round(-best.m * best.from.unitG), detail: `${best.m} × ${best.from.sku} now on slot ${s.slot}; put it back` },
  ];
}
