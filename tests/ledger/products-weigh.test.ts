/**
 * One rule for a product the shelves cannot see (one item, at its lightest, no heavier than what
 * they take for drift): `upsertProduct` refuses it on every path that defines products — the
 * admin page and the CLI with the store's limits, a scenario file with its own, anything else with
 * the shipped defaults — and a scenario file is refused at load, naming the product.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WEIGH_LIMITS, getProduct, upsertProduct } from '../../edge/ledger/products.ts';
import { ScalesSchema } from '../../drivers/config.ts';
import { WeightRulesSchema } from '../../edge/session/config.ts';
import { parseScenario } from '../../harness/scenario/scenario.ts';
import { tempLedger } from './helpers.ts';

describe('a product too light to be weighed', () => {
  let t: ReturnType<typeof tempLedger> | undefined;
  afterEach(() => {
    t?.cleanup();
    t = undefined;
  });
  const product = (unitG: number, toleranceG: number) => ({ sku: 'gum', name: '口香糖', price: 5, unitG, toleranceG });

  it('the defaults are the config’s own: one item must weigh more than 10 g at its lightest', () => {
    expect(DEFAULT_WEIGH_LIMITS).toEqual({ drift_allowance_g: WeightRulesSchema.properties.drift_allowance_g.default, change_threshold_g: ScalesSchema.properties.change_threshold_g.default });
    expect(Math.max(DEFAULT_WEIGH_LIMITS.drift_allowance_g, DEFAULT_WEIGH_LIMITS.change_threshold_g)).toBe(10);
  });

  it('upsertProduct refuses it, in both languages, and stores nothing; the store’s own limits are honoured', () => {
    t = tempLedger();
    for (const [unit, tol] of [[5, 1], [10, 0], [14, 4]] as const) {
      expect(() => upsertProduct(t!.db, product(unit, tol)), `${unit} ± ${tol}`).toThrow(expect.objectContaining({ message: expect.stringContaining('more than 10 g'), zh: expect.stringContaining('单件太轻') }));
    }
    expect(getProduct(t.db, 'gum')).toBeUndefined();
    expect(upsertProduct(t.db, product(15, 4)).unitG).toBe(15);
    // a store whose scales and drift allowance are finer takes lighter goods, as its admin page does
    expect(upsertProduct(t.db, product(8, 1), { limits: { drift_allowance_g: 3, change_threshold_g: 3 } }).unitG).toBe(8);
    expect(() => upsertProduct(t!.db, product(8, 1), { limits: { drift_allowance_g: 3, change_threshold_g: 8 } })).toThrow('more than 8 g');
  });

  it('a scenario file with one is refused at load, naming the product; its own drift allowance counts', () => {
    const scenario = (unit_g: number, session?: Record<string, unknown>) => ({
      ...(session ? { session } : {}),
      products: [{ sku: 'salt', name: '食盐', price: 3, unit_g: 400, tolerance_g: 10 }, { sku: 'gum', name: '口香糖', price: 5, unit_g, tolerance_g: 1 }],
      slots: [{ slot: 'A1', scale: 11, sku: 'gum', stock: 3 }],
      villagers: [{ id: 'zhang', name: '张三', balance: 10, card: 'PB-0001' }],
      steps: [{ enter: { villager: 'zhang' } }, { take: { slot: 'A1' } }, { exit: {} }],
    });
    expect(() => parseScenario(scenario(8))).toThrow(expect.objectContaining({ message: expect.stringContaining('scenario products[1]: product gum: one item (8 g ± 1 g) is too light'), zh: expect.stringContaining('单件太轻') }));
    expect(parseScenario(scenario(12)).products[1]).toMatchObject({ unit_g: 12 });
    expect(() => parseScenario(scenario(12, { weight: { drift_allowance_g: 20 } }))).toThrow('more than 20 g');
    expect(parseScenario(scenario(8, { weight: { drift_allowance_g: 3 } })).products[1]).toMatchObject({ unit_g: 8 });
  });
});
