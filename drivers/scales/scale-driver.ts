/**
 * The shelf scales: one sweep reads every load-cell module on the bus in turn (at 'poll'
 * priority, so an unlock waits for at most one scale read), then pauses for the poll
 * interval. Each slot has a StableWeightTracker; only changes between stable weights become
 * `change` events.
 */
import type { Logger } from 'pino';
import { GuardedEmitter } from '../guarded-emitter.ts';
import type { ScaleConfig, ScalesConfig } from '../config.ts';
import { checkScaleList } from '../config.ts';
import { DriverError, isDriverError } from '../errors.ts';
import type { ModbusBus } from '../modbus/bus.ts';
import { FaultLog } from '../modbus/fault-log.ts';
import { decodeReading, implausible, StableWeightTracker, type ImplausibleReason, type WeightChange } from './reading.ts';

export type ScaleHealth = 'unknown' | 'ok' | 'no_reply' | 'implausible';

export interface ScaleEvents {
  /** A settled weight differs from the previous settled weight by at least the threshold. */
  change: [WeightChange];
  /** The slot left a stable state (someone is handling it); `to_g` is the moving reading. */
  motion: [WeightChange];
  /** First stable weight after start or re-zero. */
  ready: [{ slot: string; weight_g: number }];
  implausible: [{ slot: string; reason: ImplausibleReason; reading_g: number }];
  /** Silently absorbed drift has passed the limit: offer auto-zero when the slot is known empty. */
  zero_drift: [{ slot: string; drift_g: number }];
  /** The slot was zeroed or tared: its drift starts again from 0. */
  zeroed: [{ slot: string; how: 'zero' | 'tare' }];
  health: [{ slot: string; health: ScaleHealth }];
  sweep: [{ duration_ms: number; scales: number; failed: number }];
}

export interface SlotStatus {
  slot: string;
  unit_id: number;
  health: ScaleHealth;
  /** The settled weight now; null while the slot moves, and after a failed or untrusted read until a fresh weight settles. */
  stable_g: number | null;
  last_stable_g: number | null;
  drift_g: number;
}

export interface ScaleDriverOptions {
  bus: ModbusBus;
  config: ScalesConfig;
  logger: Logger;
}

interface Slot {
  cfg: ScaleConfig;
  tracker: StableWeightTracker;
  health: ScaleHealth;
  implausibleReason: ImplausibleReason | null;
  driftWarned: boolean;
}

export class ScaleDriver extends GuardedEmitter<ScaleEvents> {
  private readonly slots: Slot[];
  private readonly faults: FaultLog;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  /** Whether status and weight fit one read (saves a transaction per scale). */
  private readonly block: { start: number; count: number } | null;

