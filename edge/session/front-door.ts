/**
 * The session's side of the door: the door policy's "is the store busy?", the admission
 * written to the ledger before the unlock pulse, its withdrawal when the unlock fails, and
 * the entry decisions turned into announcements for the door display and speaker.
 *
 * The admission (the visit's row with its baseline, a QR slip used up) is one transaction
 * that lands before the door opens: a visit the ledger never saw is a visit a power cut
 * loses, so when it cannot be written the door stays shut and says so.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isEdgeError } from '../errors.ts';
import { inTransaction, type Db } from '../ledger/db.ts';
import type { EnteredBy } from '../ledger/sessions.ts';
import { getVillager } from '../ledger/villagers.ts';
import { openRow, type SessionJournal } from './journal.ts';
import { isBusy, type SessionEvent, type SessionState, type Visit } from './machine.ts';
import type { AdmissionDecision, DoorSignals, Shelves } from './ports.ts';
import { busyText, debtText, LEDGER_FAULT_TEXT, NO_CONSENT_TEXT, notRecordedText, offlineLimitText, SPOOF_TEXT, UNCERTAIN_TEXT, welcomeText, type AnnouncementReason } from './receipt.ts';
import { restingWeights, slotProducts } from './weighing.ts';

/** A single-use credential (a QR slip): used up inside the admission for its visit, given back if the door stays shut (admission.ts SingleUse). */
export interface Credential { consume(sessionId?: string): void; giveBack(): void; usedFor(): string | null }

export type Admission = { ok: true; sessionId: string } | { ok: false; reason: 'not_running' | 'store_busy' | 'not_recorded'; message: string };

/** What the door needs of the runner. */
export interface DoorHost {
  running(): boolean;
  /** The visit left open before the start is not read yet (resume.ts): the store is busy. */
  resuming(): boolean;
  state(): SessionState;
  db(): Db;
  scales: Shelves;
  lock: DoorSignals;
  logger: Logger;
  journal: SessionJournal;
  now(): number;
  /** session.leave_hold_ms: the longest hold for a villager walking out after the exit button. */
  leaveHoldMs: number;
  /** Whether the visit's shelves changed (a cart line or a review line other than a dead scale). */
  shelvesTouched(): boolean;
  newSessionId?: () => string;
  dispatch(e: SessionEvent): void;
  announce(reason: AnnouncementReason, villagerId: string | null, text: string): void;
  settleBaseline(): void;
  /** Tells observers the phase (the visit admitted before the unlock, once the door unlocked). */
  emitState(): void;
}

