/**
 * bench:admin — the admin API under load while villagers shop. The real daemon on simulated
 * hardware (the in-process scenario runner) runs the same shopping twice: once with nobody on
 * the admin page (idle), once with 50 signed-in clients (in a worker thread, as the tablets
 * they stand for are other devices) calling the admin API back to back from the moment the
 * page listens until the last receipt: the live picture, shelves, villager search, audit,
 * review queue, door events. Reports the admin API's latency percentiles and the hot loop's
 * (exit button → receipt) p99 idle and loaded; the target is loaded ≤ idle × 1.10.
 * `-- --sessions N` per run (default 160, over 30 s of shopping under load on this machine: the issue
 * asks for 30 s of load); the last line on stdout is the JSON object.
 */
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { parseScenario } from '../harness/scenario/scenario.ts';
import { runScenario } from '../harness/scenario/run.ts';
import { summarise, round } from './stats.ts';

const args = process.argv.slice(2);
const n = Number(args[args.indexOf('--sessions') + 1] ?? 160);
const SESSIONS = args.includes('--sessions') && Number.isInteger(n) && n > 0 ? n : 160;
const CLIENTS = 50;
const PASSWORD = 'bench-password-0123';
const ROUTES = ['/api/live/now', '/api/shelves', '/api/villagers/search?q=%E6%9D%91%E6%B0%91&limit=50', '/api/audit?limit=50', '/api/review', '/api/store', '/api/events?limit=20'];

function scenario() {
  const steps: unknown[] = [];
  const taken = { A1: 0, A2: 0 };
  for (let i = 0; i < SESSIONS; i++) {
    const slot = i % 2 ? 'A1' : 'A2';
    taken[slot] += 1;
    steps.push({ enter: { villager: `v${i % 20}`, by: 'card' } }, { take: { slot, count: 1 } }, { exit: {} });
    if (i % 40 === 39) {
      steps.push({ restock: { maintainer: 'chen', add: [{ slot: 'A1', count: taken.A1 }, { slot: 'A2', count: taken.A2 }] } });
      taken.A1 = taken.A2 = 0;
    }
  }
  return parseScenario({
    name: 'bench-admin',
    products: [{ sku: 'salt', name: '食盐', price: 1, unit_g: 400, tolerance_g: 10 }, { sku: 'soap', name: '洗衣皂', price: 1, unit_g: 230, tolerance_g: 8 }],
    slots: [{ slot: 'A1', scale: 11, sku: 'salt', stock: 60 }, { slot: 'A2', scale: 12, sku: 'soap', stock: 60 }],
    villagers: [
      ...Array.from({ length: 20 }, (_, i) => ({ id: `v${i}`, name: `村民${i}`, balance: 100_000, card: `PB-${1000 + i}` })),
      ...Array.from({ length: 400 }, (_, i) => ({ id: `w${String(i).padStart(3, '0')}`, name: `村民${100 + i}`, balance: 50 })),
      { id: 'chen', name: '老陈', balance: 0, card: 'ADMIN-01', maintainer: true },
    ],
    steps,
  });
}

