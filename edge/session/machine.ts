/**
 * The store session as a pure state machine: (state, event) → (state, effects). No I/O,
 * no clock reads: the runner (engine.ts) performs the effects and feeds back the events.
 *
 *   idle ─admitted→ entering ─door_opened→ shopping|restocking ─exit_button|door_opened|idle_timeout→ exiting
 *   (idle_timeout counts from the visit's last activity, `activeAt`, across a restart too,
 *   unless the clock cannot vouch for it: see MAX_BELIEVABLE_QUIET_MS)
 *   (while the unlock pulse runs, or within doorSettleMs of the first opening, a door opening is
 *   still the entry — a companion, a second push, contact bounce — never an exit)
 *   exiting ─shelves_stable|stability_timeout→ settling ─settle_ok→ settled ─receipt_issued→ idle
 *   settling ─settle_failed→ fault ─retry→ settling
 *   any visit phase ─effect_failed→ fault ─retry→ that phase again (its timers and waits restarted)
 *   entering ─entering_timeout→ idle (cancelled), or shopping if the shelves were touched or
 *   the door sensor override holds or held during the visit (door-override.ts `blindTo`)
 *   entering ─exit_button→ exiting if the shelves were touched; else still entering, the door's
 *   next opening the leaver's (see `leaver`)
 *
 * Every phase but idle and settled is persisted with the visit (session id, baseline weights,
 * the slots' products at admission),
 * so `resume` after a power cut continues where the store was; settlement is idempotent by
 * session id in the ledger, so a resumed `settling` charges once.
 */
import { SessionConfigSchema } from './config.ts';
import type { Effect, InsidePhase, MachineTimings, SessionEvent, SessionState, Step, Visit, VisitPhase } from './machine-types.ts';

export type { Effect, InsidePhase, MachineTimings, Phase, SessionEvent, SessionState, Step, TimerName, Visit, VisitPhase, VisitProduct } from './machine-types.ts';

const insidePhases: readonly VisitPhase[] = ['entering', 'shopping', 'restocking', 'exiting'];

const stay = (state: SessionState): Step => ({ state, effects: [] });

/**
 * The exit wait on the wall clock. The runner ends the wait on the scales' own reading time
 * (`shelves_stable`, or `stability_timeout` once the readings pass the longest wait); this
 * timer only ends it if the scales stop sweeping, one normal wait after the longest one.
 */
export const exitWaitWallMs = (t: MachineTimings): number => t.stabilityWaitMs + Math.max(t.stabilityWaitMs, t.exitSettleMaxMs);

function toExiting(visit: Visit, at: number | null, by: NonNullable<Visit['exitBy']>, t: MachineTimings): Step {
  return {
    state: { phase: 'exiting', visit: { ...visit, exitAt: at, exitBy: by } },
    effects: [{ type: 'clear_timer', timer: 'idle' }, { type: 'persist' }, { type: 'watch_stability' }, { type: 'start_timer', timer: 'stability', ms: exitWaitWallMs(t) }],
  };
}

function toSettling(visit: Visit): Step {
  return {
    state: { phase: 'settling', visit: { ...visit, settleAttempts: visit.settleAttempts + 1 } },
    effects: [{ type: 'clear_timer', timer: 'stability' }, { type: 'persist' }, { type: 'settle' }],
  };
}

const LEAVER_CANCEL = 'door never opened for the visit: someone inside pressed the exit button and went out instead / 门未为本次进店打开：店内有人按出门按钮离开';

function withoutLeaver(visit: Visit): Visit {
  if (visit.leaver === undefined) return visit;
  const { leaver: _leaver, ...rest } = visit;
  return rest;
}

const inside = (visit: Visit): 'shopping' | 'restocking' => (visit.kind === 'restock' ? 'restocking' : 'shopping');

/**
 * How stale the recorded activity may grow before it is written again: one write per item
 * taken would be one fsync per item. The last activity is then before `activeAt` + this.
 */
export const activeMarkMs = (t: MachineTimings): number => Math.min(60_000, Math.floor(t.shoppingIdleTimeoutMs / 10));

/**
 * The longest quiet a resumed visit is believed to have had: the longest idle timeout the config
 * allows (session.shopping_idle_timeout_ms, a day). Past it, or below zero, now − activeAt says
 * more about the store's clock than about the villager: an RTC reset put right by NTP at boot, or
 * a clock set wrong, moves it by years or hours, and a store dark for over a day with a visit
 * open is far rarer than that. Such a quiet counts as unknown (`quietUnknown`): the visit waits
 * the whole idle timeout, as one saved without activeAt does. Wrongly so, it costs one idle
 * timeout of a busy store before the visit settles as an idle exit all the same; taken at face
 * value, it settles a villager who may still be inside.
 */
