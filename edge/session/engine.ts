/**
 * The store session's runner: feeds door, exit-button, shelf and entry events into the pure
 * state machine (machine.ts) and performs its effects — persisting each transition, timers,
 * waiting for stable shelves, settling in one transaction, issuing the receipt.
 *
 * It answers the door policy's "is the store busy?" (one shopping session at a time) and
 * turns refusals into announcements for the door display and speaker.
 *
 * Weights are read from the scale driver's own stable-weight tracking (`status()`), not
 * accumulated from events, so the cart after a restart is computed from the same numbers.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { LockEvents, ScaleEvents, SlotStatus } from '../../drivers/index.ts';
import type { Part } from '../parts.ts';
import type { Db } from '../ledger/db.ts';
import { inTransaction } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { adjustStock, getProduct, getSlot, listSlots, type Product } from '../ledger/products.ts';
import { cancelSession, getOpenSession, getSession, openSession, saveSessionState, sessionLines, settleSession, type EnteredBy, type ReviewLine, type SettleResult } from '../ledger/sessions.ts';
import { getVillager } from '../ledger/villagers.ts';
import type { SessionConfig } from './config.ts';
import { computeCart, type Cart, type SlotWeighing } from './cart.ts';
import { isBusy, transition, type Effect, type MachineTimings, type Phase, type SessionEvent, type SessionState, type TimerName, type Visit, type VisitPhase } from './machine.ts';
import { busyText, debtText, receiptText, UNCERTAIN_TEXT, welcomeText, type Announcement, type Receipt } from './receipt.ts';

/** The lock driver as the session needs it (drivers/lock's LockDriver fits). */
export interface DoorSignals {
  readonly doorState: 'open' | 'closed' | 'unknown';
  on<K extends keyof LockEvents>(event: K, listener: (...args: LockEvents[K]) => void): unknown;
  off<K extends keyof LockEvents>(event: K, listener: (...args: LockEvents[K]) => void): unknown;
}

/** The scale driver as the session needs it (drivers/scales' ScaleDriver fits). */
export interface Shelves {
  status(): SlotStatus[];
  on<K extends keyof ScaleEvents>(event: K, listener: (...args: ScaleEvents[K]) => void): unknown;
  off<K extends keyof ScaleEvents>(event: K, listener: (...args: ScaleEvents[K]) => void): unknown;
}

/** An entry decision as the session needs it (edge/entry's EntryDecision fits). */
export interface AdmissionDecision {
  by: 'face' | 'qr' | 'card';
  decision: string;
  villagerId: string | null;
  unlocked: boolean;
}

/** The entry pipeline as the session needs it: its decisions (edge/entry's EntryPipeline fits). */
export interface DecisionSource {
  on(event: 'decision', listener: (d: AdmissionDecision) => void): unknown;
  off(event: 'decision', listener: (d: AdmissionDecision) => void): unknown;
}

export interface StoreSessionDeps {
  /** The ledger, opened by its own part before this one starts. */
  db: () => Db;
  /** The door's decisions; absent in tests that call onEntryDecision directly. */
  entry?: () => DecisionSource | undefined;
  config: SessionConfig;
  rules: LedgerRules;
  lock: DoorSignals;
  scales: Shelves;
  logger: Logger;
  now?: () => number;
  newSessionId?: () => string;
}

export interface StateChange { phase: Phase; sessionId: string | null; villagerId: string | null; at: number }
export interface CartView { sessionId: string; villagerId: string; cart: Cart; totalPoints: number }

export interface StoreSessionEvents {
  state: [StateChange];
  cart: [CartView];
  receipt: [Receipt];
  announce: [Announcement];
  /** A shelf changed while nobody had a session (door forced, a late hand): reported, never charged. */
  unattended: [{ slot: string; deltaG: number; at: number }];
  fault: [{ where: 'persist' | 'settle' | 'open' | 'cancel'; message: string }];
}

