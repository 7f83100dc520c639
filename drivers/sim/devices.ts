/**
 * The simulated store hardware as devices, built from the same drivers config the daemon
 * uses: the relay board and the scales on their RS-485 line(s) and the scanner. How they are
 * reached is up to the host: the in-process SimNetwork (hardware.ts) or the sim-hardware
 * process's TCP ports and pseudo-terminals (server.ts).
 */
import type { DriversConfig } from '../config.ts';
import { RelaySim, type RelaySimState } from './relay-sim.ts';
import { RtuBusSim } from './rtu-bus.ts';
import { DEFAULT_SCALE_PHYSICS, ScaleSim, type ScalePhysics, type ScaleSimState } from './scale-sim.ts';
import { ScannerSim } from './scanner-sim.ts';

export interface SimDevicesOptions {
  config: DriversConfig;
  /** Scale physics; tests and benchmarks shorten the settle time. */
  physics?: Partial<ScalePhysics>;
  now?: () => number;
  /** Slave reply latency on the simulated lines. */
  replyDelayMs?: number;
  /** Seed of the scales' noise, so a scenario repeats exactly. */
  seed?: number;
  /** How long the exit button cuts lock power (hardware wiring), ms. */
  exitReleaseMs?: number;
  /** A 'disconnect' fault on a line: the host pulls that line's plug. */
  onDisconnect?: (lineKey: string) => void;
}

export interface SimDevicesState {
  version: 1;
  relay: RelaySimState;
  scales: Record<string, ScaleSimState>;
}

export interface SimDevices {
  /**
   * RS-485 lines keyed by the transport URL the config gives them: the lock and the scales
   * share one line when their URLs are equal, as the drivers share one bus.
   */
  lines: Map<string, RtuBusSim>;
  lockLine: string;
  /** Null when no scales are configured. */
  scalesLine: string | null;
  relay: RelaySim;
  /** Scale simulators by slot. */
  scales: Map<string, ScaleSim>;
  scanner: ScannerSim;
  /** Shared by every scale; change its fields to change the physics from now on. */
  physics: ScalePhysics;
  scale(slot: string): ScaleSim;
  snapshot(): SimDevicesState;
  restore(state: SimDevicesState): void;
}

export function buildSimDevices(opts: SimDevicesOptions): SimDevices {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const lines = new Map<string, RtuBusSim>();
  const lineFor = (key: string): RtuBusSim => {
    let line = lines.get(key);
    if (!line) {
      line = new RtuBusSim({ replyDelayMs: opts.replyDelayMs ?? 0, onDisconnect: () => opts.onDisconnect?.(key) });
      lines.set(key, line);
    }
    return line;
  };

  const lock = config.lock;
  const relay = new RelaySim({
    unitId: lock.unit_id,
    pulseBaseAddress: lock.pulse_base_address,
    pulseUnitMs: lock.pulse_unit_ms,
    doorInput: lock.door_input,
    doorClosedWhen: lock.door_closed_when,
    exitInput: lock.exit_input,
    exitPressedWhen: lock.exit_pressed_when,
    lockCoil: lock.coil,
    channels: Math.max(8, lock.coil + 1, lock.door_input + 1, lock.exit_input + 1),
    ...(opts.exitReleaseMs !== undefined ? { exitReleaseMs: opts.exitReleaseMs } : {}),
    now,
  });
  lineFor(lock.transport).add(relay);

  const physics: ScalePhysics = { ...DEFAULT_SCALE_PHYSICS, ...opts.physics };
  const scales = new Map<string, ScaleSim>();
  const scalesLine = config.scales.list.length > 0 ? config.scales.transport : null;
  for (const s of config.scales.list) {
    const sim = new ScaleSim({ unitId: s.unit_id, capacityG: s.capacity_g, seed: (opts.seed ?? 1) * 1000 + s.unit_id }, config.scales.registers, physics, now);
    lineFor(config.scales.transport).add(sim);
    scales.set(s.slot, sim);
  }

  return {
    lines,
    lockLine: lock.transport,
    scalesLine,
    relay,
    scales,
    scanner: new ScannerSim(),
    physics,
    scale(slot) {
      const sim = scales.get(slot);
      if (!sim) throw new Error(`no simulated scale for slot ${slot}`);
      return sim;
    },
    snapshot() {
      return { version: 1, relay: relay.snapshot(), scales: Object.fromEntries([...scales].map(([slot, sim]) => [slot, sim.snapshot()])) };
    },
    restore(state) {
      if (state.version !== 1) throw new Error(`unknown simulated hardware snapshot version ${String(state.version)}`);
      relay.restore(state.relay);
      for (const [slot, s] of Object.entries(state.scales)) scales.get(slot)?.restore(s);
    },
  };
}
