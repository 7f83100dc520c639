/** Small helpers shared by the benchmarks: percentiles and the closing JSON line. */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { percentile } from '../lib/percentile.ts';

export { percentile };

export function summarise(samples: number[]): { p50: number; p99: number; max: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? Number.NaN), mean: round(mean) };
}

export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

export const wantsJson = (): boolean => process.argv.includes('--json');

/** `--name N`, a whole number of at least 1, or `fallback` when absent; anything else exits 2 with a bilingual message. */
export function positiveIntArg(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} 须为正整数 / ${name} must be a positive integer (got ${String(args[i + 1])})`);
    process.exit(2);
  }
  return n;
}

/**
 * Main-thread CPU time of `fn` (ms: the kernel's account, `mainThreadSched`; where it keeps none,
 * the event loop's busy time) and its wall time (ms).
 */
export async function mainThreadCost(fn: () => Promise<unknown>): Promise<{ busy: number; wall: number }> {
  const sched = mainThreadSched();
  const elu = performance.eventLoopUtilization();
  const t = performance.now();
  await fn();
  const wall = performance.now() - t;
  const after = mainThreadSched();
  return { busy: sched && after ? after.runMs - sched.runMs : performance.eventLoopUtilization(elu).active, wall };
}

/** Human-readable lines go to stderr; the last line on stdout is the JSON object. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * The main thread's scheduler account (Linux `/proc/self/task/PID/schedstat`): time on a CPU and
 * time spent runnable but waiting for one, in ms. The wait is the machine's oversubscription as
 * this thread felt it (other processes holding both cores), not work of ours. Null where the
 * kernel does not keep it.
 */
export function mainThreadSched(): { runMs: number; waitMs: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return null;
    return { runMs: run! / 1e6, waitMs: wait! / 1e6 };
  } catch {
    return null;
  }
}
