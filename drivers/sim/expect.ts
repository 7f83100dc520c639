/**
 * Waiting for simulated hardware without guessing a time: a TimedExpectation resolves when
 * the expected thing happens (a frame on the line, a driver event, a condition) and rejects
 * with a message naming what was expected once a generous bound has passed. The bound is
 * there only so that a broken test fails instead of hanging; it is not a timing target.
 */
import type { EventEmitter } from 'node:events';

/** Default bound: long enough for a loaded 2-core machine, short of the test runner's timeout. */
export const EXPECT_BOUND_MS = 10_000;

export interface ExpectOptions {
  /** What is awaited, for the failure message. */
  what: string;
  timeoutMs?: number;
}

/** One awaited value; `resolve` settles it, the bound rejects it; `onEnd` runs once either way. */
export class TimedExpectation<T> {
  readonly promise: Promise<T>;
  private settle!: (v: T) => void;
  private fail!: (e: Error) => void;
  private readonly timer: NodeJS.Timeout;
  private done = false;

  constructor(opts: ExpectOptions, private readonly onEnd: () => void = () => undefined) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    const ms = opts.timeoutMs ?? EXPECT_BOUND_MS;
    this.timer = setTimeout(() => {
      this.end();
      this.fail(new Error(`expected ${opts.what} within ${ms} ms; it did not come`));
    }, ms);
  }

  get pending(): boolean {
    return !this.done;
  }

  resolve(value: T): void {
    if (this.done) return;
    this.end();
    this.settle(value);
  }

  private end(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.onEnd();
  }
}

/** The next `event` from `emitter` whose payload passes `match`. */
export function expectEvent<T>(emitter: EventEmitter, event: string, opts: ExpectOptions & { match?: (payload: T) => boolean }): Promise<T> {
  const listener = (payload: T): void => {
    if (!opts.match || opts.match(payload)) expectation.resolve(payload);
  };
  const expectation = new TimedExpectation<T>(opts, () => emitter.removeListener(event, listener));
  emitter.on(event, listener);
  return expectation.promise;
}

/**
 * Resolves once `check()` holds, looking again every `intervalMs` (for state that has no
 * event, e.g. a simulator's counters).
 */
export function waitFor(check: () => boolean, opts: ExpectOptions & { intervalMs?: number }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expectation = new TimedExpectation<void>(opts, () => clearTimeout(timer));
  const look = (): void => {
    if (check()) expectation.resolve();
    else if (expectation.pending) timer = setTimeout(look, opts.intervalMs ?? 5);
  };
  look();
  return expectation.promise;
}
