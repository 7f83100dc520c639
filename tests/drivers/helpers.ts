import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { EXPECT_BOUND_MS, waitFor } from '../../drivers/sim/expect.ts';

/** A logger that keeps its JSON lines, so tests can check what was logged and how often. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once `check` holds (looked at every few ms); for waiting on simulated hardware,
 * never for timing assertions. The bound only turns a hang into a failure naming `what`, so it
 * is never shorter than drivers/sim/expect.ts's generous default, whatever `ms` asks for:
 * a loaded 2-core machine can be slow, and a wait that ends early proves nothing.
 */
export function until(check: () => boolean, ms = EXPECT_BOUND_MS, what = 'condition'): Promise<void> {
  return waitFor(check, { what, timeoutMs: Math.max(ms, EXPECT_BOUND_MS) });
}

/** The simulated-lock rig lives in drivers/sim/ (bench:entry uses it, and bench/ never imports tests/). */
export { simulatedLock } from '../../drivers/sim/lock-rig.ts';
