/**
 * OpenAPI at /docs: behind the login, built from the routes' schemas, Swagger UI served from
 * this server (no CDN); and the JSON style of the API checked on the description itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
beforeAll(async () => {
  s = await signedIn(app, ledger.db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

interface Op { requestBody?: unknown; responses?: Record<string, { content?: Record<string, { schema?: { properties?: Record<string, unknown>; type?: string } }> }>; parameters?: Array<{ name: string }> }

describe('API docs', () => {
  it('is behind the login', async () => {
    for (const url of ['/docs', '/docs/json']) {
      const page = await app.inject(url);
      expect(page.statusCode).toBe(303);
      expect(page.headers.location).toMatch(/^\/login\?next=/);
    }
  });

  it('describes the routes from their schemas; the UI and its scripts come from this server', async () => {
    const doc = (await as(s)(app, '/docs/json')).json() as { openapi: string; paths: Record<string, Record<string, Op>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/api/live/now', '/api/shelves', '/api/villagers/search', '/api/villagers/{id}/history', '/api/receipts/{session}/refund', '/api/audit', '/api/review/{id}/resolve']) expect(doc.paths).toHaveProperty([p]);
    // every state-changing API route documents its body
    const posts = Object.entries(doc.paths).flatMap(([p, ops]) => (ops.post && p.startsWith('/api/') ? [[p, ops.post] as const] : []));
    expect(posts.length).toBeGreaterThan(10);
    expect(posts.filter(([, op]) => !op.requestBody).map(([p]) => p)).toEqual([]);
    // lists are {items, next}
    for (const p of ['/api/shelves', '/api/villagers/search', '/api/audit', '/api/review']) {
      const props = doc.paths[p]!.get!.responses!['200']!.content!['application/json']!.schema!.properties!;
      expect(Object.keys(props)).toEqual(expect.arrayContaining(['items', 'next']));
    }
    const ui = await as(s)(app, '/docs');
    expect(ui.statusCode).toBe(200);
    expect(ui.body).not.toMatch(/https?:\/\/(?!localhost)[a-z0-9.-]+\/[^"']*\.(js|css)/i);
    const scripts = [...ui.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).toMatch(/^\/docs\/static\//);
      expect((await as(s)(app, src)).statusCode).toBe(200);
    }
  });

  it('answers an unknown API path and an unknown page with the bilingual 404', async () => {
    const res = await as(s)(app, '/api/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'NOT_FOUND', message: expect.any(String), zh: expect.any(String) });
  });
});
