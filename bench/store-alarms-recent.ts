/**
 * The alarm views' `recent` query (each store's latest cleared alarms, storeAlarms in
 * cloud-sync/ledger/store-alarms.ts) before and after v20: the window function over the
 * villages' whole history (schema v19) against each store's newest through store_alarms_newest
 * (cloud-sync/ledger/store-alarms-recent.ts). One village of STORES stores, 7,000 and 21,000
 * cleared occurrences spread evenly over them and over a year (a list clears one to four at
 * once), two active per store; `recent` 20 (the API's default). The same history in a ledger
 * at v19 and one at v20; times RUNS reads of each query alone, and of the whole storeAlarms,
 * taken in turn (the machine's other work falls on all alike); checks that both return the same
 * occurrences per store (by clearing and raising time: the old query left further ties to the
 * database) and that the new plan reads the index a store at a time (exit 1 otherwise).
 * SQLite, or PostgreSQL with DATABASE_URL.
 * `npx tsx bench/store-alarms-recent.ts [--runs R]`; the last stdout line is JSON.
 */
import { performance } from 'node:perf_hooks';
import type { SqlDb } from '../cloud-sync/ledger/sql.ts';
import { storeAlarms } from '../cloud-sync/ledger/store-alarms.ts';
import { newestClearedSql, STORE_ALARMS_NEWEST_VERSION } from '../cloud-sync/ledger/store-alarms-recent.ts';
import { seedAlarmYear } from '../harness/sync/alarm-year.ts';
import { ledgerDbKind, tempLedgerDb } from '../harness/sync/rig.ts';
import { positiveIntArg, round, summarise } from './stats.ts';

const RUNS = positiveIntArg(process.argv, '--runs', 30);
const STORES = 50;
const RECENT = 20;
const VILLAGE = 'v1';

/** The query storeAlarms ran up to v19. */
const WINDOW_SQL = `SELECT * FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.village, a.store ORDER BY a.cleared_at DESC, a.raised_at DESC) AS n
       FROM store_alarms a WHERE a.village IN ($1) AND a.cleared_at IS NOT NULL) t WHERE t.n <= $2 ORDER BY cleared_at DESC`;
const NEW_SQL = newestClearedSql(ledgerDbKind === 'postgres' ? 'postgres' : 'sqlite', 1);

/**
 * `fns` read in turn, RUNS times each after five to warm up: the machine's other work falls on
 * both alike. Per function, the summary and the fastest read (ms).
 */
async function timed(fns: (() => Promise<unknown>)[]): Promise<(ReturnType<typeof summarise> & { min: number })[]> {
  for (let i = 0; i < 5; i++) for (const fn of fns) await fn();
  const ms: number[][] = fns.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, fn] of fns.entries()) {
      const t = performance.now();
      await fn();
      ms[k]!.push(performance.now() - t);
    }
  }
  return ms.map((m) => ({ ...summarise(m), min: round(Math.min(...m)) }));
}

async function plan(db: SqlDb, sql: string): Promise<string> {
  if (db.dialect === 'sqlite') return (await db.query<{ id: number; parent: number; detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, [VILLAGE, RECENT])).map((r) => `${r.id}<${r.parent} ${r.detail}`).join('\n');
  const text = sql.replace('$1', `'${VILLAGE}'`).replace('$2', String(RECENT));
  return (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) ${text}`)).map((r) => r['QUERY PLAN']).join('\n');
}

/** Each store's occurrences by clearing and raising time, the order the old query fixed. */
const byStore = (rows: { store: string; cleared_at: string; raised_at: string }[]): string =>
  JSON.stringify([...rows].map((r) => `${r.store} ${r.cleared_at} ${r.raised_at}`).sort());

const results: Record<string, unknown>[] = [];
let failed = false;
for (const cleared of [7_000, 21_000]) {
  // the same history in a ledger at v19 (before) and one at v20 (after); on PostgreSQL the new
  // plan must read store_alarms_newest backward, RECENT rows for each of the STORES stores
  const old = await tempLedgerDb(STORE_ALARMS_NEWEST_VERSION - 1);
  const cur = await tempLedgerDb();
  try {
    await seedAlarmYear(old.db, VILLAGE, STORES, cleared);
    await seedAlarmYear(cur.db, VILLAGE, STORES, cleared);
    const [before, after, view] = await timed([
      () => old.db.query(WINDOW_SQL, [VILLAGE, RECENT]),
      () => cur.db.query(NEW_SQL, [VILLAGE, RECENT]),
      () => storeAlarms(cur.db, [VILLAGE], RECENT),
    ]);
    const beforePlan = await plan(old.db, WINDOW_SQL);
    const afterPlan = await plan(cur.db, NEW_SQL);
    type R = { store: string; cleared_at: string; raised_at: string };
    const was = await old.db.query<R>(WINDOW_SQL, [VILLAGE, RECENT]);
    const now = await cur.db.query<R>(NEW_SQL, [VILLAGE, RECENT]);
    const same = byStore(was) === byStore(now) && now.length === STORES * RECENT;
    const indexed = cur.db.dialect === 'sqlite'
      ? /SEARCH b USING COVERING INDEX store_alarms_newest/.test(afterPlan) && !afterPlan.split('\n').some((l) => !l.includes('<0 ') && l.includes('TEMP B-TREE'))
      : new RegExp(`Limit[^\\n]*\\n(?:\\s*Buffers:[^\\n]*\\n)?\\s*->\\s+Index Scan Backward using store_alarms_newest[^\\n]*actual rows=${RECENT} loops=${STORES}\\)`).test(afterPlan) && !afterPlan.includes('WindowAgg');
    if (!same || !indexed) failed = true;
    const line = (m: typeof before) => `min ${m!.min} ms, p50 ${m!.p50} ms, p99 ${m!.p99} ms`;
    console.log(`\n== ${ledgerDbKind}, ${cleared} cleared over ${STORES} stores, recent ${RECENT} ==`);
    console.log(`before (v19, window function): ${line(before)}\n${beforePlan}`);
    console.log(`after (v20, newest per store): ${line(after)}; storeAlarms whole: ${line(view)}\n${afterPlan}`);
    console.log(`same occurrences: ${same}; plan reads the index per store: ${indexed}`);
    // PostgreSQL's own time for the query (EXPLAIN ANALYZE), without the rows' way to the client
    const server = (p: string): number | undefined => (/Execution Time: ([\d.]+) ms/.exec(p) ? Number(/Execution Time: ([\d.]+) ms/.exec(p)![1]) : undefined);
    results.push({
      db: ledgerDbKind, cleared, stores: STORES, recent: RECENT, before_ms: before, after_ms: after, view_ms: view,
      server_ms: { before: server(beforePlan), after: server(afterPlan) }, speedup_p50: round(before!.p50 / after!.p50, 1), same, indexed,
    });
  } finally {
    await old.drop();
    await cur.drop();
  }
}
console.log(JSON.stringify({ bench: 'store-alarms-recent', runs: RUNS, results }));
if (failed) process.exit(1);
