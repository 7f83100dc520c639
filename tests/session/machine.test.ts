/** The session state machine as tables: start state, event → next phase and effects. */
import { describe, expect, it } from 'vitest';
import { isBusy, transition, type Effect, type Phase, type SessionEvent, type SessionState, type Visit, type VisitPhase } from '../../edge/session/machine.ts';

const t = { enteringTimeoutMs: 20_000, shoppingIdleTimeoutMs: 900_000, stabilityWaitMs: 1500, exitSettleMaxMs: 10_000, resumeScalesTimeoutMs: 60_000, settleRetryMs: 5000, doorSettleMs: 2000 };
const visit = (kind: 'shopping' | 'restock' = 'shopping'): Visit => ({
  sessionId: 's1', villagerId: 'zhang', kind, enteredBy: 'card', baseline: { A1: 2400 }, openedAt: 1000,
  doorOpenedAt: null, exitAt: null, exitBy: null, settleAttempts: 0, lastError: null,
});
const at = (phase: Phase, kind: 'shopping' | 'restock' = 'shopping'): SessionState => (phase === 'idle' ? { phase } : { phase, visit: visit(kind) });
const types = (effects: Effect[]): string[] => effects.map((e) => ('timer' in e ? `${e.type}:${e.timer}` : e.type));

type Row = [Phase, SessionEvent, Phase, string[]];
const table: Row[] = [
  ['idle', { type: 'admitted', visit: visit() }, 'entering', ['open_session', 'start_timer:entering']],
  ['idle', { type: 'door_opened', at: 1 }, 'idle', []],
  ['idle', { type: 'exit_button', at: 1 }, 'idle', []],
  ['idle', { type: 'shelf_changed', at: 1 }, 'idle', []],
  ['entering', { type: 'door_opened', at: 2 }, 'shopping', ['clear_timer:entering', 'persist', 'start_timer:idle']],
  ['entering', { type: 'entering_timeout', shelvesTouched: false }, 'idle', ['cancel_session']],
  ['entering', { type: 'entering_timeout', shelvesTouched: true }, 'shopping', ['persist', 'start_timer:idle']],
  ['entering', { type: 'admitted', visit: visit() }, 'entering', []],
  // the exit button is inside: with the shelves untouched its presser is someone leaving; touched, the visit is inside and leaving
  ['entering', { type: 'exit_button', at: 2, shelvesTouched: false }, 'entering', []],
  ['entering', { type: 'exit_button', at: 2, shelvesTouched: true }, 'exiting', ['clear_timer:entering', 'clear_timer:idle', 'persist', 'watch_stability', 'start_timer:stability']],
  // visit() has a baseline for A1 already: a slot coming to rest later never overwrites one
  ['entering', { type: 'baseline_settled', baseline: { A1: 2000 } }, 'entering', []],
  ['shopping', { type: 'baseline_settled', baseline: { A1: 2000 } }, 'shopping', []],
  ['shopping', { type: 'exit_button', at: 3 }, 'exiting', ['clear_timer:idle', 'persist', 'watch_stability', 'start_timer:stability']],
  ['shopping', { type: 'door_opened', at: 3 }, 'exiting', ['clear_timer:idle', 'persist', 'watch_stability', 'start_timer:stability']],
  ['shopping', { type: 'idle_timeout', at: 3 }, 'exiting', ['clear_timer:idle', 'persist', 'watch_stability', 'start_timer:stability']],
  // activity: recorded with the visit (a restart counts the idle timeout from it), here for the first time
  ['shopping', { type: 'shelf_changed', at: 3 }, 'shopping', ['persist', 'start_timer:idle', 'publish_cart']],
  ['shopping', { type: 'door_closed', at: 3 }, 'shopping', ['persist', 'start_timer:idle']],
  ['shopping', { type: 'admitted', visit: visit() }, 'shopping', []],
  ['restocking', { type: 'exit_button', at: 3 }, 'exiting', ['clear_timer:idle', 'persist', 'watch_stability', 'start_timer:stability']],
  ['exiting', { type: 'shelves_stable' }, 'settling', ['clear_timer:stability', 'persist', 'settle']],
  ['exiting', { type: 'stability_timeout' }, 'settling', ['clear_timer:stability', 'persist', 'settle']],
  ['exiting', { type: 'shelf_changed', at: 4 }, 'exiting', ['publish_cart']],
  ['exiting', { type: 'door_opened', at: 4 }, 'exiting', []],
  // after a restart: the stability wait starts once every scale has reported
  ['exiting', { type: 'scales_reported' }, 'exiting', ['clear_timer:scales', 'watch_stability', 'start_timer:stability']],
  ['exiting', { type: 'scales_timeout' }, 'settling', ['clear_timer:stability', 'persist', 'settle']],
  ['settling', { type: 'settle_ok' }, 'settled', ['issue_receipt']],
  ['settling', { type: 'settle_failed', error: 'disk full' }, 'fault', ['persist', 'start_timer:retry']],
  ['settling', { type: 'shelves_stable' }, 'settling', ['clear_timer:stability', 'settle']],
  ['settling', { type: 'exit_button', at: 5 }, 'settling', []],
  ['settling', { type: 'scales_reported' }, 'settling', ['clear_timer:scales', 'watch_stability', 'start_timer:stability']],
  ['settling', { type: 'scales_timeout' }, 'settling', ['settle']],
  ['settled', { type: 'receipt_issued' }, 'idle', []],
  ['settled', { type: 'admitted', visit: visit() }, 'settled', []],
  ['fault', { type: 'retry' }, 'settling', ['clear_timer:stability', 'persist', 'settle']],
  ['fault', { type: 'door_opened', at: 6 }, 'fault', []],
];

