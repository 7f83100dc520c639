/**
 * What the session runner needs from the drivers and the door, as narrow interfaces: the lock
 * driver, the scale driver and the entry pipeline each fit one structurally.
 */
import type { LockEvents, ScaleEvents, SlotStatus } from '../../drivers/index.ts';

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

/** The session's own line on the daemon's health board (/healthz): a fault shows until it clears. */
export type SessionHealth = (health: 'ok' | 'degraded', detail?: string) => void;
