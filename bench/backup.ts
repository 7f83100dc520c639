/**
 * The nightly jobs on a large ledger: the online backup (copy + integrity_check) of a ledger of
 * 5,000 villagers, 200,000 entries and 100,000 door decisions, the event loop's longest stall
 * while it runs (the store keeps serving meanwhile), the restore of that copy, and the
 * retention purge of the door decisions. Prints one JSON object on its last line.
 * The backup runs `--runs N` times (default 5): on a loaded machine one run's stall says more
 * about the scheduler than about the code. The stall is the longest gap between 1 ms ticks,
 * watched until a tick after the backup has returned (a synchronous block at its very end must
 * be seen too); beside it, on Linux and in as many runs without the ticker, the main thread's
 * own CPU time and its wait for a CPU (/proc/self/task/<pid>/schedstat): the CPU time is what
 * the backup costs the event loop, which the machine's load does not inflate.
 * Run: npx tsx bench/backup.ts --json [--runs N]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openLedger, closeLedger, inTransaction } from '../edge/ledger/db.ts';
import { applySnapshot, type Snapshot } from '../edge/ledger/snapshot.ts';
import { insertEntryEvent } from '../edge/ledger/entry-events.ts';
import { backupLedger } from '../edge/ledger/backup.ts';
import { restoreCopy } from '../edge/ledger/restore-copy.ts';
import { applyRetention } from '../edge/ledger/retention.ts';
import { percentile, round, report } from './stats.ts';

const VILLAGERS = 5000;
const ENTRIES = 200_000;
const EVENTS = 100_000;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1])) : 5;
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
/** The main thread's time on a CPU and waiting for one, in ms (Linux); undefined elsewhere. */
const sched = (): [number, number] | undefined => {
  if (!existsSync(SCHEDSTAT)) return undefined;
  const [run, wait] = readFileSync(SCHEDSTAT, 'utf8').split(' ').map(Number);
  return [run! / 1e6, wait! / 1e6];
};

/**
 * Runs `fn`, with a 1 ms ticker when `tick`: the longest gap between ticks. Without it, the main
 * thread's CPU time and run-queue wait (the ticker's own callbacks would count as CPU).
 */
async function watched<T>(fn: () => Promise<T>, tick: boolean): Promise<{ result: T; stallMs: number; seconds: number; cpuMs?: number; waitMs?: number }> {
  let last = performance.now();
  let max = 0;
  const ticker = tick
    ? setInterval(() => {
      const now = performance.now();
      max = Math.max(max, now - last);
      last = now;
    }, 1)
    : undefined;
  await new Promise((r) => setTimeout(r, 10));
  max = 0;
  const s0 = sched();
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 5));
  const s1 = sched();
  clearInterval(ticker);
  return { result, stallMs: max, seconds, ...(!tick && s0 && s1 ? { cpuMs: s1[0] - s0[0], waitMs: s1[1] - s0[1] } : {}) };
}
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'bench-backup-'));

try {
  const file = path.join(dir, 'ledger.sqlite');
  const seedDb = openLedger(file);
  const snap: Snapshot = { villagers: [], entries: [] };
  for (let i = 0; i < VILLAGERS; i++) snap.villagers.push({ id: `v${i}`, name: `村民${i}`, village: 'qianjin' });
  for (let i = 0; i < ENTRIES; i++) snap.entries.push({ id: `e-${i}`, villager: `v${i % VILLAGERS}`, kind: 'award', points: 5 + (i % 20), reason: '打扫街道', created_at: '2026-11-01T08:00:00.000Z' });
  applySnapshot(seedDb, snap, { creditFloor: 0 });
  inTransaction(seedDb, 'bench events', () => {
    for (let i = 0; i < EVENTS; i++) insertEntryEvent(seedDb, { at: new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString(), decision: 'matched', by: 'card', villagerId: `v${i % VILLAGERS}`, detail: { card: 'PB-****01', unlocked: true } });
  });
  // closed (checkpointed) and opened again, as the daemon finds it at night
  closeLedger(seedDb);
  const db = openLedger(file);
  const ledgerBytes = statSync(file).size;

  const runs: Array<Awaited<ReturnType<typeof watched<Awaited<ReturnType<typeof backupLedger>>>>>> = [];
  const quiet: typeof runs = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await watched(() => backupLedger(db, path.join(dir, 'backups'), new Date(Date.UTC(2026, 11, 1, 18, 30, i))), true));
    quiet.push(await watched(() => backupLedger(db, path.join(dir, 'backups'), new Date(Date.UTC(2026, 11, 1, 18, 31, i))), false));
  }
  const copy = runs[runs.length - 1]!.result;
  const stalls = runs.map((r) => round(r.stallMs, 1));
  const cpu = quiet.flatMap((r) => (r.cpuMs === undefined ? [] : [r.cpuMs]));
  const wait = quiet.flatMap((r) => (r.waitMs === undefined ? [] : [r.waitMs]));

  const t1 = performance.now();
  const purged = applyRetention(db, { entryEventsDays: 180, leftVillagerTemplatesDays: 30 }, new Date('2026-12-01T19:15:00Z'));
  const retentionS = (performance.now() - t1) / 1000;
  closeLedger(db);

  const t2 = performance.now();
  // the ledger went on after the copy: the bench measures the restore, not the refusal of its unsent rows
  restoreCopy(copy.file, file, new Date(), { discardUnsent: true });
  const restoreS = (performance.now() - t2) / 1000;

  report({
    villagers: VILLAGERS,
    entries: ENTRIES,
    entry_events: EVENTS,
    ledger_mb: round(ledgerBytes / 1024 ** 2, 1),
    backup_runs: RUNS,
    backup_with_integrity_check_s: round(median(quiet.map((r) => r.seconds))),
    event_loop_max_stall_during_backup_ms: round(median(stalls), 1),
    event_loop_max_stall_during_backup_ms_each: stalls,
    ...(cpu.length > 0 ? { main_thread_cpu_during_backup_ms: round(median(cpu), 1), main_thread_runqueue_wait_during_backup_ms: round(median(wait), 1) } : {}),
    load_average_1m: round(loadavg()[0]!, 1),
    restore_with_checks_s: round(restoreS),
    retention_deleted_events: purged.entryEvents,
    retention_s: round(retentionS),
    node: process.version,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
