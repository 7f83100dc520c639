/**
 * Weights as the session reads them: from the scale driver's own stable-weight tracking
 * (`status()`), not accumulated from events, so the cart after a restart is computed from the
 * same numbers; the slots from the ledger, and their products as the visit recorded them at
 * admission (a catalogue change while the villager is inside is for the next visit).
 */
import type { Db } from '../ledger/db.ts';
import { getProduct, listSlots, type Product } from '../ledger/products.ts';
import type { Cart, CartLine, SlotWeighing } from './cart.ts';
import type { Visit, VisitProduct } from './machine.ts';
import type { Shelves } from './ports.ts';

/**
 * The baseline: each slot's weight now if its scale reads and is at rest, else null.
 *
 * Not `last_stable_g`: while a slot moves the driver keeps the weight from before the
 * movement there, so a hand on the shelf at this moment (the last villager grabbing an item on
 * the way out, someone reaching in while the store was idle) would become this villager's
 * purchase. A slot without a baseline is a review line, never a charge, unless it comes to
 * rest before the door opens (the engine's settleBaseline): then nobody of this visit has
 * touched it yet and the weight it rests at is fairly "what was there". Once the door is open
 * a late rest could include this villager's own hand, so the slot stays a review line.
 */
export function restingWeights(scales: Shelves): Record<string, number | null> {
  return Object.fromEntries(scales.status().map((s) => [s.slot, s.health === 'ok' && s.stable_g !== null ? s.stable_g : null]));
}

/** Whether every scale has been read at least once since the driver started. */
export function scalesReported(scales: Shelves): boolean {
  return !scales.status().some((x) => x.health === 'unknown');
}

/** Each slot decided at exit: the weight it rested at, from a sweep that began after the exit wait began (shelf-watch.ts). */
export type ExitWeights = ReadonlyMap<string, number>;

/** Each slot's product as the catalogue has it now (null: none), recorded with a visit at admission. */
export function slotProducts(db: Db): Record<string, VisitProduct | null> {
  const products = new Map<string, Product | undefined>();
  return Object.fromEntries(listSlots(db).map((slot) => {
    if (slot.sku === null) return [slot.slot, null];
    if (!products.has(slot.sku)) products.set(slot.sku, getProduct(db, slot.sku));
    const p = products.get(slot.sku);
    return [slot.slot, p ? { sku: p.sku, price: p.price, unitG: p.unitG, toleranceG: p.toleranceG } : null];
  }));
}

/**
 * The visit's products per slot: those recorded at admission, or for a visit persisted without
 * them (and a slot added since) the catalogue as it stands (reads the ledger).
 */
function visitProducts(db: Db, v: Visit): Record<string, VisitProduct | null> {
  const recorded = v.products;
  if (recorded === undefined) return slotProducts(db);
  const now = listSlots(db).some((s) => !(s.slot in recorded)) ? slotProducts(db) : {};
  return { ...now, ...recorded };
}

/**
 * Each slot's baseline and weight, with its product as the visit recorded it (reads the
 * ledger). `atExit` null: the live cart, each slot at its last stable weight. At exit: a slot
 * decided by the exit wait at that weight; any other slot as its scale stands now, not at rest
 * meaning still moving.
 */
export function weighings(db: Db, scales: Shelves, v: Visit, atExit: ExitWeights | null): SlotWeighing[] {
  const products = visitProducts(db, v);
  const status = new Map(scales.status().map((s) => [s.slot, s]));
  return listSlots(db).map((slot) => {
    const s = status.get(slot.slot);
    const p = products[slot.slot] ?? null;
    const readable = s !== undefined && s.health === 'ok';
    const decided = atExit?.get(slot.slot);
    return {
      slot: slot.slot,
      sku: p?.sku ?? null,
      unitG: p?.unitG ?? null,
      toleranceG: p?.toleranceG ?? null,
      baselineG: v.baseline[slot.slot] ?? null,
      currentG: decided ?? (readable ? s.last_stable_g : null),
      stable: decided !== undefined || !atExit || !readable || s.stable_g !== null,
    };
  });
}

/**
 * The cart's lines, each with its price per item as the visit recorded it (reads the ledger).
 * `unitPrice` absent: not recorded, the settlement prices it from the catalogue.
 */
export function pricedLines(db: Db, v: Visit, cart: Cart): Array<CartLine & { unitPrice?: number }> {
  const products = visitProducts(db, v);
  return cart.lines.map((l) => {
    const p = products[l.slot];
    return p && p.sku === l.sku ? { ...l, unitPrice: p.price } : l;
  });
}

/** The cart's points at the visit's prices (reads the ledger). */
export function price(db: Db, v: Visit, cart: Cart): number {
  return pricedLines(db, v, cart).reduce((sum, l) => sum + (l.unitPrice ?? getProduct(db, l.sku)?.price ?? 0) * l.count, 0);
}

/**
 * Whether someone is inside although the door was not seen to open: the cart has a line, or a
 * review line other than a dead scale. A scale that cannot be read says nothing about hands on
 * the shelf: counting it would keep every walk-away admission open (store busy) until the idle
 * timeout whenever one scale is dead.
 */
export const touched = (cart: Cart | undefined): boolean => cart !== undefined && (cart.lines.length > 0 || cart.review.some((r) => r.reason !== 'scale_unavailable'));

/** The slots that had no baseline at the door and are at rest now, with their weight; null: none. */
export function cameToRest(v: Visit, scales: Shelves): Record<string, number> | null {
  const missing = v.baseline;
  const now = Object.entries(restingWeights(scales)).filter((e): e is [string, number] => e[1] !== null && e[0] in missing && missing[e[0]] === null);
  return now.length > 0 ? Object.fromEntries(now) : null;
}
