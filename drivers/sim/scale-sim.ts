/**
 * A load-cell module as a Modbus slave, with enough physics to test stable-weight detection:
 * items of a unit weight, uniform noise, a settle time after each change (during which the
 * module's unstable bit is set and the reading moves), and slow creep.
 *
 * Physics is evaluated lazily from the clock at each read, so there are no timers, time can
 * be faked, and the state is a small JSON object that survives a daemon restart.
 */
import type { ScaleRegisterMap } from '../config.ts';
import { EXCEPTION, echoReply, registersReply, type ModbusSlave, type RtuRequest, type SlaveAnswer } from './rtu.ts';

export interface ScalePhysics {
  /** Peak of the uniform reading noise (± grams). */
  noiseG: number;
  /** Time a reading takes to settle after the load changes. */
  settleMs: number;
  /** Slow drift of the reading, grams per minute, while nothing changes; bounded by creepMaxG. */
  creepGPerMin: number;
  creepMaxG: number;
  /** Decimals the module reports (weight register = grams * 10^decimals / weight_unit_g). */
  decimals: number;
}

export const DEFAULT_SCALE_PHYSICS: ScalePhysics = { noiseG: 2, settleMs: 300, creepGPerMin: 0.5, creepMaxG: 8, decimals: 0 };

export interface ScaleSimState {
  kind: 'scale';
  unit_id: number;
  /** Load on the platform, grams, excluding what zero/tare removed. */
  load_g: number;
  /** Items by unit weight (grams, as a string key) → count, for the scenario runner. */
  items: Record<string, number>;
  /** Displayed weight at the start of the current change, and when it started. */
  from_g: number;
  changed_at: number;
  /** Reading offset set by zero/tare. */
  offset_g: number;
  /** Creep is counted from here. */
  creep_since: number;
  seed: number;
}

/** Small deterministic PRNG (mulberry32), so a seeded simulation repeats. */
function nextRandom(seed: number): [number, number] {
  let t = (seed + 0x6d2b79f5) | 0;
  const s = t;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
}

export class ScaleSim implements ModbusSlave {
  readonly unitId: number;
  private s: ScaleSimState;
  private configUnlocked = false;

  constructor(
    opts: { unitId: number; capacityG: number; seed?: number },
    private readonly map: ScaleRegisterMap,
    private readonly physics: ScalePhysics = DEFAULT_SCALE_PHYSICS,
    private readonly now: () => number = Date.now,
  ) {
    this.unitId = opts.unitId;
    this.capacityG = opts.capacityG;
    const t = now();
    this.s = { kind: 'scale', unit_id: opts.unitId, load_g: 0, items: {}, from_g: 0, changed_at: t - physics.settleMs, offset_g: 0, creep_since: t, seed: opts.seed ?? opts.unitId * 7919 };
  }

  private readonly capacityG: number;

  // ---- what the scenario runner and tests do ----

  /** Puts `count` items of `unitWeightG` on the scale (negative count takes them off). */
  place(count: number, unitWeightG: number): void {
    const key = String(unitWeightG);
    const have = this.s.items[key] ?? 0;
    if (have + count < 0) throw new Error(`cannot take ${-count} items of ${unitWeightG} g; ${have} on the scale`);
    this.s.items[key] = have + count;
    if (this.s.items[key] === 0) delete this.s.items[key];
    this.setLoad(this.s.load_g + count * unitWeightG);
  }

  take(count: number, unitWeightG: number): void {
    this.place(-count, unitWeightG);
  }

  /** Sets the load directly (a hand leaning on the shelf, a foreign object). */
  setLoad(grams: number): void {
    this.s.from_g = this.trueDisplayed();
    this.s.changed_at = this.now();
    this.s.load_g = grams;
    this.s.creep_since = this.now();
  }

  itemCount(unitWeightG: number): number {
    return this.s.items[String(unitWeightG)] ?? 0;
  }

  get loadG(): number {
    return this.s.load_g;
  }

  settled(): boolean {
    return this.now() - this.s.changed_at >= this.physics.settleMs;
  }

  snapshot(): ScaleSimState {
    return structuredClone(this.s);
  }

  restore(state: ScaleSimState): void {
    if (state.kind !== 'scale' || state.unit_id !== this.unitId) throw new Error('snapshot is not of this scale');
    this.s = structuredClone(state);
  }

