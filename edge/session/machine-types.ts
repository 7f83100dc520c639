/**
 * The shapes of the store session's state machine (machine.ts): its phases, the visit as it is
 * persisted, the events it takes and the effects the runner (engine.ts) performs.
 */
import type { EnteredBy, SessionKind } from '../ledger/sessions.ts';

export type Phase = 'idle' | 'entering' | 'shopping' | 'restocking' | 'exiting' | 'settling' | 'settled' | 'fault';
export type VisitPhase = Exclude<Phase, 'idle'>;

/** A slot's product as the visit recorded it at admission. */
export interface VisitProduct { sku: string; price: number; unitG: number; toleranceG: number }

/** What is persisted with the session (store_sessions.state_json). */
export interface Visit {
  sessionId: string;
  villagerId: string;
  kind: SessionKind;
  enteredBy: EnteredBy;
  /**
   * Stable weight per slot when the villager was let in (null: the slot was not at rest or not
   * readable then; filled in if it comes to rest before the door opens, see `baseline_settled`).
   */
  baseline: Record<string, number | null>;
  /**
   * Each slot's product as it stood at admission (null: the slot had none). The visit is
   * counted and priced with these, whatever the village's catalogue says before it settles.
   * Absent from visits persisted before it was recorded: those use the catalogue as it stands.
   */
  products?: Record<string, VisitProduct | null>;
  openedAt: number;
  doorOpenedAt: number | null;
  /**
   * The last door or shelf activity of the visit inside (the idle timeout counts from it).
   * Persisted, so after a restart the time the daemon was down counts too; rewritten only once
   * it is `activeMarkMs` old (machine.ts), so the last activity is before it + that. Absent from visits
   * persisted before it was recorded: those wait the whole timeout again.
   */
  activeAt?: number;
  exitAt: number | null;
  exitBy: 'exit_button' | 'door' | 'idle_timeout' | null;
  settleAttempts: number;
  lastError: string | null;
  /** Set in `fault` when an effect failed before settlement: the phase a retry resumes. */
  faultIn?: InsidePhase;
  /**
   * The lock's unlock pulse is running (between the lock's `unlocked` and `relocked`): anyone
   * may push the door from outside, so an opening is not an exit. Never true after a resume
   * (a restarted lock driver knows of no pulse).
   */
  lockReleased?: boolean;
  /**
   * While entering, with the shelves untouched, someone inside pressed the exit button (it is
   * inside the store): they are leaving, and the door's next opening is theirs (`out` once it
   * came), not this visit's entry. Dropped on resume.
   */
  leaver?: { at: number; out: boolean };
}

/** The phases before settlement, which a failed effect resumes rather than settles. */
export type InsidePhase = 'entering' | 'shopping' | 'restocking' | 'exiting';

export type SessionState = { phase: 'idle' } | { phase: VisitPhase; visit: Visit };

export type TimerName = 'entering' | 'idle' | 'stability' | 'retry' | 'scales';

export type SessionEvent =
  /** `recorded`: the visit's row was written with the admission, before the unlock. */
  | { type: 'admitted'; visit: Visit; recorded?: boolean }
  /** The unlock after the admission failed: the runner cancels the row itself. */
  | { type: 'admission_withdrawn' }
  /** Slots without a baseline that came to rest while the door had not yet opened: their weight now. */
  | { type: 'baseline_settled'; baseline: Record<string, number> }
  | { type: 'door_opened'; at: number }
  /** The lock's unlock pulse began (`unlocked`) / the relay was confirmed off again (`relocked`). */
  | { type: 'lock_released' }
  | { type: 'lock_closed' }
  | { type: 'door_closed'; at: number }
  /** `shelvesTouched`: asked only while entering (someone of the visit is inside although the door was not seen to open). */
  | { type: 'exit_button'; at: number; shelvesTouched?: boolean }
  | { type: 'shelf_changed'; at: number }
  /** `doorOverridden`: the door sensor override holds, or held while this visit was open (door-override.ts `blindTo`), so its opening may not have been seen. */
  | { type: 'entering_timeout'; shelvesTouched: boolean; doorOverridden?: boolean }
  | { type: 'idle_timeout'; at: number }
  | { type: 'shelves_stable' }
  | { type: 'stability_timeout' }
  /** After a restart: every scale has reported once since (see `watch_scales`). */
  | { type: 'scales_reported' }
  | { type: 'scales_timeout' }
  | { type: 'settle_ok' }
  | { type: 'settle_failed'; error: string }
  /** The runner could not perform an effect of the last step (a ledger read, a driver call). */
  | { type: 'effect_failed'; error: string }
  | { type: 'retry'; now?: number }
  | { type: 'receipt_issued' }
  /** `doorOpen`: the door stood open at the restart (someone is at it). */
  | { type: 'resume'; phase: VisitPhase; visit: Visit; now: number; doorOpen?: boolean };

export type Effect =
  | { type: 'open_session' }
  | { type: 'persist' }
  | { type: 'cancel_session'; reason: string }
  | { type: 'start_timer'; timer: TimerName; ms: number }
  | { type: 'clear_timer'; timer: TimerName }
  | { type: 'watch_stability' }
  /** Report `scales_reported` once every scale has been read since the runner started. */
  | { type: 'watch_scales' }
  | { type: 'settle' }
  | { type: 'issue_receipt' }
  | { type: 'publish_cart' };

export interface MachineTimings {
  enteringTimeoutMs: number;
  shoppingIdleTimeoutMs: number;
  stabilityWaitMs: number;
  /** The longest exit wait for a slot still moving (the runner counts both in the scales' reading time). */
  exitSettleMaxMs: number;
  resumeScalesTimeoutMs: number;
  settleRetryMs: number;
  /** After the door first opened, a further opening within this time is still the entry. */
  doorSettleMs: number;
}

export interface Step { state: SessionState; effects: Effect[] }
