/**
 * Builds the drivers from their config slice: one ModbusBus per distinct transport URL (the
 * lock and the scales share the RS-485 line by default, and so its queue), the lock, the
 * scales and the scanner. The composition root calls this once and starts/stops the result.
 */
import type { Logger } from 'pino';
import type { DriversConfig } from './config.ts';
import { LockDriver } from './lock/lock-driver.ts';
import { ModbusBus } from './modbus/bus.ts';
import { ScaleDriver } from './scales/scale-driver.ts';
import { ScannerDriver } from './scanner/scanner-driver.ts';
import type { SimNetwork } from './transport/sim-network.ts';

export interface Drivers {
  buses: Map<string, ModbusBus>;
  lock: LockDriver;
  scales: ScaleDriver;
  scanner: ScannerDriver | null;
  /** Starts buses, then devices. Never throws for missing hardware: parts report degraded and retry. */
  start(): Promise<void>;
  /** Stops devices, then buses. */
  stop(): Promise<void>;
}

export function createDrivers(opts: { config: DriversConfig; logger: Logger; simNetwork?: SimNetwork }): Drivers {
  const { config, logger } = opts;
  const buses = new Map<string, ModbusBus>();
  const busFor = (url: string): ModbusBus => {
    let bus = buses.get(url);
    if (!bus) {
      bus = new ModbusBus({ url, config: config.modbus, logger, ...(opts.simNetwork ? { simNetwork: opts.simNetwork } : {}) });
      buses.set(url, bus);
    }
    return bus;
  };
  const lock = new LockDriver({ bus: busFor(config.lock.transport), config: config.lock, logger });
  const scales = new ScaleDriver({ bus: busFor(config.scales.transport), config: config.scales, logger });
  const scanner = config.scanner.enabled
    ? new ScannerDriver({ config: config.scanner, logger, ...(opts.simNetwork ? { simNetwork: opts.simNetwork } : {}) })
    : null;
  return {
    buses,
    lock,
    scales,
    scanner,
    async start() {
      // side by side: a dead device server costs its connect timeout once, not once per port
      await Promise.all([...[...buses.values()].map((bus) => bus.start()), scanner?.start()]);
      await lock.start();
      await scales.start();
    },
    async stop() {
      for (const part of [scanner, scales, lock]) {
        try {
          await part?.stop();
        } catch (err) {
          logger.error({ err }, 'stopping a driver failed');
        }
      }
      for (const bus of buses.values()) await bus.stop();
    },
  };
}

