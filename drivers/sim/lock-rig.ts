/**
 * The lock driver over the relay board simulator on the in-process serial binding: one rig
 * for the drivers' tests, the entry pipeline's end-to-end test and bench:entry (which is why
 * it lives here and not under tests/).
 */
import type { Logger } from 'pino';
import { resolveDriversConfig } from '../config.ts';
import { LockDriver } from '../lock/lock-driver.ts';
import { ModbusBus } from '../modbus/bus.ts';
import { SimNetwork } from '../transport/sim-network.ts';
import { RelaySim } from './relay-sim.ts';
import { RtuBusSim } from './rtu-bus.ts';

export async function simulatedLock(logger: Logger, overrides: { lock?: Record<string, unknown>; modbus?: Record<string, unknown> } = {}) {
  const cfg = resolveDriversConfig({ lock: { input_poll_ms: 50, release_check_ms: 50, ...overrides.lock }, ...(overrides.modbus ? { modbus: overrides.modbus } : {}) });
  const network = new SimNetwork();
  const line = new RtuBusSim();
  const relay = new RelaySim();
  line.add(relay);
  network.attach('rs485', line);
  const bus = new ModbusBus({ url: cfg.lock.transport, config: cfg.modbus, logger, simNetwork: network });
  await bus.start();
  const lock = new LockDriver({ bus, config: cfg.lock, logger });
  await lock.start();
  const stop = async (): Promise<void> => {
    await lock.stop();
    await bus.stop();
  };
  return { cfg, network, line, relay, bus, lock, stop, coil: cfg.lock.coil };
}
