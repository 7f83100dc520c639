/**
 * The store session's runner: feeds door, exit-button, shelf and entry events into the pure
 * state machine (machine.ts) and performs its effects — persisting each transition, timers,
 * waiting for stable shelves, settling in one transaction, issuing the receipt.
 *
 * The door's side (busy?, the admission written before the unlock, announcements) is
 * front-door.ts; the lock's events lock-watch.ts; weights weighing.ts and shelf-watch.ts;
 * ledger writes journal.ts.
 *
 * Weights are read from the scale driver's own stable-weight tracking (`status()`), not
 * accumulated from events, so the cart after a restart is computed from the same numbers.
 */
import { EventEmitter } from 'node:events';
import type { ScaleEvents } from '../../drivers/index.ts';
import type { Part } from '../parts.ts';
import type { Db } from '../ledger/db.ts';
import type { EnteredBy } from '../ledger/sessions.ts';
import { releaseVisitQrTokens } from '../ledger/qr-slips.ts';
import { computeCart } from './cart.ts';
import { SessionJournal } from './journal.ts';
import { transition, type Effect, type MachineTimings, type Phase, type SessionEvent, type SessionState, type Visit } from './machine.ts';
import type { AdmissionDecision, CartView, DecisionSource, DoorPrompt, StoreSessionDeps, StoreSessionEvents } from './ports.ts';
import { FrontDoor, type Admission, type Credential } from './front-door.ts';
import type { Announcement } from './receipt.ts';
import { buildReceipt, settleVisit, type Settled } from './settlement.ts';
import { HealthLine } from './health-line.ts';
import { LockWatch } from './lock-watch.ts';
import { ResumeOnStart } from './resume.ts';
import { DoorOverride } from './door-override.ts';
import { ShelfWatch } from './shelf-watch.ts';
import { SessionTimers, timerEvent } from './timers.ts';
import { cameToRest, price, touched, weighings, type ExitWeights } from './weighing.ts';

export type { AdmissionDecision, CartView, DecisionSource, DoorSignals, Shelves, StateChange, StoreSessionDeps, StoreSessionEvents } from './ports.ts';

export class StoreSessionEngine extends EventEmitter<StoreSessionEvents> implements Part {
  readonly name = 'session';
  readonly critical = true;
  private state: SessionState = { phase: 'idle' };
  private readonly timers = new SessionTimers();
  private readonly queue: SessionEvent[] = [];
  private draining = false;
  private running = false;
  private readonly watch: ShelfWatch;
  private readonly door: FrontDoor;
  private readonly lockWatch: LockWatch;
  private startedAt = 0;
  private readonly health: HealthLine;
  private readonly journal: SessionJournal;
  private readonly timings: MachineTimings;
  private readonly resume: ResumeOnStart;
  /** The maintainer's override of a faulty door sensor (door-override.ts; the admin page's /door). */
  readonly doorSensor: DoorOverride;
  /** The settlement just made, for its receipt. */
  private lastSettle: Settled | null = null;
  /** The daemon's clock (deps.clock): the visit's rows and recorded times; its timers stay real. */
  private readonly clock = (): Date => new Date(this.now());

  // Listener bodies run in the drivers' loops (a scale sweep; the lock's are lock-watch.ts):
  // whatever they throw is the session's fault to handle, never the driver's.
  private readonly onChange = (c: ScaleEvents['change'][0]): void => this.guard('shelf change', () => {
    if (this.state.phase === 'idle') {
      this.deps.logger.warn({ slot: c.slot, delta_g: c.delta_g }, 'shelf changed with nobody in the store / 无人时货架重量变化');
      this.safeEmit('unattended', { slot: c.slot, deltaG: c.delta_g, fromG: c.from_g, toG: c.to_g, at: this.now() });
      return;
    }
    this.dispatch({ type: 'shelf_changed', at: this.now() });
  });
  private readonly onSweep = (s: ScaleEvents['sweep'][0]): void => this.guard('sweep', () => {
    this.settleBaseline();
    for (const e of this.watch.onSweep(s.duration_ms)) this.dispatch(e);
  });

  private decisions: DecisionSource | null = null;
  private readonly onDecision = (d: AdmissionDecision): void => this.onEntryDecision(d);
  // the door's liveness challenge is said on the display and speaker like any announcement
  private readonly onPrompt = (p: DoorPrompt): void => this.announce(p.attempt > 1 ? 'challenge_repeat' : 'challenge', null, p.text);

