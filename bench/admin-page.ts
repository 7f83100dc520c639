/**
 * bench:admin — the admin page under load: a daemon (simulated hardware, no demo loop) on a
 * ledger of 2,000 villagers, 400 settled sessions and 400 door decisions, and 50 clients
 * fetching `/` in a loop for 10 s, signed in as one admin account. Prints requests per second and latency percentiles; the
 * last line on stdout is the JSON object.
 *
 * `BENCH_DIR` chooses where the ledger goes (default: the system temp folder).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openLedger, closeLedger } from '../edge/ledger/db.ts';
import { addVillager } from '../edge/ledger/villagers.ts';
import { applyEntry } from '../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../edge/ledger/products.ts';
import { openSession, settleSession } from '../edge/ledger/sessions.ts';
import { insertEntryEvent } from '../edge/ledger/entry-events.ts';
import { addAdminAccount } from '../edge/ledger/admin-accounts.ts';
import { hashPassword } from '../edge/http/passwords.ts';
import { summarise, round, report } from './stats.ts';

const VILLAGERS = 2000;
const SESSIONS = 400;
const EVENTS = 400;
const CLIENTS = 50;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'bench-admin-'));

const ADMIN = { username: 'bench', password: 'bench-password-0123' };

async function seed(): Promise<void> {
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  const rules = { creditFloor: 0 };
  try {
    addAdminAccount(db, { username: ADMIN.username, displayName: 'bench', role: 'maintainer', passwordHash: await hashPassword(ADMIN.password) });
    for (let i = 0; i < VILLAGERS; i++) {
      addVillager(db, { id: `v${i}`, name: `村民${i}`, village: `村${i % 7}` });
      applyEntry(db, { id: `a${i}`, villagerId: `v${i}`, kind: 'award', points: 500 + (i % 50), reason: '打扫街道', origin: 'cli' }, rules);
    }
    const skus = ['salt', 'soap', 'oil', 'rice', 'tea'];
    skus.forEach((sku, i) => {
      upsertProduct(db, { sku, name: `商品${sku}`, price: 5 + i, unitG: 100 + 50 * i, toleranceG: 10 });
      upsertSlot(db, { slot: `A${i + 1}`, address: 11 + i, sku, stock: 100_000 });
    });
    for (let i = 0; i < SESSIONS; i++) {
      const id = `s${i}`;
      openSession(db, { id, kind: 'shopping', villagerId: `v${i % VILLAGERS}`, enteredBy: 'card', state: 'shopping', context: {} });
      settleSession(db, { sessionId: id, lines: [{ sku: skus[i % 5]!, slot: `A${(i % 5) + 1}`, count: 1 }, { sku: skus[(i + 1) % 5]!, slot: `A${((i + 1) % 5) + 1}`, count: 2 }], review: i % 3 === 0 ? [{ slot: 'A1', reason: 'not_stable', deltaG: 40, detail: null }] : [] }, rules);
    }
    for (let i = 0; i < EVENTS; i++) {
      insertEntryEvent(db, { at: new Date().toISOString(), decision: i % 4 === 0 ? 'unknown' : 'matched', by: 'card', villagerId: `v${i % VILLAGERS}`, detail: { card: `PB-${i}`, unlocked: i % 4 !== 0 } });
    }
  } finally {
    closeLedger(db);
  }
}

async function startDaemon(): Promise<{ url: string; stop: () => Promise<void> }> {
  const config = path.join(dir, 'store.yaml');
  writeFileSync(config, 'data_dir: .\ndemo: true\ndemo_loop: false\nhttp: {port: 0}\nlog: {level: info}\n');
  const bin = path.resolve(import.meta.dirname, '../bin/store-edge.mjs');
  const child = spawn(process.execPath, [bin, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}`)));
  });
  child.stdout.resume();
  return {
    url,
    stop: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** The session cookie of a login through the JSON API (CSRF token from /api/me first). */
async function signIn(url: string): Promise<string> {
  // the session's cookie once signed in; before, the login form's (edge/http/login-csrf.ts)
  const cookieOf = (res: Response): string => {
    const set = res.headers.getSetCookie();
    return (set.find((c) => c.startsWith('store_admin=')) ?? set.find((c) => c.startsWith('store_login=')))!.split(';')[0]!;
  };
  const me = await fetch(new URL('/api/me', url));
  const { csrf_token } = (await me.json()) as { csrf_token: string };
  const res = await fetch(new URL('/login', url), { method: 'POST', headers: { cookie: cookieOf(me), 'x-csrf-token': csrf_token, 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return cookieOf(res);
}

async function load(url: string, cookie: string): Promise<{ requests: number; errors: number; latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + DURATION_MS;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
        await res.text();
        if (res.status !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - start);
    }
  }));
  return { requests: latencies.length, errors, latencies, seconds: (performance.now() - t0) / 1000 };
}

try {
  await seed();
  const daemon = await startDaemon();
  try {
    const cookie = await signIn(daemon.url);
    const page = await (await fetch(daemon.url, { headers: { cookie } })).text();
    const r = await load(daemon.url, cookie);
    const lat = summarise(r.latencies);
    process.stderr.write(`admin page: ${round(r.requests / r.seconds, 1)} rps, p50 ${lat.p50} ms, p99 ${lat.p99} ms, ${r.errors} errors, page ${page.length} chars\n`);
    report({ bench: 'admin-page', villagers: VILLAGERS, sessions: SESSIONS, clients: CLIENTS, seconds: round(r.seconds, 1), requests: r.requests, rps: round(r.requests / r.seconds, 1), errors: r.errors, latency_ms: lat, page_chars: page.length });
  } finally {
    await daemon.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
