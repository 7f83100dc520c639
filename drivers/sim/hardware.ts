/**
 * The whole simulated store hardware inside this process, reachable through the in-process
 * SimNetwork at the config's `sim://` URLs. Unit tests and `npm start` use it; the scenario
 * runner, which must survive a daemon restart, uses the sim-hardware process (server.ts).
 * `snapshot()`/`restore()` carry its state across a restart.
 */
import { SimNetwork } from '../transport/sim-network.ts';
import { parseTransportUrl } from '../transport/url.ts';
import { buildSimDevices, type SimDevicesOptions, type SimDevicesState } from './devices.ts';
import type { RelaySim } from './relay-sim.ts';
import type { RtuBusSim } from './rtu-bus.ts';
import type { ScaleSim } from './scale-sim.ts';
import type { ScannerSim } from './scanner-sim.ts';

export type SimulatedHardwareOptions = Omit<SimDevicesOptions, 'onDisconnect'>;
export type SimulatedHardwareState = SimDevicesState;

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
  const network = new SimNetwork();
  const devices = buildSimDevices({ ...opts, onDisconnect: (url) => network.unplug(simName(url, 'line')) });
  const lines = new Map<string, RtuBusSim>();
  for (const [url, line] of devices.lines) {
    const name = simName(url, url === devices.lockLine ? 'lock' : 'scales');
    lines.set(name, line);
    network.attach(name, line);
  }
  if (config.scanner.enabled) network.attach(simName(config.scanner.transport, 'scanner'), devices.scanner);
  return {
    network,
    lines,
    relay: devices.relay,
    scales: devices.scales,
    scanner: devices.scanner,
    urls: { lock: config.lock.transport, scales: config.scales.transport, scanner: config.scanner.transport },
    scale: (slot) => devices.scale(slot),
    snapshot: () => devices.snapshot(),
    restore: (state) => devices.restore(state),
    unplug: (name) => network.unplug(name),
    plug: (name) => network.plug(name),
  };
}
