/**
 * What a scenario run reports (the same from both runners), their options and the fast but
 * physical timings they run the drivers with. Apart from the runners so that the seeding
 * and result code imports no runner.
 */
import type { Logger } from 'pino';

export interface SimulateOptions {
  /** Keep the ledger here (default: a temp folder removed afterwards). */
  dataDir?: string;
  logger?: Logger;
  /** Overrides of the daemon config (the benchmark's driver timings). */
  config?: Record<string, unknown>;
  seed?: number;
  /** Awaited after the store has booted and before the first step (a test starting its load, say). */
  beforeSteps?: () => Promise<void>;
}

export interface SimulationResult {
  scenario: string;
  balances: Record<string, number>;
  debts: Record<string, number>;
  sessions: Array<{ id: string; villager: string; kind: string; status: string; state: string; total_points: number; charged_points: number; debt_points: number; lines: Array<{ sku: string; slot: string; count: number; points: number }>; review: Array<{ slot: string; reason: string; detail: string | null }> }>;
  refused: Array<{ villager: string; reason: string; step: number; challenge?: Record<string, unknown> }>;
  /** Face decisions at `enter` steps, with the liveness challenge's outcome (kind, result, attempts, ms, why) or null. */
  face_decisions: Array<{ step: number; villager: string; decision: string; unlocked: boolean; challenge: Record<string, unknown> | null }>;
  inventory: Record<string, number>;
  entries: Array<{ id: string; villager: string; kind: string; points: number }>;
  receipts: Array<{ session: string; villager: string; text: string; exit_to_receipt_ms: number | null; settle_ms: number }>;
  announcements: Array<{ reason: string; villager: string | null; text: string }>;
  power_cuts: Array<{ step: number; phase: string }>;
  invariants: { balance_mismatches: number; open_sessions: number };
}

/** Fast but physical timings: short settle times and polls, same code paths. */
export const SIM_TIMINGS = {
  physics: { settleMs: 60, noiseG: 1, creepGPerMin: 0 },
  drivers: { scales: { poll_interval_ms: 15, stable_window: 3, stable_band_g: 4 }, lock: { input_poll_ms: 15, release_check_ms: 50 }, modbus: { response_timeout_ms: 100 } },
};