export class StoreSessionEngine extends EventEmitter<StoreSessionEvents> implements Part {
  readonly name = 'session';
  readonly critical = true;
  private state: SessionState = { phase: 'idle' };
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private readonly queue: SessionEvent[] = [];
  private draining = false;
  private running = false;
  /** Set while waiting for stable shelves: only sweeps that began after this count. */
  private watchSince: number | null = null;
  /** Set while waiting, after a restart, for every scale to report once: sweeps that began after this count. */
  private scalesSince: number | null = null;
  private startedAt = 0;
  /**
   * Session writes the ledger refused (disk full, I/O error), retried every settle_retry_ms
   * until they land: the visit's row (`unsaved`) and a cancellation (`pendingCancel`). The
   * visit goes on in memory meanwhile — the person at the door comes first — but it must reach
   * the ledger, or what was taken is never charged and a restart finds nothing to resume.
   */
  private unsaved = false;
  private pendingCancel: { visit: Visit; reason: string } | null = null;
  private writeRetry: NodeJS.Timeout | null = null;
  private readonly timings: MachineTimings;

  private readonly onDoor = (d: LockEvents['door'][0]): void => {
    // The first reading after a start says how the door stands, not that it moved: only while
    // entering does "open" mean the villager went in (during the power cut). While shopping it
    // is the villager still holding the door they came in by, not an exit.
    if (d.initial && this.state.phase !== 'entering') return;
    // the last moment at which nobody of this visit can have touched a shelf
    if (d.state === 'open') this.settleBaseline();
    this.dispatch(d.state === 'open' ? { type: 'door_opened', at: d.at } : { type: 'door_closed', at: d.at });
  };
  private readonly onExitButton = (b: LockEvents['exit_button'][0]): void => {
    if (b.state === 'pressed' && !b.initial) this.dispatch({ type: 'exit_button', at: b.at });
  };
  private readonly onChange = (c: ScaleEvents['change'][0]): void => {
    if (this.state.phase === 'idle') {
      this.deps.logger.warn({ slot: c.slot, delta_g: c.delta_g }, 'shelf changed with nobody in the store / 无人时货架重量变化');
      this.safeEmit('unattended', { slot: c.slot, deltaG: c.delta_g, at: this.now() });
      return;
    }
    this.dispatch({ type: 'shelf_changed', at: this.now() });
  };
  private readonly onSweep = (s: ScaleEvents['sweep'][0]): void => {
    this.settleBaseline();
    const began = performance.now() - s.duration_ms;
    if (this.scalesSince !== null) {
      // a sweep that began after the start read every slot; health still 'unknown' means not yet
      if (began < this.scalesSince || this.deps.scales.status().some((x) => x.health === 'unknown')) return;
      this.scalesSince = null;
      this.dispatch({ type: 'scales_reported' });
      // this sweep's readings are from after the restart: they count for the stability wait too
      if (this.watchSince !== null) this.watchSince = began;
    }
    if (this.watchSince === null) return;
    if (began < this.watchSince) return;
    if (this.shelvesAtRest()) {
      this.watchSince = null;
      this.dispatch({ type: 'shelves_stable' });
    }
  };

  private decisions: DecisionSource | null = null;
  private readonly onDecision = (d: AdmissionDecision): void => this.onEntryDecision(d);

  constructor(private readonly deps: StoreSessionDeps) {
    super();
    const c = deps.config;
    this.timings = { enteringTimeoutMs: c.entering_timeout_ms, shoppingIdleTimeoutMs: c.shopping_idle_timeout_ms, stabilityWaitMs: c.stability_wait_ms, resumeScalesTimeoutMs: c.resume_scales_timeout_ms, settleRetryMs: c.settle_retry_ms };
  }

  private get db(): Db {
    return this.deps.db();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Listens to the drivers and resumes a session left open by a power cut or crash. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = performance.now();
    const { lock, scales } = this.deps;
    lock.on('door', this.onDoor);
    lock.on('exit_button', this.onExitButton);
    scales.on('change', this.onChange);
    scales.on('sweep', this.onSweep);
    this.decisions = this.deps.entry?.() ?? null;
    this.decisions?.on('decision', this.onDecision);
    const open = getOpenSession(this.db);
    if (open) {
      const visit = open.context as Visit;
      const phase = (open.state === 'idle' ? 'settling' : open.state) as VisitPhase;
      this.deps.logger.info({ sessionId: open.id, villagerId: open.villagerId, phase }, 'resuming an open session / 恢复未完成的购物');
      this.dispatch({ type: 'resume', phase, visit, now: this.now() });
    }
  }