export const MAX_BELIEVABLE_QUIET_MS = SessionConfigSchema.properties.shopping_idle_timeout_ms.maximum as number;

/**
 * Why the quiet of a visit resumed `now` cannot be believed: the clock is behind its last
 * activity, or ahead of it by more than MAX_BELIEVABLE_QUIET_MS (past the record's own lag,
 * `activeMarkMs`); null when it can be, or when there is no activity recorded to count from.
 */
export function quietUnknown(visit: Visit, now: number, t: MachineTimings): 'behind' | 'ahead' | null {
  if (visit.activeAt === undefined) return null;
  const elapsed = now - visit.activeAt;
  if (elapsed < 0) return 'behind';
  return elapsed - activeMarkMs(t) > MAX_BELIEVABLE_QUIET_MS ? 'ahead' : null;
}

/** Door or shelf activity inside: the idle timeout starts again; recorded with the visit (a restart counts from it) once the record is stale. */
function active(phase: 'shopping' | 'restocking', visit: Visit, at: number, t: MachineTimings): Step {
  const timer: Effect = { type: 'start_timer', timer: 'idle', ms: t.shoppingIdleTimeoutMs };
  if (visit.activeAt !== undefined && at - visit.activeAt < activeMarkMs(t)) return { state: { phase, visit }, effects: [timer] };
  return { state: { phase, visit: { ...visit, activeAt: at } }, effects: [{ type: 'persist' }, timer] };
}

/** The lock's pulse as the visit knows it; only a change makes a new state. */
function lockPulse(phase: InsidePhase, visit: Visit, released: boolean): Step {
  if ((visit.lockReleased ?? false) === released) return stay({ phase, visit });
  return { state: { phase, visit: { ...visit, lockReleased: released } }, effects: [] };
}

/**
 * Whether a door opening while inside is still the entry: the unlock pulse runs (anyone may
 * push the door from outside: a companion, the villager a second time), or the door first
 * opened a moment ago (contact bounce). An exit then needs the exit button.
 */
const stillEntering = (v: Visit, at: number, t: MachineTimings): boolean =>
  v.lockReleased === true || (v.doorOpenedAt !== null && at - v.doorOpenedAt < t.doorSettleMs);

