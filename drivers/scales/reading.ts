/**
 * Turning a load-cell module's registers into grams, and deciding when a weight is stable.
 * Pure functions and a small state machine, so the rules are tested as tables.
 */
import type { ScaleRegisterMap, ScalesConfig } from '../config.ts';

export interface Reading {
  grams: number;
  /** The module's own motion flag. */
  unstable: boolean;
  overflow: boolean;
  overload: boolean;
  zero: boolean;
}

const bit = (word: number, n: number): boolean => ((word >> n) & 1) === 1;

/** `weightRegs` are the two registers at weight_register, in the order read. */
export function decodeReading(status: number, weightRegs: readonly [number, number], map: ScaleRegisterMap): Reading {
  const [a, b] = weightRegs;
  const hi = map.weight_high_word_first ? a : b;
  const lo = map.weight_high_word_first ? b : a;
  let raw = ((hi << 16) | lo) | 0; // int32, two's complement
  // Some modules send a magnitude and put the sign in the status word.
  if (bit(status, map.sign_bit) && raw > 0) raw = -raw;
  const decimals = status & map.decimals_mask;
  const shift = map.decimals_mask === 0 ? 0 : countTrailingZeros(map.decimals_mask);
  const grams = (raw / 10 ** (decimals >> shift)) * map.weight_unit_g;
  return {
    grams,
    unstable: bit(status, map.unstable_bit),
    overflow: bit(status, map.overflow_bit),
    overload: bit(status, map.overload_bit),
    zero: bit(status, map.zero_bit),
  };
}

function countTrailingZeros(n: number): number {
  let c = 0;
  while (n !== 0 && (n & 1) === 0) {
    n >>= 1;
    c += 1;
  }
  return c;
}

export type ImplausibleReason = 'overload' | 'overflow' | 'beyond_capacity' | 'negative';

export function implausible(r: Reading, capacityG: number, cfg: Pick<ScalesConfig, 'overshoot_g' | 'negative_tolerance_g'>): ImplausibleReason | null {
  if (r.overload) return 'overload';
  if (r.overflow) return 'overflow';
  if (r.grams > capacityG + cfg.overshoot_g) return 'beyond_capacity';
  if (r.grams < -cfg.negative_tolerance_g) return 'negative';
  return null;
}

export interface WeightChange {
  slot: string;
  from_g: number;
  to_g: number;
  delta_g: number;
  stable: boolean;
}

export type TrackerOutput =
  | { kind: 'ready'; weight_g: number }
  | { kind: 'change'; change: WeightChange }
  | { kind: 'motion'; change: WeightChange }
  | { kind: 'drift'; step_g: number; drift_g: number };

type TrackerConfig = Pick<ScalesConfig, 'stable_window' | 'stable_band_g' | 'change_threshold_g'>;

/**
 * Stable-weight detection for one slot: a weight is stable when the module says so and the
 * last `stable_window` readings lie within `stable_band_g`. Changes are reported only
 * between stable weights; differences under the threshold are drift (creep, temperature),
 * absorbed into the baseline and summed so auto-zero can be offered.
 */
export class StableWeightTracker {
  private window: number[] = [];
  private baseline: number | null = null;
  private stable = false;
  private drift = 0;

  constructor(
    readonly slot: string,
    private readonly cfg: TrackerConfig,
  ) {}

  get stableWeight(): number | null {
    return this.stable ? this.baseline : null;
  }

  /** Last stable weight, even while the scale is in motion. */
  get lastStableWeight(): number | null {
    return this.baseline;
  }

  get driftG(): number {
    return this.drift;
  }

  /** After the module was zeroed or tared: what is on it now is the new reference. */
  rezero(): void {
    this.window = [];
    this.baseline = null;
    this.stable = false;
    this.drift = 0;
  }

  /**
   * A reading could not be had or trusted: forget the window and treat the weight as stale
   * (no stable weight) until a fresh window settles. The baseline stays, so what changed
   * meanwhile (items taken while the scale was silent) shows as one change then.
   */
  interrupt(): void {
    this.window = [];
    this.stable = false;
  }

  push(grams: number, moduleUnstable: boolean): TrackerOutput[] {
    const out: TrackerOutput[] = [];
    if (moduleUnstable) {
      this.window = [];
      this.enterMotion(grams, out);
      return out;
    }
    this.window.push(grams);
    if (this.window.length > this.cfg.stable_window) this.window.shift();
    if (this.window.length < this.cfg.stable_window) return out;
    const min = Math.min(...this.window);
    const max = Math.max(...this.window);
    if (max - min > this.cfg.stable_band_g) {
      this.enterMotion(grams, out);
      return out;
    }
    const value = Math.round(this.window.reduce((s, g) => s + g, 0) / this.window.length);
    this.stable = true;
    if (this.baseline === null) {
      this.baseline = value;
      out.push({ kind: 'ready', weight_g: value });
      return out;
    }
    const diff = value - this.baseline;
    if (Math.abs(diff) >= this.cfg.change_threshold_g) {
      out.push({ kind: 'change', change: { slot: this.slot, from_g: this.baseline, to_g: value, delta_g: diff, stable: true } });
      this.baseline = value;
    } else if (Math.abs(diff) >= Math.max(1, this.cfg.change_threshold_g / 3)) {
      // Small, settled differences are drift; follow them so they never add up to a false item.
      this.drift += diff;
      this.baseline = value;
      out.push({ kind: 'drift', step_g: diff, drift_g: this.drift });
    }
    return out;
  }

  private enterMotion(grams: number, out: TrackerOutput[]): void {
    if (!this.stable) return;
    this.stable = false;
    if (this.baseline === null) return;
    const g = Math.round(grams);
    out.push({ kind: 'motion', change: { slot: this.slot, from_g: this.baseline, to_g: g, delta_g: g - this.baseline, stable: false } });
  }
}
