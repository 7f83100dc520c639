/**
 * Timestamped trace lines for profiling the sync (bench:sync), off unless SYNC_TRACE is set:
 * `<epoch ms> <who> <what> <json>` on stderr, with epoch milliseconds so that lines from the
 * benchmark's threads (each its own performance clock) sort together.
 */
import { performance } from 'node:perf_hooks';

export const tracing = Boolean(process.env.SYNC_TRACE);

export function trace(who: string, what: string, extra?: Record<string, unknown>): void {
  if (!tracing) return;
  process.stderr.write(`${(performance.timeOrigin + performance.now()).toFixed(1)} ${who} ${what}${extra ? ` ${JSON.stringify(extra)}` : ''}\n`);
}

/** While tracing: how busy this thread's event loop was, every `everyMs`, as `<who> busy {u}`. */
export function traceBusy(who: string, everyMs = 100): void {
  if (!tracing) return;
  let last = performance.eventLoopUtilization();
  setInterval(() => {
    const now = performance.eventLoopUtilization();
    trace(who, 'busy', { u: Math.round(performance.eventLoopUtilization(now, last).utilization * 100) });
    last = now;
  }, everyMs).unref();
}