  constructor(private readonly opts: ScaleDriverOptions) {
    super(opts.logger.child({ device: 'scales' }));
    checkScaleList(opts.config.list);
    this.faults = new FaultLog(this.log, 60_000);
    this.slots = opts.config.list.map((cfg) => ({ cfg, tracker: new StableWeightTracker(cfg.slot, opts.config), health: 'unknown', implausibleReason: null, driftWarned: false }));
    const r = opts.config.registers;
    const start = Math.min(r.status_register, r.weight_register);
    const end = Math.max(r.status_register, r.weight_register + 1);
    // Reading a few unused registers costs less wire time than a second request's framing.
    this.block = end - start + 1 <= 8 ? { start, count: end - start + 1 } : null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  status(): SlotStatus[] {
    return this.slots.map((s) => ({
      slot: s.cfg.slot,
      unit_id: s.cfg.unit_id,
      health: s.health,
      stable_g: s.tracker.stableWeight,
      last_stable_g: s.tracker.lastStableWeight,
      drift_g: s.tracker.driftG,
    }));
  }

  /** One pass over all scales; also what the polling loop runs. Resolves when every scale was tried. */
  async sweep(): Promise<{ duration_ms: number; failed: number }> {
    const t0 = performance.now();
    let failed = 0;
    for (const slot of this.slots) {
      if (!(await this.readSlot(slot))) failed += 1;
    }
    const duration_ms = performance.now() - t0;
    this.fire('sweep', { duration_ms, scales: this.slots.length, failed });
    return { duration_ms, failed };
  }

  /**
   * Zeroes a slot's module. Only correct when the slot is empty: the caller (the store
   * session, which knows the stock) decides that; the driver only offers it via `zero_drift`.
   */
  async zero(slotName: string): Promise<void> {
    const slot = this.slotByName(slotName);
    const r = this.opts.config.registers;
    const unit = slot.cfg.unit_id;
    await this.opts.bus.request({ fn: 'write_register', unit, address: r.config_unlock_register, value: r.config_unlock_value }, 'control');
    await this.opts.bus.request({ fn: 'write_register', unit, address: r.zero_register, value: 1 }, 'control');
    slot.tracker.rezero();
    slot.driftWarned = false;
    this.log.info({ slot: slotName }, 'scale zeroed');
    this.fire('zeroed', { slot: slotName, how: 'zero' });
  }

  /** Tares a slot's module (what is on it now reads 0). */
  async tare(slotName: string): Promise<void> {
    const slot = this.slotByName(slotName);
    const r = this.opts.config.registers;
    const unit = slot.cfg.unit_id;
    await this.opts.bus.request({ fn: 'write_register', unit, address: r.config_unlock_register, value: r.config_unlock_value }, 'control');
    await this.opts.bus.request({ fn: 'write_registers', unit, address: r.tare_register, values: [0x7fff, 0xffff] }, 'control');
    slot.tracker.rezero();
    slot.driftWarned = false;
    this.fire('zeroed', { slot: slotName, how: 'tare' });
  }

  private slotByName(name: string): Slot {
    const slot = this.slots.find((s) => s.cfg.slot === name);
    if (!slot) throw new DriverError('CONFIG_INVALID', `no scale for slot ${name}`);
    return slot;
  }

  private schedule(wait: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sweeping = this.sweep().then(
        () => undefined,
        (err: unknown) => this.log.error({ err }, 'sweep failed unexpectedly'),
      );
      void this.sweeping.finally(() => {
        this.sweeping = null;
        this.schedule(this.opts.config.poll_interval_ms);
      });
    }, wait);
  }

  private async readSlot(slot: Slot): Promise<boolean> {
    const r = this.opts.config.registers;
    const bus = this.opts.bus;
    const unit = slot.cfg.unit_id;
    let status: number;
    let weight: [number, number];
    try {
      if (this.block) {
        const regs = await bus.readRegisters(unit, this.block.start, this.block.count, 'poll');
        status = regs[r.status_register - this.block.start] as number;
        weight = [regs[r.weight_register - this.block.start] as number, regs[r.weight_register + 1 - this.block.start] as number];
      } else {
        const [w0, w1] = await bus.readRegisters(unit, r.weight_register, 2, 'poll');
        const [st] = await bus.readRegisters(unit, r.status_register, 1, 'poll');
        status = st as number;
        weight = [w0 as number, w1 as number];
      }
    } catch (err) {
      if (!isDriverError(err)) this.log.error({ err, slot: slot.cfg.slot }, 'reading a scale failed unexpectedly');
      slot.tracker.interrupt();
      this.setHealth(slot, 'no_reply');
      return false;
    }
    const reading = decodeReading(status, weight, r);
    const bad = implausible(reading, slot.cfg.capacity_g, this.opts.config);
    if (bad) {
      slot.tracker.interrupt();
      if (slot.implausibleReason !== bad) {
        slot.implausibleReason = bad;
        this.faults.record('implausible', { slot: slot.cfg.slot, reason: bad, reading_g: reading.grams }, 'implausible scale reading, not trusted');
        this.fire('implausible', { slot: slot.cfg.slot, reason: bad, reading_g: reading.grams });
      }
      this.setHealth(slot, 'implausible');
      return true;
    }
    slot.implausibleReason = null;
    this.setHealth(slot, 'ok');
    for (const out of slot.tracker.push(reading.grams, reading.unstable)) {
      switch (out.kind) {
        case 'ready':
          this.fire('ready', { slot: slot.cfg.slot, weight_g: out.weight_g });
          break;
        case 'change':
          this.fire('change', out.change);
          break;
        case 'motion':
          this.fire('motion', out.change);
          break;
        case 'drift':
          if (!slot.driftWarned && Math.abs(out.drift_g) > this.opts.config.zero_drift_limit_g) {
            slot.driftWarned = true;
            this.fire('zero_drift', { slot: slot.cfg.slot, drift_g: out.drift_g });
          }
          break;
      }
    }
    return true;
  }

  private setHealth(slot: Slot, health: ScaleHealth): void {
    if (slot.health === health) return;
    const was = slot.health;
    slot.health = health;
    if (health === 'ok' && was !== 'unknown') this.log.info({ slot: slot.cfg.slot, was }, 'scale reading normally again');
    this.fire('health', { slot: slot.cfg.slot, health });
  }
}