  constructor(private readonly deps: StoreSessionDeps) {
    super();
    const c = deps.config;
    this.health = new HealthLine(deps.health);
    this.timings = { enteringTimeoutMs: c.entering_timeout_ms, shoppingIdleTimeoutMs: c.shopping_idle_timeout_ms, stabilityWaitMs: c.stability_wait_ms, exitSettleMaxMs: c.exit_settle_max_ms, resumeScalesTimeoutMs: c.resume_scales_timeout_ms, settleRetryMs: c.settle_retry_ms, doorSettleMs: c.door_settle_ms };
    this.journal = new SessionJournal({
      db: () => this.db,
      logger: deps.logger,
      retryMs: c.settle_retry_ms,
      current: () => (this.state.phase === 'idle' ? null : { visit: this.state.visit, phase: this.state.phase }),
      failed: (where, message) => {
        this.health.failed(`session write (${where}) failed: ${message}`);
        this.safeEmit('fault', { where, message });
        this.reportHealth();
      },
      landed: () => this.reportHealth(), clock: this.clock,
    });
    this.resume = new ResumeOnStart({
      db: () => this.db,
      logger: deps.logger,
      timers: this.timers,
      retryMs: c.settle_retry_ms,
      now: () => this.now(), timings: this.timings,
      resumed: (r) => {
        this.dispatch({ type: 'resume', phase: r.phase, visit: r.visit, now: this.now(), doorOpen: this.doorSensor.lock.doorState === 'open' });
        this.lockWatch.doorAsItStands(); // a door found open while entering is the entry
      },
      failed: (err) => this.failed(err, 'resume'),
    });
    // a maintainer's "the door is closed, its sensor faulty"; withdrawn, a door its sensor reports open holds the next villager again
    this.doorSensor = new DoorOverride({ lock: deps.lock, logger: deps.logger, alarms: deps.alarms, now: () => this.now(), visit: () => this.current?.sessionId ?? null, running: () => this.running, retryMs: c.settle_retry_ms, began: () => this.door.declaredClosed(), withdrawn: () => this.state.phase === 'idle' && deps.lock.doorState === 'open' ? this.door.openAtStart() : undefined });
    this.watch = new ShelfWatch({ scales: deps.scales, clock: () => performance.now(), stabilityWaitMs: c.stability_wait_ms, exitSettleMaxMs: c.exit_settle_max_ms, logger: deps.logger });
    this.door = new FrontDoor({
      running: () => this.running,
      resuming: () => this.resume.pending,
      state: () => this.state,
      db: () => this.db,
      scales: deps.scales,
      lock: this.doorSensor.lock,
      logger: deps.logger,
      journal: this.journal,
      now: () => this.now(),
      leaveHoldMs: c.leave_hold_ms,
      shelvesTouched: () => this.shelvesTouched(),
      ...(deps.newSessionId ? { newSessionId: deps.newSessionId } : {}),
      dispatch: (e) => this.dispatch(e),
      announce: (reason, villagerId, text) => this.announce(reason, villagerId, text),
      settleBaseline: () => this.settleBaseline(),
      emitState: () => this.emitState(),
    });
    this.lockWatch = new LockWatch({
      lock: this.doorSensor.lock,
      heard: (d) => this.doorSensor.heard(d),
      door: this.door,
      phase: () => this.state.phase,
      dispatch: (e) => this.dispatch(e),
      settleBaseline: () => this.settleBaseline(),
      shelvesTouched: () => this.shelvesTouched(),
      current: () => this.current,
      logger: deps.logger,
      guard: (where, body) => this.guard(where, body), now: () => this.now(),
      pulsed: (released) => this.lockPulsed(released),
      doorSettleMs: c.door_settle_ms,
    });
  }

  private get db(): Db { return this.deps.db(); }
  private now(): number { return this.deps.clock?.().getTime() ?? (this.deps.now ?? Date.now)(); }

  /** Listens to the drivers and resumes a session left open by a power cut or crash. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.journal.start();
    this.startedAt = performance.now();
    this.doorSensor.restore(); // an override set before a restart, its alarm still active
    const { scales } = this.deps;
    this.lockWatch.start();
    scales.on('change', this.onChange);
    scales.on('sweep', this.onSweep);
    this.decisions = this.deps.entry?.() ?? null;
    this.decisions?.on('decision', this.onDecision);
    this.decisions?.on('prompt', this.onPrompt);
    this.resume.start(); // a read that fails is retried, the store busy until it succeeds
    if (this.state.phase === 'idle' && !this.resume.pending) this.lockWatch.doorAsItStands(); // no visit left open
  }

  /** Stops listening; an open session stays open in the ledger and resumes at the next start. */
  stop(): void {
    this.running = false;
    const { scales } = this.deps;
    this.lockWatch.stop();
    scales.off('change', this.onChange);
    scales.off('sweep', this.onSweep);
    this.decisions?.off('decision', this.onDecision);
    this.decisions?.off('prompt', this.onPrompt);
    this.decisions = null;
    this.timers.clearAll();
    this.resume.stop();
    // what was not written is what a power cut loses: a visit resumes from its last saved
    // phase, an unsaved cancellation as an `entering` that times out again
    this.journal.stop();
    this.lastSettle = null;
    this.queue.length = 0;
    this.watch.clear();
  }