describe('the exit button while entering, the shelves untouched', () => {
  const pressed = transition(at('entering'), { type: 'exit_button', at: 2, shelvesTouched: false }, t).state;
  it('a press after the leaver went out is another leaving, never the villager: she may still be outside', () => {
    const out = transition(pressed, { type: 'door_opened', at: 3 }, t).state;
    const again = transition(out, { type: 'exit_button', at: 4, shelvesTouched: false }, t);
    expect(again.state.phase).toBe('entering');
    expect(again.state.phase !== 'idle' && again.state.visit.leaver).toBeDefined();
  });

  it("takes the door's next opening for the one leaving, with the full entering wait again; the opening after it is the entry", () => {
    const out = transition(pressed, { type: 'door_opened', at: 3 }, t);
    expect(out.state.phase).toBe('entering');
    expect(out.effects).toEqual([{ type: 'start_timer', timer: 'entering', ms: t.enteringTimeoutMs }]);
    const entered = transition(out.state, { type: 'door_opened', at: 4 }, t).state;
    expect(entered).toMatchObject({ phase: 'shopping', visit: { doorOpenedAt: 4 } });
    expect(entered.phase !== 'idle' && entered.visit.leaver).toBeUndefined();
  });
  it('cancels with the reason when nobody came in, nothing charged; goes inside when the shelves were touched', () => {
    const out = transition(pressed, { type: 'door_opened', at: 3 }, t).state;
    const cancelled = transition(out, { type: 'entering_timeout', shelvesTouched: false }, t);
    expect(cancelled.state.phase).toBe('idle');
    expect(cancelled.effects).toEqual([{ type: 'cancel_session', reason: expect.stringMatching(/exit button.*出门按钮/) }]);
    const inside = transition(out, { type: 'entering_timeout', shelvesTouched: true }, t).state;
    expect(inside.phase).toBe('shopping');
    expect(inside.phase !== 'idle' && inside.visit.leaver).toBeUndefined();
  });
  it('is forgotten on resume: a restarted daemon does not know who pressed', () => {
    const resumed = transition({ phase: 'idle' }, { type: 'resume', phase: 'entering', visit: (pressed as { visit: Visit }).visit, now: 3 }, t).state;
    expect(resumed.phase !== 'idle' && resumed.visit.leaver).toBeUndefined();
  });
});

