/**
 * The door's admission, shared by the face (pipeline.ts) and by cards and QR codes
 * (code-entry.ts): the door policy over the villager's standing, the visit written before the
 * unlock, the unlock, and every decision recorded as a row in entry_events and an event.
 */
import type { Logger } from 'pino';
import { isEdgeError } from '../errors.ts';
import type { Db } from '../ledger/db.ts';
import { doorStanding, insertEntryEvent } from '../ledger/entry-events.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { doorPolicy, type EntryMethod, type VillagerStanding } from './decision.ts';

/**
 * The lock as the door needs it (drivers/lock's LockDriver fits): resolves once the pulse is
 * sent, with `confirmed: false` when the board acknowledged it but the relay's readback was lost.
 */
export interface DoorLock { unlock(pulseMs: number): Promise<{ confirmed: boolean } | void> }
/** A single-use credential (a QR slip): used up with the admission, given back if the door stays shut. */
export interface SingleUse {
  /** Uses the slip up for the visit it lets in (none without a store session); TOKEN_INVALID if already used. */
  consume(sessionId?: string): void;
  /** Gives back what this scan used up; nothing if it used nothing up (a slip shown again for its own visit). */
  giveBack(): void;
  /** The visit this slip was already used up for, if any. */
  usedFor(): string | null;
}
/** The store session engine: "is someone shopping?" and the admission written before the unlock. */
export interface StoreOccupancy {
  /** With a villager: busy for that villager (their own visit still entering is not busy). */
  isStoreBusy(villagerId?: string): boolean;
  /**
   * Writes the visit (and uses up `credential`) in one transaction, right before the unlock;
   * the door opens only if this says ok. A store without it (tests, the entry benchmark) only
   * answers isStoreBusy, and the door uses up the credential itself.
   */
  admit?(villagerId: string, by: EntryMethod, credential?: SingleUse): { ok: true; sessionId: string } | { ok: false; reason: string; message: string };
  /** The unlock after `admit` failed: the visit is cancelled, the credential given back. */
  cancelAdmission?(sessionId: string, reason: string, credential?: SingleUse): void;
}

export type EntryDecisionKind = 'matched' | 'uncertain' | 'unknown' | 'low_quality' | 'spoof' | 'blocked' | 'offline_limit' | 'store_busy' | 'no_consent' | 'invalid_code';

export interface EntryDecision {
  at: number;
  by: EntryMethod;
  decision: EntryDecisionKind;
  villagerId: string | null;
  unlocked: boolean;
  detail: Record<string, unknown>;
  /** Frame arrival (or scan) → lock confirmed, ms; null when the door did not open. */
  latencyMs: number | null;
}

/** Where the door's decisions and faults go (the pipeline's events). `ledger`: the ledger could not be read or written for the admission. */
export interface DoorReports {
  decision(d: EntryDecision): void;
  fault(where: 'unlock' | 'record' | 'ledger', message: string): void;
}

export interface DoorAdmissionDeps {
  db: Db;
  lock: DoorLock;
  store: StoreOccupancy;
  unlockPulseMs: number;
  /** The store's ledger rules for the standing the door judges (see EntryPipelineDeps.rules). */
  rules?: LedgerRules | undefined;
  logger: Logger;
  now: () => number;
  reports: DoorReports;
}

export class DoorAdmission {
  /** An unlock in progress makes the store busy for everyone else, face or card. */
  private unlocking = false;

  constructor(private readonly deps: DoorAdmissionDeps) {}

  private standing(villagerId: string): VillagerStanding | undefined {
    return doorStanding(this.deps.db, villagerId, this.deps.rules, new Date(this.deps.now()));
  }

