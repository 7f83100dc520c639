/** The lock driver over the relay board simulator on the in-process serial binding (drivers/, #3). */
import type { Logger } from 'pino';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { LockDriver } from '../../drivers/lock/lock-driver.ts';
import { ModbusBus } from '../../drivers/modbus/bus.ts';
import { RelaySim } from '../../drivers/sim/relay-sim.ts';
import { RtuBusSim } from '../../drivers/sim/rtu-bus.ts';
import { SimNetwork } from '../../drivers/transport/sim-network.ts';

export async function simulatedLock(logger: Logger) {
  const cfg = resolveDriversConfig({ lock: { input_poll_ms: 50, release_check_ms: 50 } });
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
  return { relay, lock, line, stop, coil: cfg.lock.coil };
}
