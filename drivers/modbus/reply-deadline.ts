/**
 * The deadline of one Modbus reply, robust against a busy event loop.
 *
 * A plain `setTimeout` is not a fair deadline on a loop that also renders pages and settles
 * sessions: when the loop is held up past the deadline, Node runs the expired timer before it
 * reads the bytes waiting in the kernel, so a reply that came in time is declared missing (and
 * the slave counted as failing). A serial port's write is even issued only after the stall
 * (serialport writes from a promise), so the slave has not been asked yet when the timer fires.
 *
 * So a timer that fires late — the loop was stalled — does not decide: the response time starts
 * again from then, and the reply (waiting, or on its way now that the request is out) gets its
 * turn. A timeout is declared only by a timer that fires on time, when the loop was free to hear
 * the reply, or after `maxRestarts` stalls in a row (a loop that never frees up must still see a
 * dead slave).
 */

export interface ReplyDeadlineOptions {
  /** The response time, ms. */
  ms: number;
  /** A timer firing later than this (ms) means the loop was stalled. */
  lateSlackMs?: number;
  /** Restarts after stalls before the deadline is declared anyway. */
  maxRestarts?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** How late a timer may fire on a free loop (timer granularity and scheduling jitter). */
export const LATE_SLACK_MS = 20;
/** Stalls in a row after which a reply is declared missing anyway. */
export const MAX_RESTARTS = 3;

export interface ReplyDeadline {
  /** Stalls the deadline was restarted for. */
  readonly restarts: number;
  cancel(): void;
}

/** Calls `onExpired` once the reply is overdue on a loop that was free to read it. */
export function replyDeadline(onExpired: () => void, opts: ReplyDeadlineOptions): ReplyDeadline {
  const now = opts.now ?? (() => performance.now());
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  const slack = opts.lateSlackMs ?? LATE_SLACK_MS;
  const maxRestarts = opts.maxRestarts ?? MAX_RESTARTS;
  let restarts = 0;
  let handle: unknown;
  let cancelled = false;
  const arm = (): void => {
    const due = now() + opts.ms;
    handle = setTimer(() => {
      if (cancelled) return;
      if (now() - due > slack && restarts < maxRestarts) {
        restarts += 1;
        arm();
        return;
      }
      cancelled = true;
      onExpired();
    }, opts.ms);
  };
  arm();
  return {
    get restarts() {
      return restarts;
    },
    cancel() {
      cancelled = true;
      clearTimer(handle);
    },
  };
}