  get phase(): Phase { return this.state.phase; }
  get current(): Visit | null { return this.state.phase === 'idle' ? null : this.state.visit; }

  /** The door policy's question (edge/entry's StoreOccupancy); see FrontDoor. */
  isStoreBusy(villagerId?: string): boolean {
    return this.door.isStoreBusy(villagerId);
  }

  /** Writes the admission before the unlock pulse (edge/entry's StoreOccupancy); see FrontDoor. */
  admit(villagerId: string, by: EnteredBy, credential?: Credential): Admission {
    return this.door.admit(villagerId, by, credential);
  }

  /** The unlock after `admit` failed: the admission is withdrawn, a QR slip given back. */
  cancelAdmission(sessionId: string, reason: string, credential?: Credential): void {
    this.guard('cancel admission', () => this.door.cancelAdmission(sessionId, reason, credential));
  }

  /** The live cart of the session in the store (for the display and the admin page). */
  cart(): CartView | null {
    const v = this.current;
    if (!v) return null;
    const cart = computeCart(weighings(this.db, this.deps.scales, v, null), this.deps.config.weight, v.kind);
    return { sessionId: v.sessionId, villagerId: v.villagerId, cart, totalPoints: price(this.db, v, cart) };
  }

  /** Wire to EntryPipeline's `decision` event in the composition root. */
  onEntryDecision(d: AdmissionDecision): void {
    this.guard('entry decision', () => this.door.decided(d));
  }

  // ---- the loop ----

