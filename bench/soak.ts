/**
 * Soak: `npm run soak -- --minutes 30 [--every 30] [--keep]`. Runs the demo (`store-edge start
 * --demo`: simulated hardware, the scenario loop, the village ledger and broker beside it) as a
 * child process with a data folder of its own, and samples it every `--every` seconds: RSS and
 * event-loop delay from its /metrics (parsed with a Prometheus text parser), sessions settled,
 * and the size of its databases (the store's ledger; and with the demo's village ledger). Each sample is a JSON line on stderr; the last line on
 * stdout is the summary: the curves' summary numbers, the database growth after warm-up
 * extrapolated per day,
 * and whether RSS grows after warm-up (slope of a least-squares line over the samples after
 * the first third, in MiB per hour). RSS is broken down (`parts`): the main thread's external
 * memory and the inference worker's heap, external, wasm and tensor bytes (store_thread_memory_bytes),
 * and on Linux anonymous vs file-backed RSS (/proc/PID/status), each with its slope after warm-up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { databaseBytes } from '../edge/ledger/ops-queries.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number / --${name} 须为正数`);
    process.exit(2);
  }
  return v;
}

const minutes = arg('minutes', 30);
const everyS = arg('every', 30);
const keep = process.argv.includes('--keep');

function value(families: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

function sum(families: PromFamily[], name: string): number {
  const f = families.find((x) => x.name === name);
  return (f?.metrics ?? []).reduce((n, m) => n + Number(m.value ?? 0), 0);
}

/** Bytes the SQLite databases under `dir` hold, WAL included; `top`: only the store's own ledger, not the demo's village ledger below it. */
function dbBytes(dir: string, top = false): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: !top })) {
    if (!e.isFile() || !e.name.endsWith('.sqlite')) continue;
    n += databaseBytes(path.join(e.parentPath, e.name));
  }
  return n;
}

/** Linux: the child's resident memory split into anonymous and file-backed (MiB), from /proc; empty elsewhere. */
function procMemory(pid: number | undefined): { anonMiB?: number; fileMiB?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number | undefined => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) : undefined;
    };
    const anon = kb('RssAnon');
    const file = kb('RssFile');
    return { ...(anon !== undefined ? { anonMiB: r1(anon / 1024) } : {}), ...(file !== undefined ? { fileMiB: r1(file / 1024) } : {}) };
  } catch {
    return {};
  }
}

const mib = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : r1(bytes / 2 ** 20));

function slopePerHour(xsMs: number[], ys: number[]): number {
  const n = xsMs.length;
  if (n < 2) return 0;
  const xs = xsMs.map((x) => x / 3_600_000);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))] ?? 0;