export function transition(s: SessionState, e: SessionEvent, t: MachineTimings): Step {
  if (e.type === 'effect_failed' && s.phase !== 'idle') return effectFailed(s.phase, s.visit, e.error, t);
  switch (s.phase) {
    case 'idle':
      switch (e.type) {
        case 'admitted':
          return {
            state: { phase: 'entering', visit: e.visit },
            effects: [...(e.recorded ? [] : [{ type: 'open_session' } as const]), { type: 'start_timer', timer: 'entering', ms: t.enteringTimeoutMs }],
          };
        case 'resume':
          return resume(e.phase, e.visit, e.now, t, e.doorOpen);
        default:
          // a door opened with nobody shopping is the last villager leaving; shelf changes are the runner's to report
          return stay(s);
      }
    case 'entering':
      switch (e.type) {
        case 'admission_withdrawn':
          return { state: { phase: 'idle' }, effects: [{ type: 'clear_timer', timer: 'entering' }] };
        case 'lock_released':
        case 'lock_closed':
          return lockPulse(s.phase, s.visit, e.type === 'lock_released');
        case 'exit_button': {
          // someone of this visit is inside (the door contact missed them) and leaving
          if (e.shelvesTouched) {
            const out = toExiting(withoutLeaver(s.visit), e.at, 'exit_button', t);
            return { state: out.state, effects: [{ type: 'clear_timer', timer: 'entering' }, ...out.effects] };
          }
          return { state: { phase: 'entering', visit: { ...s.visit, leaver: { at: e.at, out: false } } }, effects: [] };
        }
        case 'door_opened':
          // the one who pressed exit going out; the villager at the door gets the full wait again
          if (s.visit.leaver?.out === false) {
            return { state: { phase: 'entering', visit: { ...s.visit, leaver: { ...s.visit.leaver, out: true } } }, effects: [{ type: 'start_timer', timer: 'entering', ms: t.enteringTimeoutMs }] };
          }
          return {
            state: { phase: inside(s.visit), visit: { ...withoutLeaver(s.visit), doorOpenedAt: e.at, activeAt: e.at } },
            effects: [{ type: 'clear_timer', timer: 'entering' }, { type: 'persist' }, { type: 'start_timer', timer: 'idle', ms: t.shoppingIdleTimeoutMs }],
          };
        case 'baseline_settled': {
          // Only before the door opens: nobody of this visit can have touched the shelf yet, so
          // the weight a moving slot came to rest at is still "what was there when they came".
          const filled = Object.entries(e.baseline).filter(([slot]) => s.visit.baseline[slot] === null);
          if (filled.length === 0) return stay(s);
          return { state: { phase: 'entering', visit: { ...s.visit, baseline: { ...s.visit.baseline, ...Object.fromEntries(filled) } } }, effects: [{ type: 'persist' }] };
        }
        case 'entering_timeout':
          // Touched shelves mean someone is inside although the door was not seen to open
          // (it opened during a power cut): keep the session, never cancel a purchase. While
          // the door sensor override holds no opening can be seen: she may be inside touching
          // nothing yet, so the visit goes inside too (ended by the exit button or idle timeout;
          // cancelled, it would leave her inside an idle store and her picks on the next cart).
          if (e.shelvesTouched || e.doorOverridden === true) {
            return { state: { phase: inside(s.visit), visit: withoutLeaver(s.visit) }, effects: [{ type: 'persist' }, { type: 'start_timer', timer: 'idle', ms: t.shoppingIdleTimeoutMs }] };
          }
          return { state: { phase: 'idle' }, effects: [{ type: 'cancel_session', reason: s.visit.leaver === undefined ? 'door never opened / 门未打开' : LEAVER_CANCEL }] };
        default:
          return stay(s);
      }
    case 'shopping':
    case 'restocking':
      switch (e.type) {
        case 'exit_button':
          return toExiting(s.visit, e.at, 'exit_button', t);
        case 'door_opened':
          // still the entry: activity, like a door closing
          if (stillEntering(s.visit, e.at, t)) return active(s.phase, s.visit, e.at, t);
          // the lock is closed again: a door opening now is from inside
          return toExiting(s.visit, e.at, 'door', t);
        case 'lock_released':
        case 'lock_closed':
          return lockPulse(s.phase, s.visit, e.type === 'lock_released');
        case 'idle_timeout':
          return toExiting(s.visit, e.at, 'idle_timeout', t);
        case 'shelf_changed':
        case 'door_closed': {
          const step = active(s.phase, s.visit, e.at, t);
          return e.type === 'shelf_changed' ? { state: step.state, effects: [...step.effects, { type: 'publish_cart' }] } : step;
        }
        default:
          return stay(s);
      }
    case 'exiting':
      switch (e.type) {
        case 'lock_released':
        case 'lock_closed':
          return lockPulse(s.phase, s.visit, e.type === 'lock_released');
        case 'shelves_stable':
        case 'stability_timeout':
          return toSettling(s.visit);
        case 'shelf_changed':
          return { state: s, effects: [{ type: 'publish_cart' }] };
        case 'scales_reported':
          return { state: s, effects: scalesReported(t) };
        case 'scales_timeout':
          // the scales never all answered: settle now, slots without a reading become review lines
          return toSettling(s.visit);
        default:
          return stay(s);
      }
    case 'settling':
      switch (e.type) {
        case 'shelves_stable':
        case 'stability_timeout':
          // only after a resume: the scales had to report again before the cart could be weighed
          return { state: s, effects: [{ type: 'clear_timer', timer: 'stability' }, { type: 'settle' }] };
        case 'scales_reported':
          return { state: s, effects: scalesReported(t) };
        case 'scales_timeout':
          return { state: s, effects: [{ type: 'settle' }] };
        case 'settle_ok':
          return { state: { phase: 'settled', visit: s.visit }, effects: [{ type: 'issue_receipt' }] };
        case 'settle_failed':
          return {
            state: { phase: 'fault', visit: { ...s.visit, lastError: e.error } },
            effects: [{ type: 'persist' }, { type: 'start_timer', timer: 'retry', ms: t.settleRetryMs }],
          };
        default:
          return stay(s);
      }
    case 'settled':
      return e.type === 'receipt_issued' ? { state: { phase: 'idle' }, effects: [] } : stay(s);
    case 'fault':
      if (s.visit.faultIn) return faultBeforeSettling(s.visit, s.visit.faultIn, e, t);
      return e.type === 'retry' ? toSettling(s.visit) : stay(s);
  }
}

/**
 * In `fault` before settlement, what happens is not lost: an event moves the phase the retry
 * resumes (an exit pressed while in fault is still an exit), and the retry resumes it.
 */
function faultBeforeSettling(v: Visit, faultIn: InsidePhase, e: SessionEvent, t: MachineTimings): Step {
  const { faultIn: _in, ...visit } = v;
  if (e.type === 'retry') {
    const step = resume(faultIn, visit, e.now ?? visit.openedAt, t);
    return { state: step.state, effects: [{ type: 'persist' }, ...step.effects] };
  }
  const inner = transition({ phase: faultIn, visit }, e, t).state;
  if (inner.phase === 'idle' || (inner.phase === faultIn && inner.visit === visit)) return { state: { phase: 'fault', visit: v }, effects: [] };
  const next = insidePhases.includes(inner.phase) ? (inner.phase as InsidePhase) : undefined;
  return { state: { phase: 'fault', visit: { ...inner.visit, ...(next ? { faultIn: next } : {}) } }, effects: [{ type: 'persist' }] };
}

