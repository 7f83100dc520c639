/**
 * What the session runner needs from the drivers and the door, as narrow interfaces: the lock
 * driver, the scale driver and the entry pipeline each fit one structurally.
 */
import type { Logger } from 'pino';
import type { LockEvents, ScaleEvents, SlotStatus } from '../../drivers/index.ts';
import type { Db } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import type { Clock } from '../ledger/time.ts';
import type { Cart } from './cart.ts';
import type { SessionConfig } from './config.ts';
import type { WriteWhere } from './journal.ts';
import type { Phase } from './machine.ts';
import type { Announcement, Receipt } from './receipt.ts';

/** The lock driver as the session needs it (drivers/lock's LockDriver fits). */
export interface DoorSignals {
  readonly doorState: 'open' | 'closed' | 'unknown';
  on<K extends keyof LockEvents>(event: K, listener: (...args: LockEvents[K]) => void): unknown;
  off<K extends keyof LockEvents>(event: K, listener: (...args: LockEvents[K]) => void): unknown;
}

/** The store's alarm board as the door sensor override needs it (door-override.ts; edge/ops/alarms.ts AlarmBoard fits). */
export interface OverrideAlarms {
  /** `strict`: a ledger refusal is thrown, not held in memory (the caller's transaction rolls back). */
  raise(kind: 'door_open', subject: string, detail: string, severity: 'critical', opts?: { strict?: boolean }): unknown;
  clear(kind: 'door_open', subject: string, by?: string, opts?: { strict?: boolean }): unknown;
  isActive(kind: 'door_open', subject: string): boolean;
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
  /** What the door knew; `offlineAllowance` (a number) while the village ledger is out of reach. */
  detail?: Record<string, unknown>;
}

/** The entry pipeline as the session needs it: its decisions (edge/entry's EntryPipeline fits). */
/** A request the door makes of the person at it (the liveness challenge: 请眨眼 / 请慢慢转头). */
export interface DoorPrompt { text: string; attempt: number }

export interface DecisionSource {
  on(event: 'decision', listener: (d: AdmissionDecision) => void): unknown;
  off(event: 'decision', listener: (d: AdmissionDecision) => void): unknown;
  on(event: 'prompt', listener: (p: DoorPrompt) => void): unknown;
  off(event: 'prompt', listener: (p: DoorPrompt) => void): unknown;
}

/** The session's own line on the daemon's health board (/healthz): a fault shows until it clears. */
export type SessionHealth = (health: 'ok' | 'degraded', detail?: string) => void;

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
  /** The session's line on the health board: faults and refused writes show until they clear. */
  health?: SessionHealth;
  /**
   * The daemon's clock (SimulationOptions.clock; absent: the system's): every time the session
   * records (its ledger rows, its saved visit, the times it tells observers) or compares with a
   * recorded one (a visit resumed after a restart). Its timers are real timers all the same.
   */
  clock?: Clock;
  /** The same clock in milliseconds (tests); `clock` is read when both are given. */
  now?: () => number;
  newSessionId?: () => string;
  /** The store's alarms (absent: alarms.enabled false): the door sensor override's stays while it holds. */
  alarms?: () => OverrideAlarms | undefined;
}

export interface StateChange { phase: Phase; sessionId: string | null; villagerId: string | null; at: number }
export interface CartView { sessionId: string; villagerId: string; cart: Cart; totalPoints: number }

export interface StoreSessionEvents {
  state: [StateChange];
  cart: [CartView];
  receipt: [Receipt];
  announce: [Announcement];
  /** The lock's unlock pulse began (`released`) or ended: while it runs a door opening is the entry. */
  lock: [{ released: boolean; at: number }];
  /** A shelf changed while nobody had a session (door forced, a late hand): reported (edge/ops/idle-shelf-watch.ts), never charged. */
  unattended: [{ slot: string; deltaG: number; fromG: number; toG: number; at: number }];
  /** `effect`: an effect or a listener of the runner failed (a ledger read, a driver call). */
  fault: [{ where: WriteWhere | 'settle' | 'effect'; message: string }];
}
