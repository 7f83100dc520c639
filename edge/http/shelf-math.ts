/**
 * Weighing rules of the shelves page: how many items a resting weight is, and whether a scale
 * reads a known weight closely enough to trust it. Pure, so they are tested as tables.
 */

/** One slot as the shelves page and `/api/shelves` show it. */
export interface ShelfItem {
  slot: string;
  /** The scale address the ledger has for the slot (what was last saved; the hardware does not read it). */
  address: number;
  /** The Modbus unit id the config gives the slot's scale (drivers.scales.list): the one weighed; null without one. */
  unit_id: number | null;
  sku: string | null;
  name: string | null;
  stock: number;
  /** The scale's health, or `absent` when no scale is configured for the slot. */
  scale: string;
  weight_g: number | null;
  /** Items by weight (null: no steady reading, or not a whole count). */
  counted: number | null;
}

/** The shelf scales as the page uses them (drivers/scales/scale-driver.ts ScaleDriver fits). */
export interface ShelfScales {
  status(): Array<{ slot: string; health: string; stable_g: number | null; unit_id?: number }>;
  zero(slot: string): Promise<void>;
}

/**
 * Items on a slot from its resting weight. Each item may be off by its tolerance, so n items
 * may be off by up to n × tolerance, but never by half an item or more (then the count is
 * ambiguous): the count is refused instead.
 */
export function countFromWeight(weightG: number, unitG: number, toleranceG: number): { ok: true; count: number; residue_g: number } | { ok: false; residue_g: number } {
  const count = Math.max(0, Math.round(weightG / unitG));
  const residue = Math.round((weightG - count * unitG) * 10) / 10;
  const allowed = Math.min(Math.max(1, count) * toleranceG, unitG / 2 - 0.5);
  return Math.abs(residue) <= allowed ? { ok: true, count, residue_g: residue } : { ok: false, residue_g: residue };
}

/** How far a reading of a known weight may be off: 1 % of it, at least 2 g (a load cell's usual class). */
export function scaleCheck(measuredG: number, knownG: number): { ok: boolean; error_g: number; allowed_g: number } {
  const error = Math.round((measuredG - knownG) * 10) / 10;
  const allowed = Math.max(2, Math.round(knownG) / 100);
  return { ok: Math.abs(error) <= allowed, error_g: error, allowed_g: allowed };
}

/**
 * Items a slot about to be zeroed still seems to hold: its reading is at least one item at its
 * lightest (unit_g − tolerance_g), so zeroing would make the slot under-read by them. The count
 * is the nearest whole number of items, at least 1; undefined when the reading is below one item.
 */
export function itemsStillOn(weightG: number, unitG: number, toleranceG: number): number | undefined {
  if (weightG < unitG - toleranceG) return undefined;
  return Math.max(1, Math.round(weightG / unitG));
}
