/**
 * Exponential backoff for reopening something that went away (a serial port, a camera, a
 * worker process): each wait is the previous one times `factor`, capped at `maxMs`, and
 * reset once the thing works again. One timer at a time, so a burst of failure reports
 * schedules one attempt, not many.
 *
 * Hand-written rather than a library: the whole of it is a multiplication and one timer,
 * and the users need the timer owned and cancellable by their stop(), which retry libraries
 * (promise-based loops) do not offer. Imports nothing of ours, so drivers/, models/ and
 * edge/ can all use it.
 */

export interface BackoffOptions {
  /** First wait (ms) after a failure. */
  firstMs: number;
  /** Longest wait (ms); the wait grows up to this and stays there. */
  maxMs: number;
  /** Growth per failed attempt. Default 2 (the wait doubles). */
  factor?: number;
  /**
   * Fraction (0..1) of each wait that is random: the wait is drawn from
   * [wait × (1 − jitter), wait]. Default 0: a store has one daemon per device, so there is
   * no crowd of clients to spread out, and fixed waits are easier to read in a log.
   */
  jitter?: number;
  /** Source of randomness for the jitter (tests pass a fixed one). Default Math.random. */
  random?: () => number;
}

export const BACKOFF_DEFAULTS = { factor: 2, jitter: 0 } as const;

export class Backoff {
  private readonly firstMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private current: number;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(opts: BackoffOptions) {
    const factor = opts.factor ?? BACKOFF_DEFAULTS.factor;
    const jitter = opts.jitter ?? BACKOFF_DEFAULTS.jitter;
    if (!(Number.isFinite(opts.firstMs) && opts.firstMs >= 0)) throw new RangeError(`backoff firstMs must be a number ≥ 0, got ${opts.firstMs}`);
    if (!(Number.isFinite(opts.maxMs) && opts.maxMs >= opts.firstMs)) throw new RangeError(`backoff maxMs must be ≥ firstMs (${opts.firstMs}), got ${opts.maxMs}`);
    if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`backoff factor must be ≥ 1, got ${factor}`);
    if (!(Number.isFinite(jitter) && jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff jitter must be within 0..1, got ${jitter}`);
    this.firstMs = opts.firstMs;
    this.maxMs = opts.maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.random = opts.random ?? Math.random;
    this.current = opts.firstMs;
  }

  /** Failures since the last reset (how many waits next() has handed out). */
  get attempts(): number {
    return this.failures;
  }

  /** Whether an attempt is scheduled and has not run yet. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** The wait before the next attempt, and grows the one after it. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.current * this.factor, this.maxMs);
    this.failures += 1;
    return this.jitter === 0 ? base : Math.round(base * (1 - this.jitter * this.random()));
  }

  /** Back to the first wait: call it once the thing works again. */
  reset(): void {
    this.current = this.firstMs;
    this.failures = 0;
  }

  /**
   * Runs `attempt` after the next wait. Returns the wait, or null when an attempt is already
   * scheduled (it is not scheduled twice, and the wait does not grow).
   */
  schedule(attempt: () => void): number | null {
    if (this.timer) return null;
    const wait = this.next();
    this.timer = setTimeout(() => {
      this.timer = null;
      attempt();
    }, wait);
    return wait;
  }

  /** Drops a scheduled attempt (for stop()). The wait is kept; reset() starts over. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
