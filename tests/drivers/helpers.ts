import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { LockDriver } from '../../drivers/lock/lock-driver.ts';
import { ModbusBus } from '../../drivers/modbus/bus.ts';
import { RelaySim } from '../../drivers/sim/relay-sim.ts';
import { RtuBusSim } from '../../drivers/sim/rtu-bus.ts';
import { SimNetwork } from '../../drivers/transport/sim-network.ts';

/** A logger that keeps its JSON lines, so tests can check what was logged and how often. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds or `ms` pass; for waiting on simulated hardware, not for timing assertions. */
export async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * The lock driver over the relay board simulator on the in-process serial binding: one rig
 * for the drivers' tests, the entry pipeline's end-to-end test and bench:entry.
 */
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
