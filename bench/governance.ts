/**
 * Points governance through the ledger API (fastify inject, no network): a village files
 * reports for its villagers and approves them, one after another and 8 at a time; each
 * approval is an entry with its signed stream event. SQLite, or PostgreSQL with DATABASE_URL.
 * `npx tsx bench/governance.ts [--reports N]`; the last stdout line is JSON.
 */
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../edge/log.ts';
import { buildLedgerApi } from '../cloud-sync/ledger/api.ts';
import { LedgerService } from '../cloud-sync/ledger/service.ts';
import { ensureDefaultItems } from '../cloud-sync/ledger/governance/rules.ts';
import { newKeyPair, privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../harness/sync/rig.ts';
import { report, round, summarise } from './stats.ts';

const arg = process.argv.indexOf('--reports');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 1000;
const VILLAGERS = 100;
const CONCURRENCY = 8;

const { db, drop } = await tempLedgerDb();
await ensureDefaultItems(db, new Date());
// Not started: publications answer false; the entry and its signed event are still written.
const service = new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'bench' } });
const village = uid('v');
const app = buildLedgerApi({ db, service, log: silentLogger(), tokens: [{ token: 'town-bench-token', role: 'town' }, { token: 'village-bench-tok', role: 'village', village }] });
const call = async (method: 'POST' | 'PUT', url: string, payload: object, token = 'village-bench-tok') => {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload });
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json() as { id: string; balance?: number };
};
await call('POST', '/api/villages', { id: village, name: '压测村' }, 'town-bench-token');
for (let k = 0; k < VILLAGERS; k++) await call('PUT', `/api/villages/${village}/villagers/b${k}`, { name: `村民${k}` });

/** One record filed and approved: CIV-GOOD-DEED (5–20 points, a witness, no cap). */
const oneAward = async (k: number): Promise<number> => {
  const t0 = performance.now();
  const r = await call('POST', `/api/villages/${village}/reports`, { item: 'CIV-GOOD-DEED', villager: `b${k % VILLAGERS}`, points: 5 + (k % 16), evidence: 'witness:bench' });
  await call('POST', `/api/villages/${village}/claims/${r.id}/approve`, {});
  return performance.now() - t0;
};

const serial: number[] = [];
let t = performance.now();
for (let k = 0; k < N; k++) serial.push(await oneAward(k));
const serialS = (performance.now() - t) / 1000;

const parallel: number[] = [];
t = performance.now();
let next = N;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < 2 * N) parallel.push(await oneAward(next++));
}));
const parallelS = (performance.now() - t) / 1000;

const sum = await db.query<{ s: number | string; n: number | string }>('SELECT SUM(points) AS s, COUNT(*) AS n FROM entries WHERE village = $1', [village]);
const expected = Array.from({ length: 2 * N }, (_, k) => 5 + (k % 16)).reduce((a, b) => a + b, 0);
await app.close();
await drop();
report({
  bench: 'governance', db: ledgerDbKind, reports: 2 * N,
  serial_awards_per_s: round(N / serialS, 1), serial_ms: summarise(serial),
  parallel_awards_per_s: round(N / parallelS, 1), parallel_ms: summarise(parallel), concurrency: CONCURRENCY,
  entries: Number(sum[0]!.n), points_ok: Number(sum[0]!.s) === expected,
});
