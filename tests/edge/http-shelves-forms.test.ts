/**
 * The /shelves page's refusals (fastify.inject): a refused product form comes back as the page
 * with the bilingual message beside its field and what was typed kept, while an API client still
 * gets JSON; a slot's scale address is the config's (drivers.scales.list), shown read-only, and a
 * different one is refused instead of saved and never used; zeroing a slot that still reads whole
 * items of its product (stock on record) is refused, naming the reading and what it looks like.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { getProduct, getSlot, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

/** The shelf scales as the driver reports them: each slot's configured unit id, weights set by the test. */
class FakeScales implements ShelfScales {
  units = new Map([['A1', 11], ['B1', 13]]);
  weights = new Map<string, number | null>([['A1', 0], ['B1', 1840]]);
  zeroed: string[] = [];
  status() {
    return [...this.weights].map(([slot, g]) => ({ slot, unit_id: this.units.get(slot)!, health: 'ok', stable_g: g }));
  }
  async zero(slot: string): Promise<void> {
    this.zeroed.push(slot);
    this.weights.set(slot, 0);
  }
}

const ledger = tempLedger();
const scales = new FakeScales();
const store = { id: 's1', village: 'v1', name: '前进村积分超市' };
const app = buildApp({ store, weighLimits: { drift_allowance_g: 10, change_threshold_g: 6 }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, scales: () => scales }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  upsertProduct(ledger.db, { sku: 'oil', name: '食用油', price: 30, unitG: 920, toleranceG: 20 });
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
  upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 0 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 2 });
  s = await signedIn(app, ledger.db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
/** A form posted by the browser (urlencoded, asking for HTML). */
const form = (url: string, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER }, payload: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString() });
const post = (url: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url, headers: s.post, payload });
/** The message shown beside a field of the page. */
const fieldError = (html: string, field: string): string | undefined => new RegExp(`<div class="field-error" role="alert" data-field="${field}">([^<]*)</div>`).exec(html)?.[1];
/** The form of the page with this action, as markup. */
const formAt = (html: string, action: string): string => {
  const at = html.indexOf(`action="${action}"`);
  return at < 0 ? '' : html.slice(at, html.indexOf('</form>', at));
};

