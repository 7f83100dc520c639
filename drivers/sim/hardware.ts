/**
 * The whole simulated store hardware, built from the same drivers config the daemon uses:
 * the relay board and scales on their RS-485 line(s), the scanner, all reachable through
 * the in-process SimNetwork at the config's `sim://` URLs. The scenario runner drives it;
 * `snapshot()`/`restore()` carry its state across a daemon restart.
 */
import type { DriversConfig } from '../config.ts';
import { SimNetwork } from '../transport/sim-network.ts';
import { parseTransportUrl } from '../transport/url.ts';
import { RelaySim, type RelaySimState } from './relay-sim.ts';
import { RtuBusSim } from './rtu-bus.ts';
import { DEFAULT_SCALE_PHYSICS, ScaleSim, type ScalePhysics, type ScaleSimState } from './scale-sim.ts';
import { ScannerSim } from './scanner-sim.ts';

export interface SimulatedHardwareOptions {
  config: DriversConfig;
  /** Scale physics; tests and benchmarks shorten the settle time. */
  physics?: Partial<ScalePhysics>;
  now?: () => number;
  /** Slave reply latency on the simulated lines. */
  replyDelayMs?: number;
  /** Seed of the scales' noise, so a scenario repeats exactly. */
  seed?: number;
}

export interface SimulatedHardwareState {
  version: 1;
  relay: RelaySimState;
  scales: Record<string, ScaleSimState>;
}

export interface SimulatedHardware {
  network: SimNetwork;
  /** RS-485 lines by sim name (the lock and scales share one unless configured apart). */
  lines: Map<string, RtuBusSim>;
  relay: RelaySim;
  /** Scale simulators by slot. */
  scales: Map<string, ScaleSim>;
  scanner: ScannerSim;
  /** Transport URLs the drivers open, from the config. */
  urls: { lock: string; scales: string; scanner: string };
  scale(slot: string): ScaleSim;
  snapshot(): SimulatedHardwareState;
  restore(state: SimulatedHardwareState): void;
  /** Pull / replug the USB cable of a simulated port (by sim name, e.g. 'rs485'). */
  unplug(name: string): void;
  plug(name: string): void;
}

function simName(url: string, what: string): string {
  const spec = parseTransportUrl(url);
  if (spec.kind !== 'sim') throw new Error(`${what} transport ${url} is not sim://; set it to sim://… to simulate`);
  return spec.name;
}

export function createSimulatedHardware(opts: SimulatedHardwareOptions): SimulatedHardware {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const network = new SimNetwork();
  const lines = new Map<string, RtuBusSim>();
  const lineFor = (name: string): RtuBusSim => {
    let line = lines.get(name);
    if (!line) {
      line = new RtuBusSim({ replyDelayMs: opts.replyDelayMs ?? 0, onDisconnect: () => network.unplug(name) });
      lines.set(name, line);
      network.attach(name, line);
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
    now,
  });
  lineFor(simName(lock.transport, 'lock')).add(relay);

  const physics: ScalePhysics = { ...DEFAULT_SCALE_PHYSICS, ...opts.physics };
  const scales = new Map<string, ScaleSim>();
  const scaleLine = config.scales.list.length > 0 ? lineFor(simName(config.scales.transport, 'scales')) : null;
  for (const s of config.scales.list) {
    const sim = new ScaleSim({ unitId: s.unit_id, capacityG: s.capacity_g, seed: (opts.seed ?? 1) * 1000 + s.unit_id }, config.scales.registers, physics, now);
    scaleLine?.add(sim);
    scales.set(s.slot, sim);
  }

  const scanner = new ScannerSim();
  if (config.scanner.enabled) network.attach(simName(config.scanner.transport, 'scanner'), scanner);

  return {
    network,
    lines,
    relay,
    scales,
    scanner,
    urls: { lock: lock.transport, scales: config.scales.transport, scanner: config.scanner.transport },
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
    unplug: (name) => network.unplug(name),
    plug: (name) => network.plug(name),
  };
}