const r1 = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'store-soak-'));
  const dataDir = path.join(dir, 'data');
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ data_dir: dataDir, demo: true, http: { port: 0 }, log: { level: 'info' } }));
  const child = spawn(process.execPath, ['bin/store-edge.mjs', 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stopped = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => {
      try {
        const o = JSON.parse(l) as { url?: string; level?: number };
        if (o.url) resolve(o.url);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => { if (!stopped) reject(new Error(`the demo exited (code ${code}) before its admin page was up`)); });
  });
  const base = url.replace(/\/$/, '');
  console.error(JSON.stringify({ started: base, dataDir, minutes, everyS }));
  const t0 = Date.now();
  type Sample = {
    tMs: number; rssMiB: number; lagP99Ms: number; lagMaxMs: number; dbMiB: number; allDbMiB: number; sessions: number; heapMiB: number;
    /** store_thread_memory_bytes: the main thread's external memory, the inference worker's heap, external, wasm and tensor bytes */
    externalMiB?: number | undefined; workerHeapMiB?: number | undefined; workerExternalMiB?: number | undefined; wasmMiB?: number | undefined; tensorsMiB?: number | undefined;
    anonMiB?: number; fileMiB?: number;
  };
  const samples: Sample[] = [];
  while (Date.now() - t0 < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, everyS * 1000));
    let families: PromFamily[];
    try {
      families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
    } catch (err) {
      console.error(JSON.stringify({ error: (err as Error).message }));
      continue;
    }
    const s = {
      tMs: Date.now() - t0,
      rssMiB: r1((value(families, 'process_resident_memory_bytes') ?? 0) / 2 ** 20),
      heapMiB: r1((value(families, 'nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20),
      lagP99Ms: r1((value(families, 'nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000),
      lagMaxMs: r1((value(families, 'nodejs_eventloop_lag_max_seconds') ?? 0) * 1000),
      dbMiB: Math.round((dbBytes(dataDir, true) / 2 ** 20) * 1000) / 1000,
      allDbMiB: Math.round((dbBytes(dataDir) / 2 ** 20) * 1000) / 1000,
      sessions: sum(families, 'store_sessions_total'),
      externalMiB: mib(value(families, 'store_thread_memory_bytes', { thread: 'main', kind: 'external' })),
      workerHeapMiB: mib(value(families, 'store_thread_memory_bytes', { thread: 'inference', kind: 'heap_used' })),
      workerExternalMiB: mib(value(families, 'store_thread_memory_bytes', { thread: 'inference', kind: 'external' })),
      wasmMiB: mib(value(families, 'store_thread_memory_bytes', { thread: 'inference', kind: 'wasm' })),
      tensorsMiB: mib(value(families, 'store_thread_memory_bytes', { thread: 'inference', kind: 'tensors' })),
      ...procMemory(child.pid),
    };
    samples.push(s);
    console.error(JSON.stringify(s));
  }
  stopped = true;
  child.kill('SIGTERM');
  const code = await exited;
  const warm = samples.slice(Math.floor(samples.length / 3));
  const first = samples[0];
  const last = samples[samples.length - 1];
  const hours = first && last && last.tMs > first.tMs ? (last.tMs - first.tMs) / 3_600_000 : 0;
  // growth after warm-up (the demo stocks the store at its start), per day
  const dbPerDayMiB = slopePerHour(warm.map((s) => s.tMs), warm.map((s) => s.dbMiB)) * 24;
  const allDbPerDayMiB = slopePerHour(warm.map((s) => s.tMs), warm.map((s) => s.allDbMiB)) * 24;
  const rssSlope = slopePerHour(warm.map((s) => s.tMs), warm.map((s) => s.rssMiB));
  const heapSlope = slopePerHour(warm.map((s) => s.tMs), warm.map((s) => s.heapMiB));
  /** After warm-up: the part's value then, last, and slope (MiB/h); absent when no sample has it. */
  const part = (key: keyof Sample) => {
    const w = warm.filter((s) => typeof s[key] === 'number');
    if (w.length === 0) return undefined;
    return { afterWarmUp: w[0]![key], last: w[w.length - 1]![key], slopeMiBPerHour: r1(slopePerHour(w.map((s) => s.tMs), w.map((s) => s[key] as number))) };
  };
  const parts = Object.fromEntries((['externalMiB', 'workerHeapMiB', 'workerExternalMiB', 'wasmMiB', 'tensorsMiB', 'anonMiB', 'fileMiB'] as const).map((k) => [k, part(k)]).filter(([, v]) => v !== undefined));
  const summary = {
    minutes, samples: samples.length, exitCode: code, sessions: last?.sessions ?? 0,
    rssMiB: { first: first?.rssMiB, afterWarmUp: warm[0]?.rssMiB, last: last?.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), slopeAfterWarmUpMiBPerHour: r1(rssSlope) },
    heapMiB: { afterWarmUp: warm[0]?.heapMiB, last: last?.heapMiB, slopeAfterWarmUpMiBPerHour: r1(heapSlope) },
    parts,
    eventLoopLagMs: { p99Median: pct(samples.map((s) => s.lagP99Ms), 0.5), p99Worst: Math.max(...samples.map((s) => s.lagP99Ms)), maxWorst: Math.max(...samples.map((s) => s.lagMaxMs)) },
    dbMiB: { first: first?.dbMiB, last: last?.dbMiB, growthPerDayMiB: r1(dbPerDayMiB), withVillageLedgerGrowthPerDayMiB: r1(allDbPerDayMiB) },
    sessionsPerHour: hours > 0 ? r1(((last!.sessions - first!.sessions) / hours)) : 0,
    curve: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 10)) === 0).map((s) => ({ min: r1(s.tMs / 60_000), rssMiB: s.rssMiB, lagP99Ms: s.lagP99Ms, dbMiB: s.dbMiB })),
  };
  if (!keep) rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  console.error(`soak failed / 浸泡测试失败: ${(err as Error).message}`);
  process.exitCode = 1;
});