  /** Stops listening; an open session stays open in the ledger and resumes at the next start. */
  stop(): void {
    this.running = false;
    const { lock, scales } = this.deps;
    lock.off('door', this.onDoor);
    lock.off('exit_button', this.onExitButton);
    scales.off('change', this.onChange);
    scales.off('sweep', this.onSweep);
    this.decisions?.off('decision', this.onDecision);
    this.decisions = null;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // what was not written is what a power cut loses: a visit resumes from its last saved
    // phase, an unsaved cancellation as an `entering` that times out again
    if (this.writeRetry) clearTimeout(this.writeRetry);
    this.writeRetry = null;
    this.unsaved = false;
    this.pendingCancel = null;
    this.queue.length = 0;
    this.watchSince = null;
    this.scalesSince = null;
  }

  get phase(): Phase {
    return this.state.phase;
  }

  get current(): Visit | null {
    return this.state.phase === 'idle' ? null : this.state.visit;
  }

  /**
   * The door policy's question (edge/entry's StoreOccupancy). The villager whose own visit is
   * still `entering` is not kept out by it: an elderly villager whose unlock ran out before
   * they pushed the door scans again and is let in on the same visit, not told to wait.
   */
  isStoreBusy(villagerId?: string): boolean {
    // before start (or after stop) the ledger may hold an open session not yet resumed
    if (!this.running) return true;
    if (villagerId !== undefined && this.state.phase === 'entering' && this.state.visit.villagerId === villagerId) return false;
    return isBusy(this.state);
  }

  /** The live cart of the session in the store (for the display and the admin page). */
  cart(): CartView | null {
    const v = this.current;
    if (!v) return null;
    const cart = computeCart(this.weighings(v, false), this.deps.config.weight, v.kind);
    return { sessionId: v.sessionId, villagerId: v.villagerId, cart, totalPoints: this.price(cart) };
  }

  /** Wire to EntryPipeline's `decision` event in the composition root. */
  onEntryDecision(d: AdmissionDecision): void {
    if (!this.running) return;
    const v = d.villagerId ? getVillager(this.db, d.villagerId) : undefined;
    if (d.decision === 'store_busy') {
      this.announce('store_busy', d.villagerId, busyText(v?.name ?? null));
      return;
    }
    if (d.decision === 'uncertain') {
      this.announce('uncertain', null, UNCERTAIN_TEXT);
      return;
    }
    if (d.decision === 'blocked' && v && v.debt > 0) {
      this.announce('debt', v.id, debtText(v.name, v.debt));
      return;
    }
    if (d.decision !== 'matched' || !d.unlocked || !v) return;
    if (this.state.phase === 'entering' && this.state.visit.villagerId === v.id) {
      this.deps.logger.info({ villagerId: v.id, sessionId: this.state.visit.sessionId }, 'let in again on the same visit / 同一次进店，再次开门');
      return;
    }
    if (this.state.phase !== 'idle') {
      // the policy asked isStoreBusy() before unlocking; getting here means two unlocks raced
      this.deps.logger.error({ villagerId: v.id, phase: this.state.phase }, 'unlocked while a session is active; the new villager joins as a companion');
      return;
    }
    const kind = v.isMaintainer ? 'restock' : 'shopping';
    const visit: Visit = {
      sessionId: (this.deps.newSessionId ?? randomUUID)(),
      villagerId: v.id,
      kind,
      enteredBy: d.by as EnteredBy,
      baseline: this.restingWeights(),
      openedAt: this.now(),
      doorOpenedAt: null,
      exitAt: null,
      exitBy: null,
      settleAttempts: 0,
      lastError: null,
    };
    this.dispatch({ type: 'admitted', visit });
    this.announce('welcome', v.id, welcomeText(v.name, kind));
    // the door may already stand open: the poll that saw it may have come before this decision
    if (this.deps.lock.doorState === 'open') {
      this.settleBaseline();
      this.dispatch({ type: 'door_opened', at: this.now() });
    }
  }

  // ---- the loop ----