describe('transition', () => {
  it.each(table)('%s + %o → %s', (from, event, to, effects) => {
    const step = transition(at(from), event, t);
    expect(step.state.phase).toBe(to);
    expect(types(step.effects)).toEqual(effects);
  });

  it('a slot without a baseline gets one if it comes to rest before the door opens, and only then', () => {
    const moving: SessionState = { phase: 'entering', visit: { ...visit(), baseline: { A1: 2400, A2: null } } };
    const step = transition(moving, { type: 'baseline_settled', baseline: { A1: 1, A2: 1150 } }, t);
    expect(step.state).toMatchObject({ phase: 'entering', visit: { baseline: { A1: 2400, A2: 1150 } } });
    expect(types(step.effects)).toEqual(['persist']);
    const inside = transition({ ...moving, phase: 'shopping' }, { type: 'baseline_settled', baseline: { A2: 1150 } }, t);
    expect(inside.state).toMatchObject({ phase: 'shopping', visit: { baseline: { A2: null } } });
  });

  it('a door opening during the unlock pulse or within doorSettleMs of the first is still the entry', () => {
    const entered = transition(at('entering'), { type: 'lock_released' }, t).state;
    const shopping = transition(entered, { type: 'door_opened', at: 10_000 }, t).state;
    expect(shopping).toMatchObject({ phase: 'shopping', visit: { lockReleased: true, doorOpenedAt: 10_000 } });
    const again = transition(shopping, { type: 'door_opened', at: 60_000 }, t);
    expect(again.state.phase).toBe('shopping');
    expect(types(again.effects)).toEqual(['start_timer:idle']); // activity recorded 50 s ago: not written again yet
    const relocked = transition(shopping, { type: 'lock_closed' }, t).state;
    expect(transition(relocked, { type: 'door_opened', at: 11_999 }, t).state.phase).toBe('shopping');
    expect(transition(relocked, { type: 'door_opened', at: 12_000 }, t).state).toMatchObject({ phase: 'exiting', visit: { exitBy: 'door' } });
    // a restart forgets the pulse: the lock driver starts afresh
    const resumed = transition({ phase: 'idle' }, { type: 'resume', phase: 'shopping', visit: { ...visit(), lockReleased: true, doorOpenedAt: 10_000 }, now: 50_000 }, t).state;
    expect(transition(resumed, { type: 'door_opened', at: 50_000 }, t).state.phase).toBe('exiting');
  });

  it('entering a restock visit leads to restocking, not shopping', () => {
    expect(transition(at('entering', 'restock'), { type: 'door_opened', at: 2 }, t).state.phase).toBe('restocking');
  });

  it('records how and when the villager left, and counts settlement attempts', () => {
    const exiting = transition(at('shopping'), { type: 'exit_button', at: 77 }, t).state;
    expect(exiting.phase === 'exiting' && exiting.visit).toMatchObject({ exitAt: 77, exitBy: 'exit_button' });
    const settling = transition(exiting, { type: 'shelves_stable' }, t).state;
    expect(settling.phase === 'settling' && settling.visit.settleAttempts).toBe(1);
    const fault = transition(settling, { type: 'settle_failed', error: 'disk full' }, t).state;
    expect(fault.phase === 'fault' && fault.visit.lastError).toBe('disk full');
    expect(transition(fault, { type: 'retry' }, t).state).toMatchObject({ phase: 'settling', visit: { settleAttempts: 2 } });
  });

  it('every phase but idle is busy: a second villager waits', () => {
    const phases: Phase[] = ['idle', 'entering', 'shopping', 'restocking', 'exiting', 'settling', 'settled', 'fault'];
    expect(phases.filter((p) => isBusy(at(p)))).toEqual(['entering', 'shopping', 'restocking', 'exiting', 'settling', 'settled', 'fault']);
  });
});

describe('resume after a power cut', () => {
  it.each<[VisitPhase, VisitPhase, string[]]>([
    ['entering', 'entering', ['start_timer:entering']],
    ['shopping', 'shopping', ['start_timer:idle', 'publish_cart']],
    ['restocking', 'restocking', ['start_timer:idle', 'publish_cart']],
    // exiting and settling wait for every scale to report once before the stability wait,
    // then settle (idempotent by session id)
    ['exiting', 'exiting', ['watch_scales', 'start_timer:scales']],
    ['settling', 'settling', ['persist', 'watch_scales', 'start_timer:scales']],
    ['fault', 'settling', ['persist', 'watch_scales', 'start_timer:scales']],
  ])('persisted %s resumes as %s', (persisted, phase, effects) => {
    const step = transition({ phase: 'idle' }, { type: 'resume', phase: persisted, visit: visit(), now: 5000 }, t);
    expect(step.state.phase).toBe(phase);
    expect(types(step.effects)).toEqual(effects);
  });

  it('the wait for the scales after a restart is its own, longer than the stability wait', () => {
    const step = transition({ phase: 'idle' }, { type: 'resume', phase: 'exiting', visit: visit(), now: 5000 }, t);
    expect(step.effects).toContainEqual({ type: 'start_timer', timer: 'scales', ms: 60_000 });
  });

  it('activity is written again only once its record is a minute (a tenth of the idle timeout) old', () => {
    const inside = { phase: 'shopping' as const, visit: { ...visit(), activeAt: 100_000 } };
    const mark = Math.min(60_000, t.shoppingIdleTimeoutMs / 10);
    const soon = transition(inside, { type: 'shelf_changed', at: 100_000 + mark - 1 }, t);
    expect(types(soon.effects)).toEqual(['start_timer:idle', 'publish_cart']);
    expect(soon.state.phase !== 'idle' && soon.state.visit.activeAt).toBe(100_000);
    const stale = transition(inside, { type: 'door_closed', at: 100_000 + mark }, t);
    expect(types(stale.effects)).toEqual(['persist', 'start_timer:idle']);
    expect(stale.state.phase !== 'idle' && stale.state.visit.activeAt).toBe(100_000 + mark);
  });

  it('shopping resumes with what is left of the idle timeout since her last activity; quiet longer, she is gone: exiting once the scales report', () => {
    const v = { ...visit(), doorOpenedAt: 1000, activeAt: 100_000 };
    const mark = Math.min(60_000, t.shoppingIdleTimeoutMs / 10); // her last activity was before activeAt + mark
    const soon = transition({ phase: 'idle' }, { type: 'resume', phase: 'shopping', visit: v, now: 400_000 }, t);
    expect(soon.state.phase).toBe('shopping');
    expect(soon.effects[0]).toEqual({ type: 'start_timer', timer: 'idle', ms: t.shoppingIdleTimeoutMs - 300_000 + mark });
    const early = transition({ phase: 'idle' }, { type: 'resume', phase: 'shopping', visit: v, now: 100_000 + t.shoppingIdleTimeoutMs + mark - 1 }, t);
    expect(early.state.phase).toBe('shopping');
    const gone = transition({ phase: 'idle' }, { type: 'resume', phase: 'shopping', visit: v, now: 100_000 + t.shoppingIdleTimeoutMs + mark }, t);
    expect(gone.state).toMatchObject({ phase: 'exiting', visit: { exitBy: 'idle_timeout', exitAt: 100_000 + t.shoppingIdleTimeoutMs + mark } });
    expect(types(gone.effects)).toEqual(['persist', 'publish_cart', 'watch_scales', 'start_timer:scales']);
    // the door standing open: someone is at it; a visit without activeAt (an older daemon's): the whole timeout
    const held = transition({ phase: 'idle' }, { type: 'resume', phase: 'shopping', visit: v, now: 10_000_000, doorOpen: true }, t);
    expect(held.effects[0]).toEqual({ type: 'start_timer', timer: 'idle', ms: t.shoppingIdleTimeoutMs });
    const old = transition({ phase: 'idle' }, { type: 'resume', phase: 'shopping', visit: visit(), now: 10_000_000 }, t);
    expect(old.effects[0]).toEqual({ type: 'start_timer', timer: 'idle', ms: t.shoppingIdleTimeoutMs });
  });

  it('entering resumes with what is left of the wait, but never less than a few seconds', () => {
    const fresh = transition({ phase: 'idle' }, { type: 'resume', phase: 'entering', visit: visit(), now: 6000 }, t).effects[0];
    expect(fresh).toEqual({ type: 'start_timer', timer: 'entering', ms: 15_000 });
    const late = transition({ phase: 'idle' }, { type: 'resume', phase: 'entering', visit: visit(), now: 1_000_000 }, t).effects[0];
    expect(late).toEqual({ type: 'start_timer', timer: 'entering', ms: 5000 });
  });
});

