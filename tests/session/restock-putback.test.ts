/**
 * A shopper's misplaced item put back by a maintainer in restock mode (tests/session/rig.ts).
 * The shopping visit sold nothing for it (wrong_slot_return / moved_out), so the home slot's
 * stock still counts it: putting it back is a move between slots, never a delivery.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { openLedger } from '../../edge/ledger/db.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { inventory, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { sessionReview } from '../../edge/ledger/sessions.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { FakeScales, store } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

it('a soap left on the salt shelf and put back in restock mode: stock as the shelves hold it, no review line', () => {
  const db = openLedger(':memory:');
  addVillager(db, { id: 'wang', name: '王五', village: 'v' });
  applyEntry(db, { id: 'seed-wang', villagerId: 'wang', kind: 'award', points: 20, origin: 'cli' }, { creditFloor: 0 });
  addVillager(db, { id: 'chen', name: '老陈', village: 'v', isMaintainer: true });
  upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertProduct(db, { sku: 'soap', name: '洗衣皂', price: 5, unitG: 230, toleranceG: 8 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 6 });
  upsertSlot(db, { slot: 'A2', address: 12, sku: 'soap', stock: 5 });
  const scales = new FakeScales();
  scales.rest('A1', 2400);
  scales.rest('A2', 1150);
  const s = store({ db, scales, config: { leave_hold_ms: 0 } });
  const visit = (who: string, shelves: () => void): void => {
    s.admit(who);
    s.lock.door('open');
    s.lock.door('closed');
    shelves();
    s.lock.exit();
    s.scales.sweep();
    expect(s.engine.phase).toBe('idle');
  };

  visit('wang', () => { // 王五 puts a soap down on the salt shelf
    scales.rest('A2', 920);
    scales.rest('A1', 2630);
  });
  expect(sessionReview(db, s.session('wang')?.id ?? '').map((r) => `${r.slot}:${r.reason}`)).toEqual(['A1:wrong_slot_return', 'A2:moved_out']);
  expect(inventory(db)).toEqual({ salt: 6, soap: 5 });

  visit('chen', () => { // 老陈 restocks: puts the soap back where it belongs, nothing else
    scales.rest('A1', 2400);
    scales.rest('A2', 1150);
  });
  const restock = s.session('chen');
  expect(restock).toMatchObject({ kind: 'restock', status: 'settled' });
  expect(sessionReview(db, restock?.id ?? '')).toEqual([]);
  expect(inventory(db)).toEqual({ salt: 6, soap: 5 });
});