  dispatch(e: SessionEvent): void {
    if (!this.running) return;
    this.queue.push(e);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.running && this.queue.length > 0) this.step(this.queue.shift() as SessionEvent);
    } finally {
      this.draining = false;
    }
  }

  private step(e: SessionEvent): void {
    const before = this.state;
    const { state, effects } = transition(before, e, this.timings);
    this.state = state;
    let announced = state.phase === before.phase;
    for (const effect of effects) {
      if (!this.running) return; // halted mid-step: the rest is what a power cut loses
      this.perform(effect, before);
      if (!announced && (effect.type === 'persist' || effect.type === 'open_session' || effect.type === 'cancel_session')) {
        announced = true;
        this.emitState();
      }
    }
    if (!announced && this.running) this.emitState();
  }

  private emitState(): void {
    const v = this.current;
    this.safeEmit('state', { phase: this.state.phase, sessionId: v?.sessionId ?? null, villagerId: v?.villagerId ?? null, at: this.now() });
  }

  private perform(effect: Effect, before: SessionState): void {
    switch (effect.type) {
      case 'open_session':
      case 'persist':
        this.unsaved = true;
        this.flushWrites(effect.type === 'open_session' ? 'open' : 'persist');
        return;
      case 'cancel_session': {
        const v = before.phase === 'idle' ? null : before.visit;
        if (v) {
          this.pendingCancel = { visit: v, reason: effect.reason };
          this.flushWrites('cancel');
        }
        return;
      }
      case 'start_timer': {
        this.clearTimer(effect.timer);
        this.timers.set(effect.timer, setTimeout(() => {
          this.timers.delete(effect.timer);
          this.dispatch(this.timerEvent(effect.timer));
        }, effect.ms));
        return;
      }
      case 'clear_timer':
        this.clearTimer(effect.timer);
        return;
      case 'watch_stability':
        this.watchSince = performance.now();
        return;
      case 'watch_scales':
        this.scalesSince = this.startedAt;
        return;
      case 'settle':
        this.watchSince = null;
        this.scalesSince = null;
        this.settle();
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

  private timerEvent(timer: TimerName): SessionEvent {
    switch (timer) {
      case 'entering':
        return { type: 'entering_timeout', shelvesTouched: this.shelvesTouched() };
      case 'idle':
        return { type: 'idle_timeout', at: this.now() };
      case 'stability':
        return { type: 'stability_timeout' };
      case 'scales':
        return { type: 'scales_timeout' };
      case 'retry':
        return { type: 'retry' };
    }
  }

  /**
   * Whether someone is inside although the door was not seen to open. A scale that cannot be
   * read says nothing about hands on the shelf: counting it would keep every walk-away
   * admission open (store busy) until the idle timeout whenever one scale is dead.
   */
  private shelvesTouched(): boolean {
    const cart = this.cart()?.cart;
    if (!cart) return false;
    return cart.lines.length > 0 || cart.review.some((r) => r.reason !== 'scale_unavailable');
  }

  private clearTimer(timer: TimerName): void {
    const t = this.timers.get(timer);
    if (t) clearTimeout(t);
    this.timers.delete(timer);
  }

  // ---- weights ----

  /**
   * The baseline: each slot's weight now if its scale reads and is at rest, else null.
   *
   * Not `last_stable_g`: while a slot moves the driver keeps the weight from before the
   * movement there, so a hand on the shelf at this moment (the last villager grabbing an item on
   * the way out, someone reaching in while the store was idle) would become this villager's
   * purchase. A slot without a baseline is a review line, never a charge, unless it comes to
   * rest before the door opens (settleBaseline): then nobody of this visit has touched it yet
   * and the weight it rests at is fairly "what was there", so the committee still gets paid
   * for what this villager takes from it. Once the door is open a late rest could include this
   * villager's own hand, so the slot stays a review line for the maintainer.
   */
  private restingWeights(): Record<string, number | null> {
    return Object.fromEntries(this.deps.scales.status().map((s) => [s.slot, s.health === 'ok' && s.stable_g !== null ? s.stable_g : null]));
  }

  /** While entering: slots that had no baseline at the door and are at rest now get one. */
  private settleBaseline(): void {
    if (this.state.phase !== 'entering') return;
    const missing = this.state.visit.baseline;
    const now = Object.entries(this.restingWeights()).filter((e): e is [string, number] => e[1] !== null && e[0] in missing && missing[e[0]] === null);
    if (now.length > 0) this.dispatch({ type: 'baseline_settled', baseline: Object.fromEntries(now) });
  }

  /** Every slot readable and at rest (a slot whose scale does not answer cannot be waited for). */
  private shelvesAtRest(): boolean {
    return this.deps.scales.status().every((s) => (s.health === 'ok' ? s.stable_g !== null : s.health !== 'unknown'));
  }

  private weighings(v: Visit, atExit: boolean): SlotWeighing[] {
    const products = new Map<string, Product | undefined>();
    const status = new Map(this.deps.scales.status().map((s) => [s.slot, s]));
    return listSlots(this.db).map((slot) => {
      const s = status.get(slot.slot);
      let p: Product | undefined;
      if (slot.sku !== null) {
        if (!products.has(slot.sku)) products.set(slot.sku, getProduct(this.db, slot.sku));
        p = products.get(slot.sku);
      }
      const readable = s !== undefined && s.health === 'ok';
      return {
        slot: slot.slot,
        sku: p?.sku ?? null,
        unitG: p?.unitG ?? null,
        toleranceG: p?.toleranceG ?? null,
        baselineG: v.baseline[slot.slot] ?? null,
        currentG: readable ? s.last_stable_g : null,
        stable: !atExit || !readable || s.stable_g !== null,
      };
    });
  }

  private price(cart: Cart): number {
    return cart.lines.reduce((sum, l) => sum + (getProduct(this.db, l.sku)?.price ?? 0) * l.count, 0);
  }

  // ---- settlement ----

  private settle(): void {
    const v = this.current as Visit;
    const db = this.db;
    let cart: Cart;
    let result: SettleResult;
    let extraReview = 0;
    const t0 = performance.now();
    try {
      // weighing reads the ledger (slots, products): a read that fails is a failed settlement
      // with its retry, not an exception that leaves the store in `settling` with no timer
      cart = computeCart(this.weighings(v, true), this.deps.config.weight, v.kind);
      const context = { ...v, stock: cart.stock };
      if (v.kind === 'restock') {
        const at = new Date(this.now()).toISOString();
        result = inTransaction(db, 'settling restock', () => {
          this.writePending(db, v);
          const clipped = stockClipReview(db, cart);
          extraReview = clipped.length;
          const r = settleSession(db, { sessionId: v.sessionId, lines: [], review: [...cart.review, ...clipped], state: 'settled', context }, this.deps.rules);
          // stock moves only when this call closed the session: a resumed restock is not counted twice
          if (r.status === 'settled') for (const m of cart.stock) adjustStock(db, m.slot, m.count, at);
          return r;
        });
      } else {
        result = inTransaction(db, 'settling session', () => {
          this.writePending(db, v);
          return settleSession(db, { sessionId: v.sessionId, lines: cart.lines, review: cart.review, state: 'settled', context }, this.deps.rules);
        });
      }
      this.writesLanded();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.logger.error({ err: message, sessionId: v.sessionId }, 'settlement failed; will retry / 结算失败，稍后重试');
      this.safeEmit('fault', { where: 'settle', message });
      this.announce('settle_delayed', v.villagerId, '结算暂时失败，系统会自动重试，您可以正常离开。');
      this.dispatch({ type: 'settle_failed', error: message });
      return;
    }
    this.lastSettle = { result, cart, extraReview, ms: performance.now() - t0 };
    this.dispatch({ type: 'settle_ok' });
  }

  /** extraReview: review lines found while settling (a restock taking stock below zero), beyond the cart's. */
  private lastSettle: { result: SettleResult; cart: Cart; extraReview: number; ms: number } | null = null;

  private issueReceipt(): void {
    const v = this.current as Visit;
    const done = this.lastSettle;
    this.lastSettle = null;
    if (done) {
      const villager = getVillager(this.db, v.villagerId);
      const name = (sku: string): string => getProduct(this.db, sku)?.name ?? sku;
      const r = done.result;
      const lines = r.status === 'settled' ? r.lines : sessionLines(this.db, v.sessionId);
      const base = {
        sessionId: v.sessionId,
        villagerId: v.villagerId,
        villagerName: villager?.name ?? v.villagerId,
        kind: v.kind,
        lines: lines.map((l) => ({ sku: l.sku, name: name(l.sku), count: l.count, points: l.points })),
        totalPoints: r.session.totalPoints ?? 0,
        chargedPoints: r.session.chargedPoints ?? 0,
        debtPoints: r.session.debtPoints ?? 0,
        balance: villager?.balance ?? 0,
        reviewCount: done.cart.review.length + done.extraReview,
        stock: done.cart.stock.map((s) => ({ sku: s.sku, name: name(s.sku), count: s.count })),
      };
      const receipt: Receipt = { ...base, text: receiptText(base), at: this.now(), settleMs: done.ms };
      this.deps.logger.info({ event: 'receipt', sessionId: v.sessionId, villagerId: v.villagerId, total: receipt.totalPoints, debt: receipt.debtPoints, review: receipt.reviewCount, settleMs: receipt.settleMs }, receipt.text);
      this.safeEmit('receipt', receipt);
    }
    this.dispatch({ type: 'receipt_issued' });
  }

  // ---- session writes ----

  /**
   * Writes what is pending — a cancellation, then the visit's row in its current phase — in
   * one transaction. On failure the person at the door still comes first: the failure is
   * reported, the visit goes on in memory and the write is retried until it lands.
   */
  private flushWrites(where: 'persist' | 'open' | 'cancel'): void {
    const db = this.db;
    const visit = this.current;
    try {
      inTransaction(db, 'saving session', () => this.writePending(db, this.unsaved ? visit : null));
      this.writesLanded();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.logger.error({ err: message, where }, 'session write failed; will retry / 购物记录写入失败，稍后重试');
      this.safeEmit('fault', { where, message });
      if (err instanceof EdgeError && err.code === ErrorCode.ALREADY_SETTLED) {
        // the row was closed by someone else (the admin page): retrying cannot change that;
        // a cancellation rolled back with it still needs its retry
        this.unsaved = false;
        if (!this.pendingCancel) return;
      }
      this.retryWrites();
    }
  }

  /**
   * Inside the caller's transaction: closes a cancellation still pending, then makes the
   * visit's row say what memory says — opening it if its first write never landed, so a
   * settlement or a later save never finds "unknown session".
   */
  private writePending(db: Db, v: Visit | null): void {
    const c = this.pendingCancel;
    if (c) {
      // recorded even if the row never got written: the admission happened, nothing was charged
      if (!getSession(db, c.visit.sessionId)) this.openRow(db, c.visit, 'entering');
      cancelSession(db, c.visit.sessionId, c.reason);
    }
    if (!v) return;
    if (!getSession(db, v.sessionId)) this.openRow(db, v, this.state.phase);
    else if (this.unsaved) saveSessionState(db, v.sessionId, this.state.phase, v);
  }

  private openRow(db: Db, v: Visit, state: string): void {
    openSession(db, { id: v.sessionId, kind: v.kind, villagerId: v.villagerId, enteredBy: v.enteredBy, state, context: v });
  }

  /** The transaction that ran writePending committed. */
  private writesLanded(): void {
    this.unsaved = false;
    this.pendingCancel = null;
    if (this.writeRetry) clearTimeout(this.writeRetry);
    this.writeRetry = null;
  }

  private retryWrites(): void {
    if (this.writeRetry || !this.running) return;
    this.writeRetry = setTimeout(() => {
      this.writeRetry = null;
      if (!this.running) return;
      if (this.pendingCancel) this.flushWrites('cancel');
      else if (this.unsaved && this.current) this.flushWrites('persist');
    }, this.deps.config.settle_retry_ms);
  }

  // ---- helpers ----

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

/**
 * A restock that takes away more than the ledger says a slot holds: the stock stops at zero
 * (adjustStock clips), and the difference — a miscount, an unrecorded sale, goods gone
 * missing — becomes a review line for the maintainer instead of vanishing silently.
 */
export function stockClipReview(db: Db, cart: Pick<Cart, 'stock'>): ReviewLine[] {
  const out: ReviewLine[] = [];
  for (const m of cart.stock) {
    const held = getSlot(db, m.slot)?.stock;
    if (held === undefined || held + m.count >= 0) continue;
    out.push({ slot: m.slot, reason: 'stock_clipped', deltaG: null, detail: `${-m.count} × ${m.sku} taken away but the ledger had ${held}; stock set to 0, please count the shelf` });
  }
  return out;
}
