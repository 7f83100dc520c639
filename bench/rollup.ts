/**
 * The town roll-up through the ledger API (fastify inject, no network) on a year of a town:
 * VILLAGES villages of 300 villagers, ENTRIES entries spread over twelve months, approved
 * claims and the stores' synced sessions. Times the JSON roll-up of the whole town, one
 * village's, and a CSV export, and how long the event loop was held meanwhile (the longest
 * gap between the ticks of a 5 ms interval timer, less its 5 ms; on SQLite the roll-up runs on
 * a worker thread, so the loop stays free). The first roll-up (which starts that thread) is reported apart.
 * SQLite, or PostgreSQL with DATABASE_URL.
 * `npx tsx bench/rollup.ts [--entries N] [--runs R]`; the last stdout line is JSON.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../edge/log.ts';
import { buildLedgerApi } from '../cloud-sync/ledger/api.ts';
import { LedgerService } from '../cloud-sync/ledger/service.ts';
import { ensureDefaultItems } from '../cloud-sync/ledger/governance/rules.ts';
import { newKeyPair, privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../harness/sync/rig.ts';
import { seedTownYear } from '../harness/sync/town-year.ts';
import { report, summarise } from './stats.ts';

const num = (flag: string, dflt: number) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ENTRIES = num('--entries', 100_000);
const RUNS = num('--runs', 5);
const VILLAGES = 10;
const PER_VILLAGE = 300;
const SESSIONS = Math.round(ENTRIES / 10);
const CLAIMS = Math.round(ENTRIES / 20);

const { db, drop } = await tempLedgerDb();
await ensureDefaultItems(db, new Date());
const service = new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'bench' } });
const t0 = performance.now();
const villages = await seedTownYear(db, uid('r'), { villages: VILLAGES, perVillage: PER_VILLAGE, entries: ENTRIES, claims: CLAIMS, sessions: SESSIONS });
const app = buildLedgerApi({ db, service, log: silentLogger(), tokens: [{ token: 'town-bench-token', role: 'town' }, { token: 'village-bench-tok', role: 'village', village: villages[0]! }] });

const seedS = (performance.now() - t0) / 1000;

/** The longest time the event loop was held while `fn` ran: gaps between a 5 ms timer's ticks. */
async function stallDuring<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    const value = await fn();
    // one more tick, so a stall at the very end is seen too
    await sleep(15);
    return { value, stallMs: Math.max(0, longest - 5) };
  } finally {
    clearInterval(tick);
  }
}
const time = async (url: string, token = 'town-bench-token'): Promise<{ ms: ReturnType<typeof summarise>; bytes: number; loop_max_ms: number }> => {
  const samples: number[] = [];
  let bytes = 0;
  let stall = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    let ms = 0;
    const { value: res, stallMs } = await stallDuring(async () => {
      const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      ms = performance.now() - t;
      return r;
    });
    samples.push(ms);
    stall = Math.max(stall, stallMs);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    bytes = res.rawPayload.length;
  }
  return { ms: summarise(samples), bytes, loop_max_ms: Math.round(stall * 10) / 10 };
};
const first = performance.now();
const warm = await app.inject({ method: 'GET', url: '/api/town/rollup', headers: { authorization: 'Bearer town-bench-token' } });
if (warm.statusCode !== 200) throw new Error(`first roll-up: ${warm.statusCode} ${warm.body}`);
const firstMs = Math.round((performance.now() - first) * 10) / 10;
const town = await time('/api/town/rollup');
const one = await time(`/api/villages/${villages[0]}/rollup`, 'village-bench-tok');
const csv = await time('/api/town/rollup.csv?table=months');
const check = (await app.inject({ method: 'GET', url: '/api/town/rollup', headers: { authorization: 'Bearer town-bench-token' } })).json() as { months: { awards: number }[]; sales: { count: number }[] };
const awards = check.months.reduce((a, m) => a + m.awards, 0);
await app.close();
await drop();
report({
  bench: 'rollup', db: ledgerDbKind, villages: VILLAGES, villagers: VILLAGES * PER_VILLAGE, entries: ENTRIES, claims: CLAIMS, sessions: SESSIONS, runs: RUNS,
  seed_s: Math.round(seedS * 10) / 10,
  first_town_json_ms: firstMs,
  town_json_ms: town.ms, town_json_bytes: town.bytes, village_json_ms: one.ms, town_csv_ms: csv.ms,
  loop_max_stall_ms: { town_json: town.loop_max_ms, village_json: one.loop_max_ms, town_csv: csv.loop_max_ms },
  awards_counted: awards, sales_rows: check.sales.length,
});
