/** The cart from weights, as a table: baseline and final weight per slot → lines and review lines. */
import { describe, expect, it } from 'vitest';
import { computeCart, toleranceFor, type SlotWeighing } from '../../edge/session/cart.ts';
import { resolveSessionConfig } from '../../edge/session/config.ts';

const rules = resolveSessionConfig().weight;
const salt = (baselineG: number | null, currentG: number | null, stable = true): SlotWeighing => ({ slot: 'A1', sku: 'salt', unitG: 400, toleranceG: 10, baselineG, currentG, stable });
const soap = (baselineG: number | null, currentG: number | null, stable = true): SlotWeighing => ({ slot: 'A2', sku: 'soap', unitG: 230, toleranceG: 8, baselineG, currentG, stable });
const empty = (baselineG: number, currentG: number): SlotWeighing => ({ slot: 'C9', sku: null, unitG: null, toleranceG: null, baselineG, currentG, stable: true });

type Row = [string, SlotWeighing[], Array<[string, number]>, string[]];
const table: Row[] = [
  ['nothing happened', [salt(2400, 2400), soap(1150, 1150)], [], []],
  ['one taken, exact', [salt(2400, 2000)], [['salt', 1]], []],
  ['one taken, within tolerance', [salt(2400, 2009)], [['salt', 1]], []],
  ['two taken, tolerance grows with √n', [salt(2400, 1613)], [['salt', 2]], []],
  ['between one and two items', [salt(2400, 1800)], [], ['A1:not_whole_count']],
  ['drift is neither item nor review', [salt(2400, 2393)], [], []],
  ['net zero after take two, return one… nets to one', [soap(1150, 920)], [['soap', 1]], []],
  ['more than at the start on a slot never taken from', [soap(1150, 1380)], [], ['A2:unexpected_increase']],
  ['a rise that is not whole items', [soap(1150, 1250)], [], ['A2:unexpected_increase']],
  ['soap put back on the salt slot (salt untouched)', [salt(2400, 2630), soap(1150, 920)], [], ['A1:wrong_slot_return', 'A2:moved_out']],
  ['salt taken, soap put down on the salt slot', [salt(2400, 2230), soap(1150, 920)], [['salt', 1]], ['A1:wrong_slot_return', 'A2:moved_out']],
  ['two soaps taken, one put on the salt slot: one charged', [salt(2400, 2630), soap(1150, 690)], [['soap', 1]], ['A1:wrong_slot_return', 'A2:moved_out']],
  ['soap taken, salt put down on the soap slot: the soap is charged, not the salt', [salt(2400, 2000), soap(1150, 1320)], [['soap', 1]], ['A2:wrong_slot_return', 'A1:moved_out']],
  ['two soaps taken, salt put down on the soap slot', [salt(2400, 2000), soap(1150, 1090)], [['soap', 2]], ['A2:wrong_slot_return', 'A1:moved_out']],
  ['an item left on a slot without a product', [soap(1150, 920), empty(0, 230)], [], ['C9:wrong_slot_return', 'A2:moved_out']],
  ['a foreign object on a slot without a product', [empty(0, 512)], [], ['C9:no_product']],
  ['scale without reading at the end: not charged', [salt(2400, null)], [], ['A1:scale_unavailable']],
  ['scale without reading at the start: not charged', [salt(null, 2000)], [], ['A1:scale_unavailable']],
  ['still moving when the wait ended: not charged', [salt(2400, 2000, false)], [], ['A1:not_stable']],
];

describe('computeCart (shopping)', () => {
  it.each(table)('%s', (_name, slots, lines, review) => {
    const cart = computeCart(slots, rules, 'shopping');
    expect(cart.lines.map((l) => [l.sku, l.count])).toEqual(lines);
    expect(cart.review.map((r) => `${r.slot}:${r.reason}`)).toEqual(review);
    expect(cart.stock).toEqual([]);
  });

  it('every line has a positive whole count and no slot is both charged and unexplained', () => {
    for (const [, slots] of table) {
      const cart = computeCart(slots, rules, 'shopping');
      for (const l of cart.lines) expect(Number.isInteger(l.count) && l.count > 0).toBe(true);
      const unexplained = new Set(cart.review.filter((r) => ['not_whole_count', 'not_stable', 'scale_unavailable'].includes(r.reason)).map((r) => r.slot));
      for (const l of cart.lines) expect(unexplained.has(l.slot)).toBe(false);
    }
  });
});

describe('computeCart (restock)', () => {
  it.each<[string, SlotWeighing[], Array<[string, number]>, string[]]>([
    ['four bags added', [salt(2400, 4000)], [['salt', 4]], []],
    ['two bags removed (expired)', [salt(2400, 1600)], [['salt', -2]], []],
    ['not whole: review, stock unchanged', [salt(2400, 2600)], [], ['A1:not_whole_count']],
    // a shopper's misplaced soap (wrong_slot_return, not sold: A2's stock still counts it) put back
    ['a soap lying on the salt slot put back on its own: a move, no delivery, no review line', [salt(2630, 2400), soap(920, 1150)], [], []],
    ['put back while three soaps are delivered: three', [salt(2630, 2400), soap(920, 1840)], [['soap', 3]], []],
    ['put back while two bags of salt are added: two salts, no soap', [salt(2630, 3200), soap(920, 1150)], [['salt', 2]], []],
    ['from a slot without a product, put back: a move', [soap(920, 1150), empty(230, 0)], [], []],
    // the maintainer leaves a soap on the salt slot: not a removal, put it back
    ['a soap put down on the salt slot', [salt(2400, 2630), soap(1150, 920)], [], ['A1:wrong_slot_return', 'A2:moved_out']],
    ['salt removed with nothing to explain it otherwise stays a removal', [salt(2400, 2000), soap(1150, 1150)], [['salt', -1]], []],
  ])('%s', (_name, slots, stock, review) => {
    const cart = computeCart(slots, rules, 'restock');
    expect(cart.lines).toEqual([]);
    expect(cart.stock.map((m) => [m.sku, m.count])).toEqual(stock);
    expect(cart.review.map((r) => `${r.slot}:${r.reason}`)).toEqual(review);
  });
});

describe('toleranceFor', () => {
  it.each([
    [1, 400, 10, 10],
    [4, 400, 10, 20],
    [1, 400, 1, rules.min_tolerance_g],
    [100, 20, 5, 9.5],
  ])('n=%i unit=%i product tolerance=%i → %f', (n, unit, tol, expected) => {
    expect(toleranceFor(n, unit, tol, rules)).toBeCloseTo(expected, 5);
  });
});
