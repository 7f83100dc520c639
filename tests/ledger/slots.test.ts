/** Changing a slot from the CLI (`changeSlot`): what is left out stays, a slot with goods keeps its product. */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { changeSlot, getSlot, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { ErrorCode, type EdgeError } from '../../edge/errors.ts';
import { codeOf, tempLedger } from './helpers.ts';

let t: ReturnType<typeof tempLedger>;
beforeEach(() => {
  t = tempLedger();
  upsertProduct(t.db, { sku: 'oil', name: '花生油 1L', price: 30, unitG: 920, toleranceG: 20 });
  upsertProduct(t.db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertSlot(t.db, { slot: 'A1', address: 11, sku: 'oil', stock: 10 });
});
afterEach(() => t.cleanup());

describe('changing a slot', () => {
  it('keeps the product and stock when only the scale address is given; a new slot has neither', () => {
    expect(changeSlot(t.db, { slot: 'A1', address: 12 })).toEqual({ slot: 'A1', address: 12, sku: 'oil', stock: 10 });
    expect(changeSlot(t.db, { slot: 'A1', address: 12, stock: 7 })).toEqual({ slot: 'A1', address: 12, sku: 'oil', stock: 7 });
    expect(changeSlot(t.db, { slot: 'B1', address: 21 })).toEqual({ slot: 'B1', address: 21, sku: null, stock: 0 });
    expect(changeSlot(t.db, { slot: 'B1', address: 21, sku: 'salt', stock: 4 })).toEqual({ slot: 'B1', address: 21, sku: 'salt', stock: 4 });
  });

  it('refuses to take the product off, or put another on, while the slot holds goods; allows it once counted empty', () => {
    for (const sku of [null, 'salt']) {
      let err: EdgeError | undefined;
      try {
        changeSlot(t.db, { slot: 'A1', address: 11, sku });
      } catch (e) {
        err = e as EdgeError;
      }
      expect(err?.code, String(sku)).toBe(ErrorCode.SLOT_NOT_EMPTY);
      expect(err?.zh).toContain('请先清空并盘点');
    }
    expect(getSlot(t.db, 'A1')).toEqual({ slot: 'A1', address: 11, sku: 'oil', stock: 10 });
    changeSlot(t.db, { slot: 'A1', address: 11, stock: 0 });
    expect(changeSlot(t.db, { slot: 'A1', address: 11, sku: null })).toEqual({ slot: 'A1', address: 11, sku: null, stock: 0 });
  });

  it('refuses a stock on a slot without a product', () => {
    expect(codeOf(() => changeSlot(t.db, { slot: 'B1', address: 21, stock: 3 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(getSlot(t.db, 'B1')).toBeUndefined();
  });
});
