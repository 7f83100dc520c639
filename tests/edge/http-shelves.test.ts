/**
 * Products and shelves from the admin page (fastify.inject): products and prices, slot
 * assignment, zero, calibration check, count the shelf; each audited, each refusal bilingual
 * with its field; nothing changed by a refused request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { getProduct, getSlot, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { countFromWeight, scaleCheck } from '../../edge/http/shelf-math.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

/** The shelf scales as the page sees them: weights set by the test, zeroing recorded. */
class FakeScales implements ShelfScales {
  // C1 and D1 have scales too (a product may be put only on a slot a scale weighs), nothing in the ledger yet
  weights = new Map<string, number | null>([['B1', 2760], ['A1', 0], ['C1', 0], ['D1', 0]]);
  zeroed: string[] = [];
  status() {
    return [...this.weights].map(([slot, g]) => ({ slot, health: 'ok', stable_g: g }));
  }
  async zero(slot: string): Promise<void> {
    this.zeroed.push(slot);
    this.weights.set(slot, 0);
  }
}

const ledger = tempLedger();
const scales = new FakeScales();
const engine = { phase: 'idle' };
const session: StoreStateSource = { get phase() { return engine.phase; }, current: null, cart: () => null };
const store = { id: 's1', village: 'v1', name: '前进村积分超市' };
const app = buildApp({ store, weighLimits: { drift_allowance_g: 10, change_threshold_g: 6 }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session, scales: () => scales }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  upsertProduct(ledger.db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 920, toleranceG: 20 });
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 0 });
  s = await signedIn(app, ledger.db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: s.post, payload: payload as Record<string, unknown> });
const lastAudit = () => listAudit(ledger.db, { limit: 1 })[0]!;

describe('weighing rules', () => {
  it.each([
    [2760, 920, 20, { ok: true, count: 3 }],
    [2790, 920, 20, { ok: true, count: 3 }],
    [1400, 920, 20, { ok: false }],
    [3, 920, 20, { ok: true, count: 0 }],
    [-4, 400, 10, { ok: true, count: 0 }],
    [40_300, 400, 10, { ok: true, count: 101 }],
  ])('%d g of %d g items (±%d g)', (w, unit, tol, expected) => {
    expect(countFromWeight(w, unit, tol)).toMatchObject(expected);
  });
  it('trusts a known weight read within 1 % (at least 2 g)', () => {
    expect(scaleCheck(1001.5, 1000)).toMatchObject({ ok: true, allowed_g: 10 });
    expect(scaleCheck(1012, 1000)).toMatchObject({ ok: false, error_g: 12 });
    expect(scaleCheck(103, 100)).toMatchObject({ ok: false, allowed_g: 2 });
  });
});

