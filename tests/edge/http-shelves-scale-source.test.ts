/**
 * Where the /shelves page says a slot's scale address comes from: the config file's
 * drivers.scales.list, or, in the demo (`npm start`, no scales configured), the demo store's
 * scales (harness/demo/scales.ts). Each message true in its case, in both languages: the page's
 * hint, a slot without a scale, and the refusal of another address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import type { ScaleListSource } from '../../edge/ledger/products.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

/** A1 weighed by unit 11; B2 (in the ledger) by no scale at all. */
const scales: ShelfScales = {
  status: () => [{ slot: 'A1', unit_id: 11, health: 'ok', stable_g: 0 }],
  zero: async () => {},
};

function rig(scaleSource: ScaleListSource | undefined) {
  const ledger = tempLedger();
  const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, scales: () => scales, ...(scaleSource ? { scaleSource } : {}) }, pino({ level: 'silent' }));
  let s: Signed;
  return {
    async start() {
      upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
      upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 0 });
      upsertSlot(ledger.db, { slot: 'B2', address: 12, sku: null, stock: 0 });
      s = await signedIn(app, ledger.db);
    },
    async stop() {
      await app.close();
      ledger.cleanup();
    },
    page: async (lang: 'zh' | 'en') => (await as(s)(app, `/shelves?lang=${lang}`)).body,
    assign: (address: number) => app.inject({ method: 'POST', url: '/api/slots/A1', headers: s.post, payload: { address, sku: 'salt' } }),
  };
}

/** The hint and the slot notes of the page, without the rest of it. */
const said = (body: string): string => `${/<p id="address-hint">([^<]*)<\/p>/.exec(body)?.[1] ?? ''} ${[...body.matchAll(/<small>([^<]*)<\/small>/g)].map((m) => m[1]).join(' ')}`;

describe('the demo: the scales are the demo store\'s, no config file gives them', () => {
  const r = rig({ kind: 'demo' });
  beforeAll(() => r.start());
  afterAll(() => r.stop());

  it('the page says so in both languages, and never names a config file as their source', async () => {
    const en = said(await r.page('en'));
    expect(en).toContain("demo store's scales");
    expect(en).toContain('fixtures/scenarios');
    expect(en).not.toMatch(/in the config file|in the config\b/);
    expect(en).toContain("no scale for this slot among the demo's");
    const zh = said(await r.page('zh'));
    expect(zh).toContain('演示门店');
    expect(zh).not.toContain('由配置文件');
    expect(zh).not.toContain('配置中没有此货位的秤');
  });

  it('another address is refused naming the demo\'s scales (409, bilingual)', async () => {
    const res = await r.assign(12);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'SCALE_ADDRESS_CONFIGURED' });
    expect(res.json().message).toContain('the demo (npm start) weighs on the demo store\'s scales');
    expect(res.json().zh).toContain('演示模式');
  });
});

describe('a store with its scales in its config file', () => {
  const r = rig({ kind: 'config' });
  beforeAll(() => r.start());
  afterAll(() => r.stop());

  it('the page names the config file, in both languages', async () => {
    const en = said(await r.page('en'));
    expect(en).toContain('drivers.scales.list in the config file');
    expect(en).toContain('no scale for this slot in the config');
    const zh = said(await r.page('zh'));
    expect(zh).toContain('由配置文件中 drivers.scales.list');
    expect(zh).toContain('配置中没有此货位的秤');
    const res = await r.assign(12);
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain('in the config file');
  });
});
