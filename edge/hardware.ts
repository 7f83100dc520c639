/**
 * The store's hardware as one part of the daemon: the drivers (lock relay, scales, scanner)
 * and, when `drivers.simulated` is set (the demo, CI), the in-process simulators they talk to.
 * Driver health goes to the HealthBoard, its reasons in English and Chinese (edge/scale-words.ts,
 * edge/hardware-words.ts); driver errors never stop the daemon: a missing USB adapter leaves it
 * running degraded while the drivers retry.
 */
import type { Logger } from './log.ts';
import type { DriversConfig } from '../drivers/config.ts';
import { createDrivers, createSimulatedHardware, type BusStats, type Drivers, type SimulatedHardware, type ScalePhysics } from '../drivers/index.ts';
import type { HealthBoard, Part } from './parts.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { bothLanguages, scaleWords } from './scale-words.ts';
import { busWords, lockWords, scannerWords } from './hardware-words.ts';

export interface HardwareOptions {
  config: DriversConfig;
  health: HealthBoard;
  /** Simulator physics (the demo and tests shorten settle times). */
  physics?: Partial<ScalePhysics>;
  seed?: number;
}

export class HardwarePart implements Part {
  readonly name = 'hardware';
  readonly critical = false;
  private drivers: Drivers | undefined;
  private simulated: SimulatedHardware | undefined;

  constructor(private readonly opts: HardwareOptions, private readonly log: Logger) {}

  get lock() {
    return this.require().lock;
  }
  get scales() {
    return this.require().scales;
  }
  get scanner() {
    return this.require().scanner;
  }
  /** The simulators, when running on simulated hardware (demo, scenario runner). */
  get sim(): SimulatedHardware | undefined {
    return this.simulated;
  }

  /** Each RS-485 bus's counters (requests, retries, failures, faults), for /metrics. */
  buses(): BusStats[] {
    return this.drivers ? [...this.drivers.buses.values()].map((b) => b.stats()) : [];
  }

  /** Built at construction time of the daemon so other parts can subscribe before start. */
  build(): Drivers {
    if (this.drivers) return this.drivers;
    const { config } = this.opts;
    if (config.simulated) {
      this.simulated = createSimulatedHardware({ config, ...(this.opts.physics ? { physics: this.opts.physics } : {}), ...(this.opts.seed !== undefined ? { seed: this.opts.seed } : {}) });
    }
    this.drivers = createDrivers({ config, logger: this.log, ...(this.simulated ? { simNetwork: this.simulated.network } : {}) });
    const health = this.opts.health;
    for (const bus of this.drivers.buses.values()) {
      bus.on('health', (h) => health.set(`bus ${h.url}`, h.health === 'up' ? 'ok' : h.health === 'stopped' ? 'stopped' : 'degraded', h.reason === undefined ? undefined : bothLanguages(busWords.down(h.reason))));
    }
    this.drivers.scanner?.on('health', (h) => health.set('scanner', h.health === 'up' ? 'ok' : 'degraded', h.reason === undefined ? undefined : bothLanguages(scannerWords.down(h.reason))));
    this.drivers.lock.on('alarm', (a) => {
      health.set('lock', 'degraded', bothLanguages(lockWords.alarm(a.reason, a.detail)));
      this.log.error({ alarm: a }, 'lock alarm: the relay did not confirm release / 门锁告警：继电器未确认释放');
    });
    this.drivers.lock.on('relocked', () => health.set('lock', 'ok'));
    // Kept apart from 'lock' so that a good unlock does not hide a relay that stuck after an earlier one.
    this.drivers.lock.on('unlock_failed', (f) => health.set('lock unlock', 'degraded', bothLanguages(lockWords.unlockFailed(f.code, f.detail))));
    this.drivers.lock.on('unlocked', (u) => {
      if (u.confirmed) health.set('lock unlock', 'ok');
      else health.set('lock unlock', 'degraded', bothLanguages(lockWords.unlockUnconfirmed()));
    });
    this.drivers.lock.on('inputs', (i) => {
      if (i.state === 'read') health.set('lock inputs', 'ok');
      else health.set('lock inputs', 'degraded', bothLanguages(lockWords.inputsUnread(i.polls)));
    });
    this.watchScales(this.drivers.scales);
    return this.drivers;
  }

  /**
   * A slot whose readings are not trusted (implausible, no reply) or whose zero has drifted
   * makes the store degraded, with the slot and the reason; each clears when the slot reads
   * normally again or is zeroed. The reasons are said in English and Chinese: they become the
   * scale alarms' details (edge/ops/alarm-watch.ts), bilingual as every alarm's.
   */
  private watchScales(scales: Drivers['scales']): void {
    const health = this.opts.health;
    scales.on('implausible', (e) => health.set(`scale ${e.slot}`, 'degraded', bothLanguages(scaleWords.implausible(e.reason, e.reading_g))));
    scales.on('health', (h) => {
      if (h.health === 'ok') health.set(`scale ${h.slot}`, 'ok');
      else if (h.health === 'no_reply') health.set(`scale ${h.slot}`, 'degraded', bothLanguages(scaleWords.noReply()));
    });
    scales.on('zero_drift', (d) => {
      health.set(`scale ${d.slot} zero`, 'degraded', bothLanguages(scaleWords.zeroDrift(d.drift_g)));
      this.log.warn({ slot: d.slot, drift_g: d.drift_g }, 'scale zero drifted / 秤零点漂移，请在空货位时归零');
    });
    scales.on('zeroed', (z) => health.set(`scale ${z.slot} zero`, 'ok'));
  }

  async start(): Promise<void> {
    const d = this.build();
    await d.start();
    this.log.info({ simulated: this.opts.config.simulated, scales: this.opts.config.scales.list.length }, 'hardware started / 硬件已启动');
  }

  async stop(): Promise<void> {
    // The relay board ends any running pulse by itself: the lock is left locked.
    await this.drivers?.stop();
  }

  private require(): Drivers {
    if (!this.drivers) throw new EdgeError(ErrorCode.INTERNAL, 'the hardware part is not built');
    return this.drivers;
  }
}