  // ---- physics ----

  private creep(): number {
    const minutes = (this.now() - this.s.creep_since) / 60_000;
    const c = this.physics.creepGPerMin * minutes;
    return Math.sign(c) * Math.min(Math.abs(c), this.physics.creepMaxG);
  }

  /** Noise-free displayed weight now. */
  private trueDisplayed(): number {
    const target = this.s.load_g + this.creep() - this.s.offset_g;
    const elapsed = this.now() - this.s.changed_at;
    if (elapsed >= this.physics.settleMs) return target;
    // Damped approach with a little overshoot, like a platform that was just loaded.
    const x = elapsed / this.physics.settleMs;
    const approach = 1 - (1 - x) * (1 - x) * Math.cos(x * Math.PI * 1.5);
    return this.s.from_g + (target - this.s.from_g) * approach;
  }

  private noise(): number {
    const [r, seed] = nextRandom(this.s.seed);
    this.s.seed = seed + 1;
    return (r * 2 - 1) * this.physics.noiseG;
  }

  private registers(): { status: number; weight: [number, number] } {
    const settling = !this.settled();
    const grams = this.trueDisplayed() + this.noise() * (settling ? 3 : 1);
    const counts = Math.round((grams / this.map.weight_unit_g) * 10 ** this.physics.decimals);
    const m = this.map;
    let status = (this.physics.decimals << trailingZeros(m.decimals_mask)) & m.decimals_mask;
    if (counts < 0) status |= 1 << m.sign_bit;
    if (settling) status |= 1 << m.unstable_bit;
    if (counts === 0) status |= 1 << m.zero_bit;
    if (this.s.load_g > this.capacityG * 1.2) status |= 1 << m.overload_bit;
    const u32 = counts >>> 0;
    const hi = u32 >>> 16;
    const lo = u32 & 0xffff;
    return { status, weight: m.weight_high_word_first ? [hi, lo] : [lo, hi] };
  }

  // ---- the bytes ----

  handle(req: RtuRequest): SlaveAnswer {
    const m = this.map;
    switch (req.fn) {
      case 3:
      case 4: {
        if (req.count < 1 || req.count > 125) return { exception: EXCEPTION.ILLEGAL_VALUE };
        const { status, weight } = this.registers();
        const regs: number[] = [];
        for (let a = req.address; a < req.address + req.count; a++) {
          if (a === m.status_register) regs.push(status);
          else if (a === m.weight_register) regs.push(weight[0]);
          else if (a === m.weight_register + 1) regs.push(weight[1]);
          else regs.push(0);
        }
        return registersReply(req.unit, req.fn, regs);
      }
      case 6: {
        if (req.address === m.config_unlock_register) {
          this.configUnlocked = req.value === m.config_unlock_value;
          return echoReply(req.unit, 6, req.address, req.value);
        }
        if (req.address === m.zero_register) {
          if (!this.configUnlocked) return { exception: EXCEPTION.ILLEGAL_VALUE };
          this.configUnlocked = false;
          this.zeroNow();
          return echoReply(req.unit, 6, req.address, req.value);
        }
        return { exception: EXCEPTION.ILLEGAL_ADDRESS };
      }
      case 16: {
        if (req.address === m.tare_register && req.count === 2 && req.data.readUInt32BE(0) === 0x7fffffff) {
          if (!this.configUnlocked) return { exception: EXCEPTION.ILLEGAL_VALUE };
          this.configUnlocked = false;
          this.zeroNow();
          return echoReply(req.unit, 16, req.address, req.count);
        }
        return { exception: EXCEPTION.ILLEGAL_ADDRESS };
      }
      case 1:
      case 2:
      case 5:
      case 15:
        return { exception: EXCEPTION.ILLEGAL_FUNCTION };
    }
  }

  /** Zero and tare both make the present load read 0 (tare keeps it in memory on a real module). */
  private zeroNow(): void {
    this.s.offset_g = this.s.load_g;
    this.s.creep_since = this.now();
    this.s.from_g = 0;
    this.s.changed_at = this.now() - this.physics.settleMs;
  }
}

function trailingZeros(n: number): number {
  let c = 0;
  while (n !== 0 && (n & 1) === 0) {
    n >>= 1;
    c += 1;
  }
  return c;
}
