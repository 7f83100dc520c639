/**
 * The admin page under load while villagers shop: the real daemon on simulated hardware (the
 * in-process scenario runner), 50 clients fetching `/` back to back from the moment the page
 * listens until the last villager has left, and eight purchases by four villagers (of a village
 * of 400) meanwhile.
 * Every purchase is charged exactly its price; no slot ends as `not_stable` (or any other
 * review line), however slowly the scale sweeps come round under the page's load.
 *
 * The clients run in this process, on the daemon's own event loop: harsher for the scale
 * polling than clients in another process. They sign in first: the first admin account is
 * made through the setup link the daemon logs while it starts (before the runner's first
 * step), and every client fetches with that session.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseScenario } from '../../harness/scenario/scenario.ts';
import { runScenario } from '../../harness/scenario/run.ts';
import { invariants } from './invariants.ts';
import { setupHttp } from '../edge/admin-auth.ts';

const CLIENTS = 50;

const products = [
  { sku: 'salt', name: '食盐', price: 3, unit_g: 400, tolerance_g: 10 },
  { sku: 'soap', name: '洗衣皂', price: 5, unit_g: 230, tolerance_g: 8 },
  { sku: 'oil', name: '菜籽油', price: 30, unit_g: 900, tolerance_g: 15 },
];
const slots = [
  { slot: 'A1', scale: 11, sku: 'salt', stock: 10 },
  { slot: 'A2', scale: 12, sku: 'soap', stock: 10 },
  { slot: 'B1', scale: 13, sku: 'oil', stock: 6 },
];
const shoppers = [
  { id: 'zhang', name: '张三', balance: 100, card: 'PB-0001' },
  { id: 'li', name: '李四', balance: 100, card: 'PB-0002' },
  { id: 'wang', name: '王五', balance: 100, card: 'PB-0003' },
  { id: 'zhao', name: '赵六', balance: 100, card: 'PB-0004' },
];
/** The rest of the village, so that the page has a village's worth of rows to show. */
const VILLAGE = 400;
const villagers = [...shoppers, ...Array.from({ length: VILLAGE }, (_, i) => ({ id: `v${String(i).padStart(3, '0')}`, name: `村民${i}`, balance: 50 + (i % 50) }))];
/** Eight visits: who, what they do on the shelves, and what that must cost. */
const visits: Array<{ villager: string; shelves: Array<Record<string, unknown>>; points: number }> = [
  { villager: 'zhang', shelves: [{ take: { slot: 'A1', count: 1 } }], points: 3 },
  { villager: 'li', shelves: [{ take: { slot: 'A2', count: 2 } }, { return: { slot: 'A2', count: 1 } }], points: 5 },
  { villager: 'wang', shelves: [{ take: { slot: 'B1', count: 1 } }], points: 30 },
  { villager: 'zhao', shelves: [{ take: { slot: 'A1', count: 2 } }], points: 6 },
  { villager: 'zhang', shelves: [{ take: { slot: 'A2', count: 1 } }, { take: { slot: 'B1', count: 1 } }], points: 35 },
  { villager: 'li', shelves: [{ take: { slot: 'A1', count: 1 } }], points: 3 },
  { villager: 'wang', shelves: [{ take: { slot: 'A2', count: 2 } }], points: 10 },
  { villager: 'zhao', shelves: [{ take: { slot: 'B1', count: 1 } }], points: 30 },
];

const scenario = parseScenario({
  name: 'shopping-under-admin-load',
  products,
  slots,
  villagers,
  steps: visits.flatMap((v) => [{ enter: { villager: v.villager, by: 'card' } }, ...v.shelves, { exit: {} }]),
});

/**
 * 50 clients fetching `url` back to back until `stop()`. What a request ends with (a status, or
 * the error) is counted while `shopping()`: after the last receipt the runner stops the daemon,
 * and the requests then in flight fail by design.
 */
function loadPage(url: string, session: Promise<{ cookie: string }>, shopping: () => boolean) {
  let running = true;
  const statuses = new Map<number | string, number>();
  const latencies: number[] = [];
  const count = (k: number | string): void => {
    if (shopping()) statuses.set(k, (statuses.get(k) ?? 0) + 1);
  };
  const t0 = performance.now();
  const clients = Array.from({ length: CLIENTS }, async () => {
    const { cookie } = await session;
    while (running) {
      const start = performance.now();
      try {
        const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
        await res.text();
        count(res.status);
      } catch (err) {
        count(`${(err as Error).message}: ${String((err as { cause?: unknown }).cause)}`);
      }
      latencies.push(performance.now() - start);
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
      const sorted = latencies.sort((a, b) => a - b);
      const p = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
      const seconds = (performance.now() - t0) / 1000;
      return { statuses, requests: latencies.length, rps: Math.round((latencies.length / seconds) * 10) / 10, p50_ms: p(0.5), p99_ms: p(0.99), seconds: Math.round(seconds * 10) / 10 };
    },
  };
}

describe('the admin page under load while villagers shop', () => {
  it('50 concurrent clients on `/`: every purchase charged exactly its price, no not_stable review line', async () => {
    let load: ReturnType<typeof loadPage> | undefined;
    let session: ReturnType<typeof setupHttp> | undefined;
    let receipts = 0;
    const logger = pino({ level: 'info' }, {
      write(line: string): void {
        // the first-run setup link, the daemon's start-up line naming the admin page's
        // address, and each receipt
        const setupUrl = /"setup_url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
        if (setupUrl && !session) session = setupHttp(setupUrl);
        const url = /"url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
        if (url && !load && session) load = loadPage(url, session, () => receipts < visits.length);
        if (line.includes('"event":"receipt"')) receipts += 1;
      },
    });
    let measured: Awaited<ReturnType<ReturnType<typeof loadPage>['stop']>> | undefined;
    let r;
    try {
      r = await runScenario(scenario, { logger });
    } finally {
      measured = await load?.stop();
    }
    const { statuses, ...numbers } = measured ?? { statuses: new Map<number | string, number>() };
    console.info(JSON.stringify({ test: 'admin-load', clients: CLIENTS, purchases: visits.length, ...numbers, statuses: Object.fromEntries(statuses) }));

    invariants(r);
    expect(r.refused).toEqual([]);
    expect(r.sessions.map((s) => ({ villager: s.villager, status: s.status, total: s.total_points, charged: s.charged_points, review: s.review.map((x) => `${x.slot}:${x.reason}`) }))).toEqual(
      visits.map((v) => ({ villager: v.villager, status: 'settled', total: v.points, charged: v.points, review: [] })),
    );
    const spent = (id: string): number => visits.filter((v) => v.villager === id).reduce((n, v) => n + v.points, 0);
    expect(r.balances).toEqual(Object.fromEntries(villagers.map((v) => [v.id, v.balance - spent(v.id)])));
    expect(r.inventory).toEqual({ salt: 6, soap: 6, oil: 3 });

    // the page answered throughout the shopping, and every answer was the page
    expect(load, 'the admin page never listened').toBeDefined();
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThanOrEqual(CLIENTS);
  }, 300_000);
});