describe('shelves', () => {
  it('lists each slot with its product, stock, weight now and the count that weight makes', async () => {
    const res = await as(s)(app, '/api/shelves');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.next).toBeNull();
    expect(body.items).toEqual([
      { slot: 'A1', address: 11, unit_id: null, sku: 'salt', name: '食盐', stock: 0, scale: 'ok', weight_g: 0, counted: 0 },
      { slot: 'B1', address: 13, unit_id: null, sku: 'oil', name: '菜籽油', stock: 5, scale: 'ok', weight_g: 2760, counted: 3 },
    ]);
    expect(body.products.map((p: { sku: string }) => p.sku)).toEqual(['oil', 'salt']);
  });

  it('refuses a product edit or a slot assignment while someone is inside (their visit is priced with them); nothing changed', async () => {
    engine.phase = 'shopping';
    const price = await post('/api/products/oil', { price: 300 });
    const slot = await post('/api/slots/A1', { address: 11, sku: 'oil' });
    engine.phase = 'idle';
    for (const res of [price, slot]) {
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: 'STORE_BUSY', zh: expect.stringContaining('修改商品和货位') });
    }
    expect(getProduct(ledger.db, 'oil')!.price).toBe(30);
    expect(getSlot(ledger.db, 'A1')!.sku).toBe('salt');
  });

  it('counts a shelf: stock set from the weight, audited; refused while someone is inside or the weight is not whole', async () => {
    engine.phase = 'shopping';
    const busy = await post('/api/shelves/B1/count', {});
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toMatchObject({ error: 'STORE_BUSY' });
    expect(busy.json().zh).toMatch(/店里有人/);
    engine.phase = 'idle';
    scales.weights.set('B1', 1400);
    const odd = await post('/api/shelves/B1/count', {});
    expect(odd.statusCode).toBe(422);
    expect(odd.json()).toMatchObject({ error: 'NOT_WHOLE_COUNT', fields: { slot: { zh: expect.stringContaining('不是整数件') } } });
    expect(getSlot(ledger.db, 'B1')!.stock).toBe(5);
    scales.weights.set('B1', 2760);
    const res = await post('/api/shelves/B1/count', {});
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ slot: 'B1', weight_g: 2760, stock_before: 5, stock: 3 });
    expect(getSlot(ledger.db, 'B1')!.stock).toBe(3);
    expect(lastAudit()).toMatchObject({ actor: 'wang', action: 'slot.count', target: 'B1', before: { stock: 5 }, after: { stock: 3, weight_g: 2760 } });
  });

  it('refuses without a session (401), without CSRF (403), an unknown slot (404), all bilingual', async () => {
    const anon = await app.inject({ method: 'POST', url: '/api/shelves/B1/count', payload: {} });
    expect(anon.statusCode).toBe(401);
    const noCsrf = await app.inject({ method: 'POST', url: '/api/shelves/B1/count', headers: { cookie: s.cookie }, payload: {} });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ error: 'CSRF_REJECTED' });
    const unknown = await post('/api/shelves/Z9/count', {});
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'UNKNOWN_SLOT', zh: expect.stringContaining('Z9') });
  });

  it('calibration wizard: zero the confirmed-empty slot, then save a known weight read right; a scale far off is refused', async () => {
    const unconfirmed = await post('/api/shelves/A1/zero', { confirm_empty: false });
    expect(unconfirmed.statusCode).toBe(400);
    expect(unconfirmed.json().fields.confirm_empty.zh).toMatch(/确认货位已空/);
    expect(scales.zeroed).toEqual([]);
    scales.weights.set('A1', 6);
    const zero = await post('/api/shelves/A1/zero', { confirm_empty: true });
    expect(zero.statusCode).toBe(200);
    expect(scales.zeroed).toEqual(['A1']);
    expect(lastAudit()).toMatchObject({ action: 'slot.zero', target: 'A1', before: { weight_g: 6 } });
    scales.weights.set('A1', 1004);
    const ok = await post('/api/shelves/A1/calibrate', { known_g: 1000 });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ known_g: 1000, measured_g: 1004, error_g: 4 });
    expect(lastAudit()).toMatchObject({ action: 'slot.calibrate', after: { known_g: 1000, measured_g: 1004 } });
    scales.weights.set('A1', 1050);
    const off = await post('/api/shelves/A1/calibrate', { known_g: 1000 });
    expect(off.statusCode).toBe(422);
    expect(off.json()).toMatchObject({ error: 'SCALE_OFF', fields: { known_g: { zh: expect.stringContaining('1050') } } });
    scales.weights.set('A1', null);
    expect((await post('/api/shelves/A1/calibrate', { known_g: 1000 })).json()).toMatchObject({ error: 'NOT_STABLE' });
    const bad = await post('/api/shelves/A1/calibrate', { known_g: -3 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().fields).toHaveProperty('known_g');
    scales.weights.set('A1', 0);
  });

  it('without scales, weighing answers 503 bilingual', async () => {
    const bare = buildApp({ store, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
    const t = await signedIn(bare, ledger.db);
    const res = await bare.inject({ method: 'POST', url: '/api/shelves/B1/count', headers: t.post, payload: {} });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'SCALES_UNAVAILABLE', zh: expect.stringContaining('秤') });
    await bare.close();
  });

  it('adds and edits products and prices, audited; duplicates and bad fields refused', async () => {
    const add = await post('/api/products', { sku: 'soap', name: '肥皂', price: 8, unit_g: 120, tolerance_g: 8 });
    expect(add.statusCode).toBe(201);
    expect(lastAudit()).toMatchObject({ action: 'product.add', target: 'soap', before: null, after: { price: 8 } });
    const dup = await post('/api/products', { sku: 'soap', name: '肥皂', price: 8, unit_g: 120, tolerance_g: 8 });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().fields).toHaveProperty('sku');
    const bad = await post('/api/products', { sku: 'x y', name: '', price: -1, unit_g: 0, tolerance_g: 1 });
    expect(bad.statusCode).toBe(400);
    expect(Object.keys(bad.json().fields).length).toBeGreaterThan(0);
    const tol = await post('/api/products/soap', { tolerance_g: 60 });
    expect(tol.statusCode).toBe(400);
    expect(getProduct(ledger.db, 'soap')!.toleranceG).toBe(8);
    const edit = await post('/api/products/soap', { price: 9, active: false });
    expect(edit.statusCode).toBe(200);
    expect(getProduct(ledger.db, 'soap')).toMatchObject({ price: 9, active: false });
    expect(lastAudit()).toMatchObject({ action: 'product.edit', before: { price: 8, active: true }, after: { price: 9, active: false } });
    expect((await post('/api/products/nope', { price: 1 })).statusCode).toBe(404);
  });

  it('refuses a product whose one item the shelves would take for drift (it would never be charged), naming the limit; nor binds a slot to one', async () => {
    const gum = await post('/api/products', { sku: 'gum', name: '口香糖', price: 5, unit_g: 8, tolerance_g: 1 });
    expect(gum.statusCode).toBe(400);
    expect(gum.json()).toMatchObject({ error: 'INVALID_ARGUMENT', message: expect.stringContaining('more than 10 g'), zh: expect.stringContaining('大于 10 克') });
    expect(getProduct(ledger.db, 'gum')).toBeUndefined();
    // 14 g ± 4 g: one item may weigh 10 g, no more than the drift allowance
    expect((await post('/api/products', { sku: 'gum', name: '口香糖', price: 5, unit_g: 14, tolerance_g: 4 })).statusCode).toBe(400);
    expect((await post('/api/products', { sku: 'gum', name: '口香糖', price: 5, unit_g: 15, tolerance_g: 4 })).statusCode).toBe(201);
    expect((await post('/api/products/gum', { unit_g: 12 })).statusCode).toBe(400);
    expect(getProduct(ledger.db, 'gum')!.unitG).toBe(15);
    // a product stored under a laxer config (or before the limit) is not bound to a slot
    upsertProduct(ledger.db, { sku: 'mint', name: '薄荷糖', price: 2, unitG: 5, toleranceG: 1 }, { limits: { drift_allowance_g: 3, change_threshold_g: 3 } });
    const bind = await post('/api/slots/D1', { address: 20, sku: 'mint' });
    expect(bind.statusCode).toBe(400);
    expect(getSlot(ledger.db, 'D1')).toBeUndefined();
  });

  it('assigns a slot to a product and a scale; a slot still holding goods keeps its product', async () => {
    const made = await post('/api/slots/C1', { address: 14, sku: 'soap' });
    expect(made.statusCode).toBe(201);
    expect(lastAudit()).toMatchObject({ action: 'slot.assign', target: 'C1', before: null, after: { address: 14, sku: 'soap' } });
    const moved = await post('/api/slots/C1', { address: 15, sku: 'soap' });
    expect(moved.statusCode).toBe(200);
    expect(getSlot(ledger.db, 'C1')).toMatchObject({ address: 15, stock: 0 });
    const held = await post('/api/slots/B1', { address: 13, sku: 'soap' });
    expect(held.statusCode).toBe(409);
    expect(held.json()).toMatchObject({ error: 'SLOT_NOT_EMPTY', fields: { sku: { zh: expect.stringContaining('请先清空') } } });
    expect(getSlot(ledger.db, 'B1')!.sku).toBe('oil');
    expect((await post('/api/slots/C1', { address: 300 })).statusCode).toBe(400);
  });

  it('serves the page with the wizard, the count and the product forms; a refused form gets a page back', async () => {
    const page = await as(s)(app, '/shelves');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('action="/api/shelves/B1/count"');
    expect(page.body).toContain('name="confirm_empty"');
    expect(page.body).toContain('action="/api/products/oil"');
    const en = await as(s)(app, '/shelves?lang=en');
    expect(en.body).toContain('Count the shelf');
    const form = await app.inject({ method: 'POST', url: '/api/shelves/A1/zero', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(s.csrf)}&confirm_empty=false` });
    expect(form.statusCode).toBe(400);
    expect(form.headers['content-type']).toMatch(/text\/html/);
    expect(form.body).toContain('<div class="field-error" role="alert" data-field="confirm_empty">请先把货位上的东西全部拿走');
  });
});
