/**
 * A schema refusal says, in both languages, what the field expects and names it: never Ajv's
 * words (`must match pattern "^[A-Za-z0-9_.-]+$"`, `must be integer`, `must be > 0`) nor 取值无效.
 * The shared translation (edge/http/validation-words.ts) serves every form, the shelf page's too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});
beforeAll(async () => {
  upsertProduct(ledger.db, { sku: 'soap', name: '肥皂', price: 5, unitG: 230, toleranceG: 10 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'soap', stock: 4 });
  s = await signedIn(app, ledger.db);
});

const BROWSER = 'text/html,application/xhtml+xml';
const form = (url: string, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER }, payload: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString() });
const RAW = /must match pattern|must be integer|must be >|取值无效/;

describe('schema refusals say what is expected', () => {
  it('a SKU with a space: SKU may contain only letters, digits and _.- (both languages, API and page)', async () => {
    const api = await app.inject({ method: 'POST', url: '/api/products', headers: s.post, payload: { sku: 'bad sku', name: '坏', price: 1, unit_g: 10, tolerance_g: 1 } });
    expect(api.statusCode).toBe(400);
    expect(api.json().fields.sku).toEqual({ zh: 'SKU 只能用字母、数字和 _.-', message: 'SKU may contain only letters, digits and _.-' });
    expect(api.json().zh).toContain('SKU 只能用字母、数字和 _.-');
    const page = await form('/api/products', { sku: 'bad sku', name: '坏', price: '1', unit_g: '10', tolerance_g: '1' });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('SKU may contain only letters, digits and _.-');
    expect(page.body).not.toMatch(RAW);
  });

  it('an empty refund amount: 积分：请填写整数 / Points: enter a whole number', async () => {
    const api = await app.inject({ method: 'POST', url: '/api/receipts/some-visit/refund', headers: { ...s.post, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, payload: new URLSearchParams({ points: '', reason: '过期' }).toString() });
    expect(api.statusCode).toBe(400);
    expect(api.json().fields.points).toEqual({ zh: '积分：请填写整数', message: 'Points: enter a whole number' });
    const page = await form('/api/receipts/some-visit/refund', { points: '', reason: '过期' });
    expect(page.body).toContain('积分：请填写整数');
    expect(page.body).toContain('Points: enter a whole number');
    expect(page.body).not.toMatch(RAW);
  });

  it('a calibration of −5 g: must be more than 0, naming the field', async () => {
    const api = await app.inject({ method: 'POST', url: '/api/shelves/B1/calibrate', headers: s.post, payload: { known_g: -5 } });
    expect(api.statusCode).toBe(400);
    expect(api.json().fields.known_g).toEqual({ zh: '砝码重量须大于 0', message: 'Known weight must be more than 0' });
    expect(JSON.stringify(api.json())).not.toMatch(RAW);
  });

  it('a missing field is asked for by name', async () => {
    const api = await app.inject({ method: 'POST', url: '/api/products', headers: s.post, payload: { sku: 'ok', price: 1, unit_g: 10, tolerance_g: 1 } });
    expect(api.json().fields.name).toEqual({ zh: '请填写名称', message: 'Name is required' });
  });
});