/** The first account through the setup link the daemon logs; the session cookie. */
async function setup(setupUrl: string): Promise<string> {
  const cookieOf = (res: Response): string => res.headers.getSetCookie().find((c) => c.startsWith('store_admin='))!.split(';')[0]!;
  const page = await fetch(setupUrl);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(new URL('/setup', setupUrl), {
    method: 'POST',
    headers: { cookie: cookieOf(page), 'x-csrf-token': csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ token: new URL(setupUrl).searchParams.get('token'), username: 'bench', display_name: 'bench', password: PASSWORD, password_confirm: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  return cookieOf(res);
}

/** Plain JavaScript, evaluated as the clients' worker. */
const CLIENT_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { base, cookie, clients, routes } = workerData;
let running = true;
let counting = true;
const latencies = [];
const statuses = {};
const t0 = performance.now();
let t1 = 0;
const loops = Array.from({ length: clients }, async (_, c) => {
  for (let i = c; running; i++) {
    const start = performance.now();
    try {
      const res = await fetch(base + routes[i % routes.length].slice(1), { headers: { cookie } });
      await res.arrayBuffer();
      if (counting) statuses[res.status] = (statuses[res.status] || 0) + 1;
    } catch (err) {
      if (counting) statuses.error = (statuses.error || 0) + 1;
    }
    if (counting) latencies.push(performance.now() - start);
  }
});
parentPort.on('message', async (m) => {
  // after the last receipt the runner stops the daemon: requests then in flight fail by design
  if (m === 'shopping over' && counting) { counting = false; t1 = performance.now(); }
  if (m === 'stop') {
    running = false;
    await Promise.all(loops);
    parentPort.postMessage({ latencies, statuses, seconds: ((t1 || performance.now()) - t0) / 1000 });
  }
});
`;

interface Run { exitToReceipt: number[]; sessions: number; mismatches: number; admin?: { latencies: number[]; statuses: Record<string, number>; seconds: number } }

async function run(withLoad: boolean): Promise<Run> {
  let worker: Promise<Worker> | undefined;
  let cookie: Promise<string> | undefined;
  let receipts = 0;
  const logger = pino({ level: 'info' }, {
    write(line: string): void {
      if (!withLoad) return;
      const setupUrl = /"setup_url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
      if (setupUrl && !cookie) cookie = setup(setupUrl);
      const url = /"url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
      if (url && cookie && !worker) worker = cookie.then((c) => new Worker(CLIENT_CODE, { eval: true, workerData: { base: url, cookie: c, clients: CLIENTS, routes: ROUTES } }));
      if (line.includes('"event":"receipt"') && ++receipts === SESSIONS + Math.floor(SESSIONS / 40)) void worker?.then((w) => w.postMessage('shopping over'));
    },
  });
  const result = await runScenario(scenario(), { logger });
  let admin: Run['admin'];
  if (worker) {
    const w = await worker;
    w.postMessage('shopping over');
    admin = await new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage('stop');
    });
    await w.terminate();
  }
  const exitToReceipt = result.receipts.filter((r) => r.exit_to_receipt_ms !== null && r.villager !== 'chen').map((r) => r.exit_to_receipt_ms as number);
  return { exitToReceipt, sessions: result.sessions.filter((s) => s.kind === 'shopping' && s.status === 'settled').length, mismatches: result.invariants.balance_mismatches, ...(admin ? { admin } : {}) };
}

const idle = await run(false);
const loaded = await run(true);
const hotIdle = summarise(idle.exitToReceipt);
const hotLoaded = summarise(loaded.exitToReceipt);
const adminLat = summarise(loaded.admin?.latencies ?? []);
const change = round(((hotLoaded.p99 - hotIdle.p99) / hotIdle.p99) * 100, 1);
const out = {
  bench: 'admin-load',
  clients: CLIENTS,
  sessions_per_run: SESSIONS,
  settled: { idle: idle.sessions, loaded: loaded.sessions },
  admin_seconds: round(loaded.admin?.seconds ?? 0, 1),
  admin_requests: loaded.admin?.latencies.length ?? 0,
  admin_rps: round((loaded.admin?.latencies.length ?? 0) / (loaded.admin?.seconds || 1), 1),
  admin_statuses: loaded.admin?.statuses ?? {},
  admin_latency_ms: adminLat,
  hot_loop: 'exit button → receipt',
  hot_loop_p99_idle_ms: hotIdle.p99,
  hot_loop_p99_loaded_ms: hotLoaded.p99,
  hot_loop_p99_change_pct: change,
  target_met: change <= 10,
  balance_mismatches: idle.mismatches + loaded.mismatches,
};
process.stderr.write(`admin API: ${out.admin_rps} rps over ${out.admin_seconds} s, p50 ${adminLat.p50} ms, p99 ${adminLat.p99} ms; hot loop p99 idle ${hotIdle.p99} ms, loaded ${hotLoaded.p99} ms (${change} %)\n`);
console.log(JSON.stringify(out));