  dispatch(e: SessionEvent): void {
    if (!this.running) return;
    this.queue.push(e);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.running && this.queue.length > 0) {
        const next = this.queue.shift() as SessionEvent;
        try {
          this.step(next);
        } catch (err) {
          this.failed(err, `${next.type} in ${this.state.phase}`);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Runs a listener body or a timer callback; what it throws becomes a fault, not a crash. */
  private guard(where: string, body: () => void): void {
    try {
      body();
    } catch (err) {
      this.failed(err, where);
    }
  }

  /**
   * An effect failed (the state had already advanced) or a listener threw. The visit goes to
   * `fault` with a retry that resumes it; its timers and waits stop, so nothing acts on a step
   * that did not finish. In idle there is no visit to hold: the failure is reported only.
   */
  private failed(err: unknown, where: string): void {
    const message = err instanceof Error ? err.message : String(err);
    this.deps.logger.error({ err, where, phase: this.state.phase }, 'session effect failed; will retry / 购物流程出错，稍后重试');
    this.health.failed(`${where}: ${message}`);
    this.safeEmit('fault', { where: 'effect', message });
    if (this.state.phase !== 'idle' && this.running) {
      this.timers.clearAll();
      this.watch.clear();
      const e: SessionEvent = { type: 'effect_failed', error: message };
      // before anything queued behind the failed step: those events then apply to the fault
      if (this.draining) this.queue.unshift(e);
      else this.dispatch(e);
    }
    this.reportHealth(true);
  }

  private reportHealth(failedNow = false): void {
    this.health.update({ fault: this.state.phase === 'fault' ? this.state.visit.lastError ?? '' : null, writesPending: this.journal.pending || this.resume.pending, failedNow });
  }

  /** The lock's pulse began or ended (lock-watch.ts tells the visit): logged and told to observers. */
  private lockPulsed(released: boolean): void {
    this.deps.logger.info({ event: 'lock', released }, released ? 'door unlocked / 门已开锁' : 'door locked again / 门已重新上锁');
    this.safeEmit('lock', { released, at: this.now() });
  }

  private step(e: SessionEvent): void {
    const before = this.state;
    const { state, effects } = transition(before, e, this.timings);
    this.state = state;
    // an admission made without `admit` (the unlock came first) learns of the running pulse now
    if (before.phase === 'idle' && state.phase === 'entering' && this.lockWatch.pulseRunning) this.queue.push({ type: 'lock_released' });
    // an admission written before the unlock is only a reservation (a failed unlock withdraws
    // it): observers hear of the visit once its door has unlocked (FrontDoor.decided)
    let announced = state.phase === before.phase || (e.type === 'admitted' && e.recorded === true);
    for (const effect of effects) {
      if (!this.running) return; // halted mid-step: the rest is what a power cut loses
      this.perform(effect, before);
      if (!announced && (effect.type === 'persist' || effect.type === 'open_session' || effect.type === 'cancel_session')) {
        announced = true;
        this.emitState();
      }
    }
    if (!announced && this.running) this.emitState();
    this.reportHealth();
  }

  private emitState(): void {
    const v = this.current;
    this.safeEmit('state', { phase: this.state.phase, sessionId: v?.sessionId ?? null, villagerId: v?.villagerId ?? null, at: this.now() });
  }

  private perform(effect: Effect, before: SessionState): void {
    switch (effect.type) {
      case 'open_session':
      case 'persist':
        this.journal.save(effect.type === 'open_session' ? 'open' : 'persist');
        return;
      case 'cancel_session':
        // the door never opened for this visit: its QR slips are given back with it (used up only when the door opens)
        if (before.phase !== 'idle') this.journal.cancel(before.visit, effect.reason, () => void releaseVisitQrTokens(this.db, before.visit.sessionId));
        return;
      case 'start_timer': {
        const timer = effect.timer;
        this.timers.start(timer, effect.ms, () => this.guard(`${timer} timer`, () => this.dispatch(timerEvent(timer, this.now(), () => this.shelvesTouched(), () => this.doorSensor.blindTo(this.current?.sessionId)))));
        return;
      }
      case 'clear_timer':
        this.timers.clear(effect.timer);
        return;
      case 'watch_stability':
        this.watch.watchStability();
        return;
      case 'watch_scales':
        this.watch.watchScales(this.startedAt);
        return;
      case 'settle':
        this.settle(this.watch.finish());
        return;
      case 'issue_receipt':
        this.issueReceipt();
        return;
      case 'publish_cart': {
        const view = this.cart();
        if (view) this.safeEmit('cart', view);
        return;
      }
    }
  }

  /** Whether someone is inside although the door was not seen to open (weighing.ts `touched`). */
  private shelvesTouched(): boolean {
    return touched(this.cart()?.cart);
  }

  /** While entering: slots that had no baseline at the door and are at rest now get one. */
  private settleBaseline(): void {
    const baseline = this.state.phase === 'entering' ? cameToRest(this.state.visit, this.deps.scales) : null;
    if (baseline) this.dispatch({ type: 'baseline_settled', baseline });
  }

  private settle(atExit: ExitWeights): void {
    const v = this.current as Visit;
    try {
      // weighing reads the ledger (slots, products): a read that fails is a failed settlement
      // with its retry, not an exception that leaves the store in `settling` with no timer
      this.lastSettle = settleVisit(this.db, this.deps.scales, atExit, v, this.deps.config.weight, this.deps.rules, (db) => this.journal.writePending(db), this.clock);
      this.journal.writesLanded();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.logger.error({ err: message, sessionId: v.sessionId }, 'settlement failed; will retry / 结算失败，稍后重试');
      this.safeEmit('fault', { where: 'settle', message });
      this.announce('settle_delayed', v.villagerId, '结算暂时失败，系统会自动重试，您可以正常离开。');
      this.dispatch({ type: 'settle_failed', error: message });
      return;
    }
    this.dispatch({ type: 'settle_ok' });
  }

  private issueReceipt(): void {
    const v = this.current as Visit;
    const done = this.lastSettle;
    this.lastSettle = null;
    if (v.exitBy === 'exit_button') this.door.holdForLeaver();
    if (done) {
      const receipt = buildReceipt(this.db, v, done, this.now());
      this.deps.logger.info({ event: 'receipt', sessionId: v.sessionId, villagerId: v.villagerId, total: receipt.totalPoints, debt: receipt.debtPoints, review: receipt.reviewCount, settleMs: receipt.settleMs }, receipt.text);
      this.safeEmit('receipt', receipt);
    }
    this.dispatch({ type: 'receipt_issued' });
  }

  private announce(reason: Announcement['reason'], villagerId: string | null, text: string): void {
    // logged as well as emitted: what the door said is then in the journal, and a scenario
    // runner with the daemon in another process reads it from there
    this.deps.logger.info({ event: 'announce', reason, villagerId }, text);
    this.safeEmit('announce', { reason, villagerId, text, at: this.now() });
  }

  /** Listener errors are logged, never rethrown into the door's loop. */
  private safeEmit<K extends keyof StoreSessionEvents>(event: K, ...args: StoreSessionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: StoreSessionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, event }, 'session listener failed');
    }
  }
}
