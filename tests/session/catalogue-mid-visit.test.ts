/**
 * The village's catalogue arriving while a villager is inside (a sync snapshot, the stream's
 * `product` event): the visit is counted and priced with the products as they were at
 * admission, recorded in the persisted visit; the catalogue itself is written all the same, for
 * the next visit.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getProduct, upsertProduct } from '../../edge/ledger/products.ts';
import { saveSessionState } from '../../edge/ledger/sessions.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { FakeScales, store } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const later = (): string => new Date(Date.now() + 60_000).toISOString();
const publish = (s: ReturnType<typeof store>, soap: { price: number; unit_g: number }): void => {
  applySnapshot(s.db, { villagers: [], entries: [], products: [{ sku: 'soap', name: 'Soap', tolerance_g: 5, active: true, updated_at: later(), ...soap }] }, { creditFloor: 0 });
};

/** A in the store with one soap (100 g, 10 points) taken from S1. */
function shopping() {
  const s = store();
  const shown: number[] = [];
  s.engine.on('cart', (c) => shown.push(c.totalPoints));
  s.admit('A');
  s.lock.door('open');
  s.lock.door('closed');
  s.scales.rest('S1', 900);
  s.scales.emit('change', { slot: 'S1', delta_g: -100 });
  return { s, shown };
}

describe('a catalogue change while a villager is inside', () => {
  it('a new price from a snapshot: charged the price at admission; the catalogue has the new one for the next visit', () => {
    const { s, shown } = shopping();
    expect(shown.at(-1)).toBe(10);
    publish(s, { price: 100, unit_g: 100 });
    expect(s.engine.cart()?.totalPoints).toBe(10);
    s.lock.exit();
    s.scales.sweep();
    expect({ total: s.session('A')?.totalPoints, balance: s.balance('A') }).toEqual({ total: 10, balance: 90 });
    expect(getProduct(s.db, 'soap')?.price).toBe(100);

    s.admit('B');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800);
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('B')?.totalPoints).toBe(100);
  });

  it("a new unit weight from the stream's product event: the goods are counted with the weight at admission", () => {
    const { s } = shopping();
    upsertProduct(s.db, { sku: 'soap', name: 'Soap', price: 10, unitG: 50, toleranceG: 5 }, { limits: null, updatedAt: later() });
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
  });

  it('a visit resumed after a power cut keeps the products recorded at admission', () => {
    const { s } = shopping();
    s.engine.stop(); // power cut
    publish(s, { price: 100, unit_g: 100 });
    const scales = new FakeScales();
    scales.rest('S1', 900);
    scales.rest('S2', 1000);
    const again = store({ db: s.db, scales });
    expect(again.engine.phase).toBe('shopping');
    again.lock.exit();
    again.scales.sweep();
    expect({ total: again.session('A')?.totalPoints, balance: again.balance('A') }).toEqual({ total: 10, balance: 90 });
  });

  it('a visit persisted before products were recorded falls back to the catalogue as it stands', () => {
    const { s } = shopping();
    s.engine.stop();
    const open = s.session('A');
    const { products: _recorded, ...older } = open?.context as Record<string, unknown>;
    saveSessionState(s.db, open?.id as string, 'shopping', older);
    publish(s, { price: 100, unit_g: 100 });
    const scales = new FakeScales();
    scales.rest('S1', 900);
    scales.rest('S2', 1000);
    const again = store({ db: s.db, scales });
    again.lock.exit();
    again.scales.sweep();
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 100 });
  });
});
