/**
 * The admin page under load while villagers shop: the real daemon on simulated hardware (the
 * in-process scenario runner), 50 clients fetching `/` back to back from the moment the page
 * listens until the last villager has left, and eight purchases by four villagers (of a village
 * of 400) meanwhile.
 * Every purchase is charged exactly its price; no slot ends as `not_stable` (or any other
 * review line), however slowly the scale sweeps come round under the page's load. The page
 * sheds load (503 BUSY) while the event loop is behind rather than starve the scales.
 *
 * The clients run in a worker thread (the tablets they stand for are other devices); the
 * daemon's event loop serves their requests and polls the scales. They sign in first: the first admin account is
 * made through the setup link the daemon logs while it starts (before the runner's first
 * step), and every client fetches with that session.
 */
import { Worker } from 'node:worker_threads';
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
 * The clients, in a worker thread: like the tablets and phones they stand for, their own work
 * (building requests, reading 36 kB pages) is not done on the daemon's event loop, which serves
 * the 50 concurrent requests and polls the scales. Plain JavaScript, evaluated as the worker.
 */
const CLIENT_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, cookie, clients } = workerData;
let running = true;
let counting = true;
const statuses = {};
const latencies = [];
const t0 = performance.now();
let answered = false;
const count = (k) => {
  if (counting) statuses[k] = (statuses[k] || 0) + 1;
  if (!answered && typeof k === 'number') { answered = true; parentPort.postMessage('answered'); }
};
const loops = Array.from({ length: clients }, async () => {
  while (running) {
    const start = performance.now();
    try {
      const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
      await res.text();
      count(res.status);
    } catch (err) {
      count(err.message + ': ' + String(err.cause));
    }
    latencies.push(performance.now() - start);
  }
});
parentPort.on('message', async (m) => {
  if (m === 'shopping over') counting = false;
  if (m === 'stop') {
    running = false;
    await Promise.all(loops);
    parentPort.postMessage({ statuses, latencies, seconds: (performance.now() - t0) / 1000 });
  }
});
parentPort.postMessage('started');
`;

/**
 * 50 clients fetching `url` back to back until `stop()`. What a request ends with (a status, or
 * the error) is counted until `shoppingOver()`: after the last receipt the runner stops the
 * daemon, and the requests then in flight fail by design.
 */
function loadPage(url: string, session: Promise<{ cookie: string }>) {
  const worker = session.then(({ cookie }) => new Worker(CLIENT_CODE, { eval: true, workerData: { url, cookie, clients: CLIENTS } }));
  return {
    /** Resolves once a client has had its first answer: the load is on before the shopping starts. */
    answering: worker.then((w) => new Promise<void>((resolve, reject) => {
      w.on('message', (m: unknown) => { if (m === 'answered') resolve(); });
      w.once('error', reject);
    })),
    shoppingOver: (): void => void worker.then((w) => w.postMessage('shopping over')),
    stop: async () => {
      const w = await worker;
      const result = new Promise<{ statuses: Record<string, number>; latencies: number[]; seconds: number }>((resolve, reject) => {
        w.on('message', (m: unknown) => {
          if (m !== 'started' && m !== 'answered') resolve(m as { statuses: Record<string, number>; latencies: number[]; seconds: number });
        });
        w.once('error', reject);
      });
      w.postMessage('stop');
      const { statuses, latencies, seconds } = await result;
      await w.terminate();
      const sorted = latencies.sort((a, b) => a - b);
      const p = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
      return {
        statuses: new Map<number | string, number>(Object.entries(statuses).map(([k, v]) => [/^\d+$/.test(k) ? Number(k) : k, v])),
        requests: latencies.length, rps: Math.round((latencies.length / seconds) * 10) / 10, p50_ms: p(0.5), p99_ms: p(0.99), seconds: Math.round(seconds * 10) / 10,
      };
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
        if (url && !load && session) load = loadPage(url, session);
        if (line.includes('"event":"receipt"') && ++receipts === visits.length) load?.shoppingOver();
      },
    });
    let measured: Awaited<ReturnType<ReturnType<typeof loadPage>['stop']>> | undefined;
    let r;
    try {
      // The shopping starts only once the clients are being answered: signing in (a scrypt hash,
      // then the worker) can take longer than eight purchases, and a load that starts after the
      // last receipt tests nothing.
      const beforeSteps = async (): Promise<void> => {
        for (let i = 0; !load && i < 600; i++) await new Promise((res) => setTimeout(res, 100));
        if (!load) throw new Error('the admin page never listened');
        await load.answering;
      };
      r = await runScenario(scenario, { logger, beforeSteps });
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

    // the page answered throughout the shopping: the page itself, or, while the event loop was
    // behind, the cheap 503 that sheds the page's load (edge/http/pressure.ts) — never an error
    expect(load, 'the admin page never listened').toBeDefined();
    expect([...statuses.keys()].filter((k) => k !== 200 && k !== 503)).toEqual([]);
    expect(statuses.get(200)).toBeGreaterThanOrEqual(CLIENTS);
  }, 300_000);
});