describe('refused product forms on /shelves', () => {
  it('adding a product whose code exists: the page again, the message beside the code, what was typed kept; JSON for an API client', async () => {
    const res = await form('/api/products', { sku: 'salt', name: '新盐', price: '99', unit_g: '400', tolerance_g: '10' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const add = formAt(res.body, '/api/products');
    expect(fieldError(add, 'sku')).toMatch(/已存在.*\/.*exists already/);
    expect(add).toContain('value="新盐"');
    expect(add).toContain('value="99"');
    expect(add).toMatch(/name="sku"[^>]*value="salt"[^>]*autofocus/);
    expect(getProduct(ledger.db, 'salt')).toMatchObject({ name: '食盐', price: 5 });
    const api = await post('/api/products', { sku: 'salt', name: '新盐', price: 99, unit_g: 400, tolerance_g: 10 });
    expect(api.statusCode).toBe(409);
    expect(api.json()).toMatchObject({ error: 'DUPLICATE_ID', fields: { sku: { zh: expect.stringContaining('已存在') } } });
  });

  it('adding a product too light for the scales: the message beside the unit weight, naming the limit', async () => {
    const res = await form('/api/products', { sku: 'gum', name: '口香糖', price: '1', unit_g: '3', tolerance_g: '1' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const add = formAt(res.body, '/api/products');
    expect(fieldError(add, 'unit_g')).toMatch(/大于 10 克.*\/.*more than 10 g/);
    expect(add).toContain('value="口香糖"');
    expect(add).toContain('value="gum"');
    expect(getProduct(ledger.db, 'gum')).toBeUndefined();
  });

  it("editing a product's unit weight too light: its row's form again with the message and the typed weight; the product unchanged", async () => {
    const res = await form('/api/products/salt', { name: '食盐', price: '5', unit_g: '4', tolerance_g: '1', active: 'true' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const row = formAt(res.body, '/api/products/salt');
    expect(fieldError(row, 'unit_g')).toMatch(/太轻.*\/.*too light/);
    expect(row).toMatch(/name="unit_g"[^>]*value="4"/);
    expect(row).toMatch(/name="tolerance_g"[^>]*value="1"/);
    // the other products' forms show their own values, with no message
    expect(fieldError(formAt(res.body, '/api/products/oil'), 'unit_g')).toBeUndefined();
    expect(formAt(res.body, '/api/products/oil')).toMatch(/name="unit_g"[^>]*value="920"/);
    expect(getProduct(ledger.db, 'salt')!.unitG).toBe(400);
    const api = await post('/api/products/salt', { unit_g: 4, tolerance_g: 1 });
    expect(api.statusCode).toBe(400);
    expect(api.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { unit_g: { zh: expect.stringContaining('太轻') } } });
  });
});

describe("a slot's scale address is the config's", () => {
  it('shows the configured unit id read-only, with where to change it', async () => {
    const page = (await as(s)(app, '/shelves')).body;
    expect(formAt(page, '/api/slots/A1')).toMatch(/name="address"[^>]*value="11"[^>]*readonly/);
    expect(page).toContain('drivers.scales.list');
    expect(page).toContain('store-edge start');
    const items = (await as(s)(app, '/api/shelves')).json().items;
    expect(items.find((i: { slot: string }) => i.slot === 'A1')).toMatchObject({ address: 11, unit_id: 11 });
  });

  it('refuses an address other than the configured one, bilingual, naming the config key; the slot unchanged', async () => {
    const res = await post('/api/slots/A1', { address: 99, sku: 'salt' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      error: 'SCALE_ADDRESS_CONFIGURED',
      message: expect.stringContaining('drivers.scales.list'),
      zh: expect.stringContaining('unit_id'),
      fields: { address: { zh: expect.stringContaining('11') } },
    });
    expect(getSlot(ledger.db, 'A1')!.address).toBe(11);
    const page = await form('/api/slots/A1', { address: '99', sku: 'salt' });
    expect(page.statusCode).toBe(409);
    expect(fieldError(formAt(page.body, '/api/slots/A1'), 'address')).toMatch(/配置文件.*\/.*config file/);
    // the configured address is taken (the page sends it), and a slot the config has no scale for keeps what is given
    expect((await post('/api/slots/A1', { address: 11, sku: 'salt' })).statusCode).toBe(200);
    expect((await post('/api/slots/C9', { address: 40, sku: '' })).statusCode).toBe(201);
  });
});

describe('a product on a slot no scale weighs', () => {
  it('is refused, bilingual, naming the slot and the scale slots there are, as `slots set` refuses it; the slot unchanged', async () => {
    upsertSlot(ledger.db, { slot: 'C8', address: 48, sku: null, stock: 0 });
    const res = await post('/api/slots/C8', { address: 48, sku: 'salt' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      error: 'SLOT_WITHOUT_SCALE',
      message: expect.stringContaining('slot C8 has no scale: drivers.scales.list of the config weighs only A1, B1'),
      zh: expect.stringContaining('货位 C8 没有秤'),
      fields: { sku: { zh: expect.stringContaining('A1、B1') } },
    });
    expect(getSlot(ledger.db, 'C8')!.sku).toBeNull();
    const page = await form('/api/slots/C8', { address: '48', sku: 'salt' });
    expect(page.statusCode).toBe(409);
    expect(fieldError(formAt(page.body, '/api/slots/C8'), 'sku')).toMatch(/货位 C8 没有秤.*\/ slot C8 has no scale/);
    expect(getSlot(ledger.db, 'C8')!.sku).toBeNull();
    // without a product it may stay there: nothing on it is sold
    expect((await post('/api/slots/C8', { address: 48, sku: '' })).statusCode).toBe(200);
  });
});

describe('zero with goods on the slot', () => {
  it('refuses while the slot reads whole items of its product and the ledger has some, naming the reading; nothing zeroed', async () => {
    const res = await post('/api/shelves/B1/zero', { confirm_empty: true });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      error: 'SLOT_NOT_EMPTY',
      message: expect.stringContaining('reads 1840 g, looks like 2 × 食用油: take them off first'),
      zh: expect.stringContaining('读数 1840 克，像是 2 件 食用油'),
      fields: { confirm_empty: { zh: expect.stringContaining('请先把它们拿走') } },
    });
    // one item at its lightest is enough to refuse
    scales.weights.set('B1', 900);
    const page = await form('/api/shelves/B1/zero', { confirm_empty: 'true' });
    expect(page.statusCode).toBe(409);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(fieldError(formAt(page.body, '/api/shelves/B1/zero'), 'confirm_empty')).toMatch(/读数 900 克，像是 1 件 食用油.*\/.*reads 900 g/);
    expect(scales.zeroed).toEqual([]);
  });

  it('zeroes a slot reading less than one item, or one whose stock on record is 0', async () => {
    scales.weights.set('B1', 879);
    expect((await post('/api/shelves/B1/zero', { confirm_empty: true })).statusCode).toBe(200);
    scales.weights.set('A1', 800);
    expect((await post('/api/shelves/A1/zero', { confirm_empty: true })).statusCode).toBe(200);
    expect(scales.zeroed).toEqual(['B1', 'A1']);
  });
});
