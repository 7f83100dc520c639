/**
 * The admin page sheds its own load rather than starve the store's work on the same event
 * loop: while the loop is kept busy, page and API requests get a cheap bilingual 503 with
 * Retry-After; /healthz and the public board are still answered; once it catches up, pages
 * are served again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { TEST_AUTH } from './admin-auth.ts';
import { CROWD } from '../../edge/http/pressure.ts';

const ledger = tempLedger();
afterAll(() => ledger.cleanup());
const store = { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' };

/** Holds the event loop for `ms` at a time, `times` times in a row, as a burst of heavy requests would. */
async function busyLoop(ms: number, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const end = performance.now() + ms;
    while (performance.now() < end) { /* the loop is held */ }
    await new Promise((r) => setImmediate(r));
  }
}

describe('load shedding on the admin page', () => {
  it('answers 503 with Retry-After while the event loop is behind, keeps /healthz and /board, and recovers', async () => {
    const app = buildApp({ store, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, maxEventLoopUtilization: 0.9 }, pino({ level: 'silent' }));
    await app.ready();
    try {
      let shed: Awaited<ReturnType<typeof app.inject>> | undefined;
      let alone: number | undefined;
      // Hold the loop until a sample sees it busy; a crowd of page requests then is shed, and
      // a single one is not.
      for (let round = 0; round < 100 && !shed; round++) {
        await busyLoop(200, 3);
        alone = (await app.inject({ url: '/api/me' })).statusCode;
        await busyLoop(200, 3);
        const crowd = await Promise.all(Array.from({ length: CROWD * 2 }, () => app.inject({ url: '/api/me' })));
        shed = crowd.find((r) => r.statusCode === 503);
      }
      expect(shed, 'never shed while the loop was held').toBeDefined();
      expect(alone, 'a single request shed').toBe(200);
      expect(shed!.headers['retry-after']).toBe('2');
      expect(shed!.json()).toMatchObject({ error: 'BUSY', zh: expect.stringContaining('繁忙') });
      const health = await app.inject({ url: '/healthz' });
      expect(health.json(), health.body).not.toMatchObject({ error: 'BUSY' });
      expect((await app.inject({ url: '/board' })).statusCode).toBe(200);
      // Once the loop is idle again the next samples clear the pressure.
      let served = false;
      for (let i = 0; i < 200 && !served; i++) {
        await new Promise((r) => setTimeout(r, 20));
        served = (await Promise.all(Array.from({ length: CROWD * 2 }, () => app.inject({ url: '/api/me' })))).every((r) => r.statusCode === 200);
      }
      expect(served, 'still shedding on an idle loop').toBe(true);
    } finally {
      await app.close();
    }
  }, 120_000);

  it('never sheds with the guard off (0)', async () => {
    const app = buildApp({ store, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, maxEventLoopUtilization: 0 }, pino({ level: 'silent' }));
    await app.ready();
    try {
      await busyLoop(200, 5);
      expect((await app.inject({ url: '/api/me' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
