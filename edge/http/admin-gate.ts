/**
 * Admission for the admin page's requests: at most `slots` are worked on at once, the rest wait
 * their turn in arrival order. A request's work here is mostly synchronous (session lookup,
 * ledger queries, JSON), so fifty tablets polling at once would otherwise put fifty requests'
 * work into every turn of the event loop the scale sweeps and the session timers run on, and
 * each step of a sweep would wait behind all of it. With a few slots, a turn carries a few
 * requests' work and the store's own work gets its turns; the tablets wait a little longer.
 * A waiter is let in on the next turn (setImmediate), never inside the finishing request's turn.
 *
 * Besides, at most `perSecond` requests begin each second (a token bucket holding one second's
 * worth): tablets polling a few times a second never meet it, but fifty clients calling back
 * to back are held to a share of the machine's two cores that the store's own work can spare.
 * Waiting requests queue; none is refused.
 *
 * While a villager is in the store (a session not idle: entering, shopping, exiting, settling),
 * the store's own work comes first: one request at a time and at most `busyPerSecond` a second
 * (`storeBusy` says when). A sweep of the shelf scales is a chain of Modbus round trips, each
 * waiting for a turn of the loop; at 150 requests a second (≈1.4 ms of work each, measured by
 * bench:admin) a fifth of every second went to the tablets and the exit-to-receipt time grew
 * many times over. Tablets polling every few seconds stay far below `busyPerSecond`; the live
 * stream (ungated) still pushes every change as it happens.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Not gated: the probes and the board with its parts (always answered: the wall board's refresh
 * fetches /board/live), and the live stream (held open for hours). The gate is registered after
 * the login check (app.ts), so a request without a session never waits here: on a route that
 * needs one it is answered 401 first, and on a public one (`adminUser` null: the login page, the
 * scripts) it passes by, limited per address instead (auth.ts `PUBLIC_PAGE`).
 */
export const UNGATED = new Set(['/healthz', '/readyz', '/metrics', '/board', '/board/live', '/board/board.js', '/api/live']);

export const ADMIN_SLOTS = 4;
export const ADMIN_PER_SECOND = 150;
/** While a villager is in the store: one request at a time, at most this many a second. */
export const ADMIN_BUSY_SLOTS = 1;
export const ADMIN_BUSY_PER_SECOND = 25;

export interface AdminGateOptions {
  slots?: number;
  perSecond?: number;
  /** True while the store's own work must come first (a session in progress). */
  storeBusy?: () => boolean;
  busySlots?: number;
  busyPerSecond?: number;
}

export function registerAdminGate(app: FastifyInstance, opts: AdminGateOptions = {}): { inFlight: () => number; waiting: () => number } {
  const storeBusy = opts.storeBusy ?? (() => false);
  const slotsNow = (): number => (storeBusy() ? opts.busySlots ?? ADMIN_BUSY_SLOTS : opts.slots ?? ADMIN_SLOTS);
  const rateNow = (): number => (storeBusy() ? opts.busyPerSecond ?? ADMIN_BUSY_PER_SECOND : opts.perSecond ?? ADMIN_PER_SECOND);
  let busy = 0;
  let tokens = rateNow();
  let filledAt = performance.now();
  let refill: NodeJS.Timeout | null = null;
  /** Takes a token if one is there (the bucket refills continuously, up to one second's worth at the rate of now). */
  const take = (): boolean => {
    const now = performance.now();
    const perSecond = rateNow();
    tokens = Math.min(perSecond, tokens + ((now - filledAt) * perSecond) / 1000);
    filledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  const queue: FastifyRequest[] = [];
  /** Each gated request: let in (holding a slot) or still waiting, with how to let it in. */
  const state = new WeakMap<FastifyRequest, { running: boolean; resume: () => void }>();

  const admitNext = (): void => {
    while (busy < slotsNow() && queue.length > 0) {
      if (!take()) {
        // the next token's time: try again then
        refill ??= setTimeout(() => {
          refill = null;
          admitNext();
        }, Math.ceil(1000 / rateNow()));
        return;
      }
      const req = queue.shift()!;
      const s = state.get(req);
      if (!s) continue;
      s.running = true;
      busy += 1;
      setImmediate(s.resume);
    }
  };

  const leave = (req: FastifyRequest): void => {
    const s = state.get(req);
    if (!s) return;
    state.delete(req);
    if (s.running) busy -= 1;
    else queue.splice(queue.indexOf(req), 1);
    admitNext();
  };

  app.addHook('onRequest', (req, _reply, done) => {
    if (UNGATED.has(req.url.split('?')[0]!) || req.adminUser === null) {
      done();
      return;
    }
    if (busy < slotsNow() && queue.length === 0 && take()) {
      busy += 1;
      state.set(req, { running: true, resume: done });
      done();
      return;
    }
    state.set(req, { running: false, resume: () => done() });
    queue.push(req);
    admitNext();
  });
  app.addHook('onResponse', (req: FastifyRequest, _reply: FastifyReply, done) => {
    leave(req);
    done();
  });
  // a request that gave up while waiting leaves its place to the next; one in progress, its slot
  app.addHook('onRequestAbort', (req, done) => {
    leave(req);
    done();
  });
  return { inFlight: () => busy, waiting: () => queue.length };
}