describe('an effect that failed', () => {
  const t = { enteringTimeoutMs: 1000, shoppingIdleTimeoutMs: 10_000, stabilityWaitMs: 50, exitSettleMaxMs: 200, resumeScalesTimeoutMs: 5000, settleRetryMs: 100, doorSettleMs: 0 };
  const v = { sessionId: 's', villagerId: 'A', kind: 'shopping' as const, enteredBy: 'card' as const, baseline: {}, openedAt: 0, doorOpenedAt: 1, exitAt: null, exitBy: null, settleAttempts: 0, lastError: null };

  it('holds the visit in fault with a retry that resumes the phase it failed in', () => {
    const f = transition({ phase: 'shopping', visit: v }, { type: 'effect_failed', error: 'io' }, t);
    expect(f.state).toMatchObject({ phase: 'fault', visit: { faultIn: 'shopping', lastError: 'io' } });
    expect(f.effects.map((e) => e.type)).toEqual(['persist', 'start_timer']);
    const r = transition(f.state, { type: 'retry', now: 5 }, t);
    expect(r.state.phase).toBe('shopping');
    expect(r.state.phase !== 'idle' && r.state.visit.faultIn).toBeUndefined();
    expect(r.effects.map((e) => e.type)).toEqual(['persist', 'start_timer', 'publish_cart']);
  });

  it('an exit while in fault moves what the retry resumes', () => {
    const f = transition({ phase: 'shopping', visit: v }, { type: 'effect_failed', error: 'io' }, t).state;
    const e = transition(f, { type: 'exit_button', at: 9 }, t);
    expect(e.state).toMatchObject({ phase: 'fault', visit: { faultIn: 'exiting', exitAt: 9, exitBy: 'exit_button' } });
    expect(transition(e.state, { type: 'retry', now: 10 }, t).state.phase).toBe('exiting');
  });

  it('after settlement began, the retry settles again (idempotent in the ledger)', () => {
    const f = transition({ phase: 'settled', visit: v }, { type: 'effect_failed', error: 'io' }, t).state;
    expect(f.phase === 'fault' && f.visit.faultIn).toBeUndefined();
    expect(transition(f, { type: 'retry' }, t).state.phase).toBe('settling');
  });

  it('in idle there is no visit to hold', () => {
    expect(transition({ phase: 'idle' }, { type: 'effect_failed', error: 'io' }, t)).toEqual({ state: { phase: 'idle' }, effects: [] });
  });
});