/**
 * An effect that failed leaves the visit in `fault` with a retry: before settlement the retry
 * resumes the phase it failed in (as after a restart, so its timers and waits start again);
 * from settlement on it settles again, which the ledger makes idempotent.
 */
function effectFailed(phase: VisitPhase, visit: Visit, error: string, t: MachineTimings): Step {
  const faultIn = phase === 'fault' ? visit.faultIn : insidePhases.includes(phase) ? (phase as InsidePhase) : undefined;
  const { faultIn: _was, ...rest } = visit;
  return {
    state: { phase: 'fault', visit: { ...rest, lastError: error, ...(faultIn ? { faultIn } : {}) } },
    effects: [{ type: 'persist' }, { type: 'start_timer', timer: 'retry', ms: t.settleRetryMs }],
  };
}

/** After a restart: wait for every scale to report once, bounded by resumeScalesTimeoutMs (see `resume`). */
const awaitScales = (t: MachineTimings): Effect[] => [{ type: 'watch_scales' }, { type: 'start_timer', timer: 'scales', ms: t.resumeScalesTimeoutMs }];

/** After a restart the stability wait begins only once the scales have something to be stable about. */
function scalesReported(t: MachineTimings): Effect[] {
  return [{ type: 'clear_timer', timer: 'scales' }, { type: 'watch_stability' }, { type: 'start_timer', timer: 'stability', ms: exitWaitWallMs(t) }];
}

/**
 * After a restart: continue an open session from its persisted phase.
 *
 * Exiting and settling weigh the cart, but right after a start no scale has reported yet: a
 * stability wait started now could end before the first reading and settle every slot as
 * `scale_unavailable` (nothing charged). So they first wait for every scale to report once
 * (`watch_scales`), bounded by the generous resumeScalesTimeoutMs for a bus that stays dead.
 */
function resume(phase: VisitPhase, was: Visit, now: number, t: MachineTimings, doorOpen = false): Step {
  // a visit that failed before settlement goes on where it failed
  if (phase === 'fault' && was.faultIn) {
    const { faultIn, ...rest } = was;
    return resume(faultIn, rest, now, t, doorOpen);
  }
  // the lock driver starts afresh: a pulse it did not start is not one it will report the end of
  const { lockReleased: _pulse, leaver: _leaver, ...visit } = was;
  switch (phase) {
    case 'entering': {
      // the full wait again: the villager may be standing at the door after the lights came back
      const left = Math.max(t.enteringTimeoutMs - Math.max(0, now - visit.openedAt), Math.min(t.enteringTimeoutMs, 5000));
      return { state: { phase, visit }, effects: [{ type: 'start_timer', timer: 'entering', ms: left }] };
    }
    case 'shopping':
    case 'restocking': {
      // The idle timeout counts from her last activity, the time the daemon was down included,
      // as it would had it never stopped; a door standing open now is someone at it.
      // (the last activity was before activeAt + activeMarkMs: counted from there, never early;
      // a quiet the clock cannot vouch for is unknown, see MAX_BELIEVABLE_QUIET_MS)
      const quiet = doorOpen || visit.activeAt === undefined || quietUnknown(visit, now, t) ? 0 : Math.max(0, now - visit.activeAt - activeMarkMs(t));
      const left = t.shoppingIdleTimeoutMs - quiet;
      if (left > 0) return { state: { phase, visit }, effects: [{ type: 'start_timer', timer: 'idle', ms: left }, { type: 'publish_cart' }] };
      // Quiet longer than the timeout: she went out while the daemon was down. Her exit is
      // weighed as after any restart, once every scale has reported again.
      const out: Visit = { ...visit, exitAt: now, exitBy: 'idle_timeout' };
      return { state: { phase: 'exiting', visit: out }, effects: [{ type: 'persist' }, { type: 'publish_cart' }, ...awaitScales(t)] };
    }
    case 'exiting':
      return { state: { phase, visit }, effects: awaitScales(t) };
    case 'settling':
    case 'fault':
    case 'settled':
      // Settlement is idempotent by session id, so settling again is safe; but the scales must
      // report again first (right after a restart they have no stable weight yet).
      // ('settled' is never left open: the ledger closes the session in the same transaction.)
      return {
        state: { phase: 'settling', visit: { ...visit, settleAttempts: visit.settleAttempts + 1 } },
        effects: [{ type: 'persist' }, ...awaitScales(t)],
      };
  }
}

/** Whether a second villager must wait (the door policy asks this). */
export const isBusy = (s: SessionState): boolean => s.phase !== 'idle';