  /**
   * Once the policy admits: the admission (the visit, a slip used up) is written, then the
   * door unlocks. If the admission cannot be written the door stays shut; if the unlock fails
   * the admission is withdrawn and the slip given back.
   */
  async admit(by: EntryMethod, villagerId: string, detail: Record<string, unknown>, arrivedAt: number, slip?: SingleUse): Promise<EntryDecision> {
    let standing: VillagerStanding | undefined;
    let busy: boolean;
    try {
      standing = this.standing(villagerId);
      busy = this.deps.store.isStoreBusy(villagerId) || this.unlocking;
    } catch (err) {
      return this.ledgerFault({ at: this.deps.now(), by, villagerId, detail }, 'the villager\'s standing could not be read', err);
    }
    const verdict = doorPolicy(standing, by, busy);
    // while the ledger is out of reach the decision carries the day's cap, for the door to announce
    if (standing?.offlineAllowance !== undefined) detail = { ...detail, offlineAllowance: standing.offlineAllowance };
    if (standing && standing.debt > 0) detail = { ...detail, debt: standing.debt };
    const base = { at: this.deps.now(), by, villagerId, detail };
    switch (verdict) {
      case 'unknown': return this.record({ ...base, decision: 'unknown', unlocked: false, latencyMs: null });
      case 'blocked': return this.record({ ...base, decision: 'blocked', unlocked: false, latencyMs: null });
      case 'offline_limit': return this.record({ ...base, decision: 'offline_limit', unlocked: false, latencyMs: null });
      case 'no_consent': return this.record({ ...base, decision: 'no_consent', unlocked: false, latencyMs: null });
      case 'store_busy': return this.record({ ...base, decision: 'store_busy', unlocked: false, latencyMs: null });
      case 'admit': break;
    }
    const store = this.deps.store;
    let sessionId: string | null = null;
    try {
      if (store.admit) {
        const a = store.admit(villagerId, by, slip);
        if (!a.ok) return this.record({ ...base, decision: 'matched', unlocked: false, latencyMs: null, detail: { ...detail, refused: a.reason, why: a.message } });
        sessionId = a.sessionId;
      } else {
        slip?.consume();
      }
    } catch (err) {
      if (isEdgeError(err, 'TOKEN_INVALID')) return this.record({ ...base, decision: 'invalid_code', unlocked: false, latencyMs: null, detail: { ...detail, why: (err.details?.why as string | undefined) ?? err.message } });
      return this.ledgerFault(base, 'the admission could not be written', err);
    }
    this.unlocking = true;
    try {
      const result = await this.deps.lock.unlock(this.deps.unlockPulseMs);
      // the pulse was acknowledged, so the villager is let in; a lost readback is kept and reported
      if (result && !result.confirmed) {
        this.deps.logger.warn({ villagerId }, 'unlock not confirmed: the relay readback was lost / 门锁未回报已开');
        this.deps.reports.fault('unlock', 'the relay did not confirm the unlock (its readback was lost)');
      }
      const confirmed = result ? { confirmed: result.confirmed } : {};
      return this.record({ ...base, decision: 'matched', unlocked: true, latencyMs: performance.now() - arrivedAt, detail: { ...detail, ...confirmed } });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.logger.error({ err: message, villagerId }, 'unlock failed');
      this.deps.reports.fault('unlock', message);
      this.withdraw(sessionId, slip);
      return this.record({ ...base, decision: 'matched', unlocked: false, latencyMs: null, detail: { ...detail, unlockError: message } });
    } finally {
      this.unlocking = false;
    }
  }

  /**
   * The ledger failed the admission (a disk I/O error reading the villager's standing or writing
   * the visit, or looking a card up): the door stays shut, the fault is reported (the health board
   * raises it) and the decision recorded, `detail.refused: "ledger_error"`: a match not let in, or
   * (a card never looked up, so no one matched) `invalid_code`; the frame loop and the scanner go on.
   */
  ledgerFault(base: Pick<EntryDecision, 'at' | 'by' | 'villagerId' | 'detail'>, what: string, err: unknown, decision: 'matched' | 'invalid_code' = 'matched'): EntryDecision {
    const message = err instanceof Error ? err.message : String(err);
    this.deps.logger.error({ err: message, villagerId: base.villagerId, by: base.by }, `${what}; the door stays shut / 读写村民账户失败，门不开`);
    this.deps.reports.fault('ledger', message);
    return this.record({ ...base, decision, unlocked: false, latencyMs: null, detail: { ...base.detail, refused: 'ledger_error', why: `${what}: ${message}` } });
  }

  /** The door stayed shut: the admission is withdrawn and the slip given back. */
  private withdraw(sessionId: string | null, slip: SingleUse | undefined): void {
    try {
      if (sessionId !== null && this.deps.store.cancelAdmission) this.deps.store.cancelAdmission(sessionId, 'unlock failed / 开锁失败', slip);
      else slip?.giveBack();
    } catch (err) {
      this.deps.logger.error({ err }, 'admission could not be withdrawn / 无法撤回进店记录');
    }
  }

  /** A decision: a row in entry_events, a log line and the `decision` event; returned as given. */
  record(d: EntryDecision): EntryDecision {
    try {
      insertEntryEvent(this.deps.db, { at: new Date(d.at).toISOString(), decision: d.decision, by: d.by, villagerId: d.villagerId, detail: { ...d.detail, unlocked: d.unlocked } });
    } catch (err) {
      // the door decision stands even if the event row cannot be written (disk full)
      this.deps.reports.fault('record', (err as Error).message);
    }
    this.deps.logger.info({ event: 'entry_decision', decision: d.decision, by: d.by, villagerId: d.villagerId, unlocked: d.unlocked, ...(d.detail.challenge ? { challenge: d.detail.challenge } : {}) }, 'entry decision');
    try {
      this.deps.reports.decision(d);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'entry decision listener failed');
    }
    return d;
  }
}
