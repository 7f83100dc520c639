/**
 * The first request to a route costs what every later one does: nothing is compiled then.
 * Reply schemas with unions (a field that may be null, a choice of shapes) are serialised with
 * Ajv validators, which fast-json-stringify compiles lazily by default, on the first reply
 * reaching them: 60–160 ms in one turn of the event loop per route (bench:admin, the first
 * requests of fifty tablets), inside a villager's exit → receipt. The app compiles them while
 * it is built (`serializerOpts.compileValidators`); this counts Ajv compilations during the
 * first requests to the routes the tablets poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed } from '../../edge/http/live-feed.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import type { ShelfScales } from '../../edge/http/shelf-math.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

// the Ajv that fast-json-stringify (fastify's serialiser) uses; every compilation goes through _compileSchemaEnv
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const Ajv = createRequire(fromFastify.resolve('fast-json-stringify'))('ajv') as { default: { prototype: { _compileSchemaEnv: (...a: unknown[]) => unknown } } };
const proto = Ajv.default.prototype;

const ledger = tempLedger();
const session: StoreStateSource = { phase: 'idle', current: null, cart: () => null };
const scales: ShelfScales = { status: () => [{ slot: 'A1', health: 'ok', stable_g: 800 }], zero: async () => undefined };
const live = new LiveFeed({ events: new EventEmitter<DaemonEvents>() });
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session, live, scales: () => scales }, pino({ level: 'silent' }));
let s: Signed;
let compiled: string[] = [];
const original = proto._compileSchemaEnv;

beforeAll(async () => {
  upsertProduct(ledger.db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertSlot(ledger.db, { slot: 'A1', address: 11, sku: 'salt', stock: 2 });
  s = await signedIn(app, ledger.db);
  live.start();
  proto._compileSchemaEnv = function (this: unknown, ...a: unknown[]) {
    compiled.push(String((a[0] as { baseId?: string } | undefined)?.baseId ?? '?'));
    return original.apply(this, a);
  };
});

afterAll(async () => {
  proto._compileSchemaEnv = original;
  live.stop();
  await app.close();
  ledger.cleanup();
});

describe('the first request to a route compiles nothing', () => {
  it.each(['/api/live/now', '/api/store', '/api/shelves', '/api/events?limit=20', '/api/audit?limit=50', '/api/review', '/api/villagers/search?q=x', '/api/admin-page'])('%s', async (url) => {
    compiled = [];
    const res = await app.inject({ url, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    expect(compiled).toEqual([]);
  });
});