export class FrontDoor {
  /** The visit admitted for an unlock still under way (withdrawn if that unlock fails). */
  private fresh: string | null = null;
  /**
   * The villager who pressed exit is settled but still walking out: until they have opened and
   * closed the door (or leaveHoldMs), nobody new is admitted, so their door opening is never
   * taken for the next villager walking in. A real timer ends it (`leaveHoldMs`), never the
   * daemon's clock, which may be simulated and jump.
   */
  private leaver: { opened: boolean } | null = null;
  private leaverTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: DoorHost) {}

  /** Whether the door opened since the exit button was last pressed. */
  private openedSinceExit = false;

  /** The exit button was pressed: whoever pressed it has not gone through the door yet. */
  exitPressed(): void {
    this.openedSinceExit = false;
  }

  /** A visit ended by the exit button was settled: hold the door unless they went out since. */
  holdForLeaver(): void {
    const opened = this.openedSinceExit;
    const gone = opened && this.host.lock.doorState === 'closed';
    this.holdLeaver(gone || this.host.leaveHoldMs === 0 ? null : { opened }, this.host.leaveHoldMs);
  }

  /** Holds the door for `leaver` (null: nobody), until the door moves or `ms` have passed (undefined: no limit). */
  private holdLeaver(leaver: { opened: boolean } | null, ms?: number): void {
    clearTimeout(this.leaverTimer);
    this.leaverTimer = undefined;
    this.leaver = leaver;
    if (!leaver || ms === undefined) return;
    this.leaverTimer = setTimeout(() => {
      this.leaverTimer = undefined;
      if (this.leaver === leaver) this.leaver = null;
    }, ms);
    this.leaverTimer.unref?.();
  }

  /**
   * The door stood open at start with no visit open (lock-watch.ts): held until it closes, with
   * no time limit (not session.leave_hold_ms, which bounds the wait for a settled villager to
   * reach the door). While it stands open people may still be passing; a villager let in now
   * would have their passing counted as her entry and exit, and what they take as her cart.
   */
  openAtStart(): void {
    this.holdLeaver({ opened: true });
  }

  /** A maintainer says the door is closed, its sensor faulty (door-override.ts): nobody is held for it. */
  declaredClosed(): void {
    this.holdLeaver(null);
  }

  /** Every door movement: the leaver's opening and closing ends the hold. */
  doorMoved(state: 'open' | 'closed'): void {
    if (state === 'open') this.openedSinceExit = true;
    if (!this.leaver) return;
    if (state === 'open') this.leaver.opened = true;
    else if (this.leaver.opened) this.holdLeaver(null);
  }

  private leaving(): boolean {
    return this.leaver !== null;
  }

  /**
   * The villager's own visit, which they may be let in on again: still `entering` (their unlock
   * ran out before they pushed the door), or `shopping` with the shelves untouched (a door
   * opening that was not theirs took the visit inside while they stood outside).
   */
  private ownVisit(s: SessionState, villagerId: string): boolean {
    if (s.phase === 'idle' || s.visit.villagerId !== villagerId) return false;
    return s.phase === 'entering' || (s.phase === 'shopping' && !this.host.shelvesTouched());
  }

  /**
   * The door policy's question. The villager whose own visit is still `entering` is not kept
   * out by it: an elderly villager whose unlock ran out before they pushed the door scans
   * again and is let in on the same visit, not told to wait.
   */
  isStoreBusy(villagerId?: string): boolean {
    // before start (or after stop) the ledger may hold an open session not yet resumed
    if (!this.host.running() || this.host.resuming()) return true;
    const s = this.host.state();
    if (villagerId !== undefined && this.ownVisit(s, villagerId)) return false;
    return isBusy(s) || this.leaving();
  }

  /** Writes the admission before the unlock; the door opens only if this says ok. */
  admit(villagerId: string, by: EnteredBy, credential?: Credential): Admission {
    const h = this.host;
    if (!h.running()) return { ok: false, reason: 'not_running', message: 'the store session is not running' };
    if (h.resuming()) return { ok: false, reason: 'store_busy', message: 'the visit left open before the restart is not read yet' };
    const s = h.state();
    const db = h.db();
    if (s.phase !== 'idle' && this.ownVisit(s, villagerId)) {
      // The slip that let this visit in, shown again while nobody has gone through the door yet
      // (the unlock ran out): the same admission, the slip stays used up for it. Once the door
      // opened, no slip opens it again: any other scan of a slip uses it up (or is a replay).
      const again = s.phase === 'entering' && credential?.usedFor() === s.visit.sessionId;
      if (credential && !again) inTransaction(db, 'using a QR slip', () => credential.consume(s.visit.sessionId));
      return { ok: true, sessionId: s.visit.sessionId };
    }
    if (s.phase !== 'idle') return { ok: false, reason: 'store_busy', message: `a ${s.phase} session is open` };
    if (this.leaving()) return { ok: false, reason: 'store_busy', message: 'the last villager is still leaving' };
    let visit: ReturnType<FrontDoor['newVisit']> | undefined;
    try {
      const v = this.newVisit(villagerId, by);
      visit = v;
      inTransaction(db, 'admitting a villager', () => {
        h.journal.writePending(db);
        openRow(db, v.visit, 'entering', () => new Date(h.now()));
        credential?.consume(v.sessionId);
      });
      h.journal.writesLanded();
    } catch (err) {
      // a slip already used is the caller's refusal to word, not a ledger failure
      if (isEdgeError(err, 'TOKEN_INVALID')) throw err;
      const message = err instanceof Error ? err.message : String(err);
      h.logger.error({ err, villagerId }, 'admission not written; the door stays shut / 无法记录进店，门不开');
      h.announce('not_recorded', villagerId, notRecordedText(visit?.villagerName ?? villagerId));
      return { ok: false, reason: 'not_recorded', message };
    }
    this.fresh = visit.sessionId;
    h.dispatch({ type: 'admitted', visit: visit.visit, recorded: true });
    return { ok: true, sessionId: visit.sessionId };
  }

  private newVisit(villagerId: string, by: EnteredBy): { visit: Visit; sessionId: string; villagerName: string } {
    const h = this.host;
    const v = getVillager(h.db(), villagerId);
    const visit: Visit = {
      sessionId: (h.newSessionId ?? randomUUID)(),
      villagerId,
      kind: v?.isMaintainer ? 'restock' : 'shopping',
      enteredBy: by,
      baseline: restingWeights(h.scales),
      products: slotProducts(h.db()),
      openedAt: h.now(),
      doorOpenedAt: null,
      exitAt: null,
      exitBy: null,
      settleAttempts: 0,
      lastError: null,
    };
    return { visit, sessionId: visit.sessionId, villagerName: v?.name ?? villagerId };
  }

  /**
   * The unlock after `admit` failed: the visit it opened is cancelled and the slip given back,
   * in one transaction (retried by the journal if the ledger refuses). A visit that was already
   * entering before (a second scan) stays; only the slip is given back.
   */
  cancelAdmission(sessionId: string, reason: string, credential?: Credential): void {
    const h = this.host;
    const s = h.state();
    const mine = this.fresh === sessionId && s.phase === 'entering' && s.visit.sessionId === sessionId && s.visit.doorOpenedAt === null;
    if (this.fresh === sessionId) this.fresh = null;
    if (mine) {
      h.dispatch({ type: 'admission_withdrawn' });
      h.journal.cancel(s.visit, reason, credential ? () => credential.giveBack() : undefined);
    } else if (credential) {
      inTransaction(h.db(), 'giving back a QR slip', () => credential.giveBack());
    }
  }

  /** An entry decision (EntryPipeline's `decision` event). */
  decided(d: AdmissionDecision): void {
    const h = this.host;
    if (!h.running()) return;
    // the ledger failed the admission or the card's look-up (admission.ts): the villager's row is likely unreadable too
    if (!d.unlocked && d.detail?.refused === 'ledger_error') return h.announce('not_recorded', null, LEDGER_FAULT_TEXT);
    const v = d.villagerId ? getVillager(h.db(), d.villagerId) : undefined;
    if (d.decision === 'store_busy') return h.announce('store_busy', d.villagerId, busyText(v?.name ?? null));
    if (d.decision === 'uncertain') return h.announce('uncertain', null, UNCERTAIN_TEXT);
    if (d.decision === 'no_consent') return h.announce('no_consent', null, NO_CONSENT_TEXT);
    // once per spoof hold (entry/pipeline.ts), not at each repeat while the same face stays in view
    if (d.decision === 'spoof') return d.detail?.spoofHold === 'started' ? h.announce('spoof', null, SPOOF_TEXT) : undefined;
    // the door's figure also counts a balance below the floor; the villager's own row only the shortfall
    const owed = typeof d.detail?.debt === 'number' ? d.detail.debt : (v?.debt ?? 0);
    if (d.decision === 'blocked' && v && owed > 0) return h.announce('debt', v.id, debtText(v.name, owed));
    if (d.decision === 'offline_limit') return h.announce('offline_limit', d.villagerId, offlineLimitText(v?.name ?? null));
    if (d.decision !== 'matched' || !d.unlocked || !v) return;
    const s = h.state();
    const fresh = this.fresh;
    this.fresh = null;
    if (s.phase !== 'idle' && s.visit.villagerId === v.id && fresh !== s.visit.sessionId && this.ownVisit(s, v.id)) {
      h.logger.info({ villagerId: v.id, sessionId: s.visit.sessionId }, 'let in again on the same visit / 同一次进店，再次开门');
      return;
    }
    // A door that unlocked without an admission first (a caller without `admit`): the person
    // is already at the door, so the visit goes on in memory and the journal writes its row,
    // retrying if the ledger refuses.
    if (s.phase === 'idle') h.dispatch({ type: 'admitted', visit: this.newVisit(v.id, d.by).visit });
    const now = h.state();
    if (now.phase !== 'entering' || now.visit.villagerId !== v.id) {
      // the policy asked isStoreBusy() before unlocking; getting here means two unlocks raced
      h.logger.error({ villagerId: v.id, phase: now.phase }, 'unlocked while a session is active; the new villager joins as a companion');
      return;
    }
    if (fresh === now.visit.sessionId) h.emitState();
    const cap = d.detail?.offlineAllowance;
    h.announce('welcome', v.id, welcomeText(v.name, now.visit.kind, typeof cap === 'number' ? cap : undefined));
    // the door may already stand open: the poll that saw it may have come before this decision
    if (h.lock.doorState === 'open') {
      h.settleBaseline();
      h.dispatch({ type: 'door_opened', at: h.now() });
    }
  }
}
