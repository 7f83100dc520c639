/**
 * The scanner on a real serial port (a socat pseudo-terminal, serialport's native bindings):
 * stopping the driver closes the port's file descriptor. Destroying serialport's stream alone
 * does not (it has no _destroy of its own): the descriptor and its read poller stayed open and
 * kept the daemon and `store-edge doctor` alive after they had finished.
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { attachDeviceToSerial, createPtyPair, socatPath } from '../../drivers/sim/pty.ts';
import { ScannerSim } from '../../drivers/sim/scanner-sim.ts';
import { ScannerDriver } from '../../drivers/scanner/scanner-driver.ts';
import { captureLogger, until } from './helpers.ts';

if (socatPath() === null) throw new Error('socat is required for the serial tests: apt-get install socat (.ci/run installs it)');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** How many of this process's file descriptors are open on `device`. */
function openOn(device: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === device) n += 1;
    } catch {
      // closed while listing
    }
  }
  return n;
}

describe('the scanner driver on a serial port', () => {
  it('closes the port on stop, also while a read is waiting for bytes', async () => {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const sim = new ScannerSim();
    const dev = await attachDeviceToSerial(sim, pair.devicePath, 115200);
    cleanups.push(() => dev.close());
    const device = realpathSync(pair.hostPath);
    expect(openOn(device)).toBe(0);

    const config = resolveDriversConfig({ simulated: false, scanner: { transport: `serial://${pair.hostPath}?baud=115200` } });
    const scanner = new ScannerDriver({ config: config.scanner, logger: captureLogger().logger });
    const codes: string[] = [];
    scanner.on('code', (c) => codes.push(c.code));
    await scanner.start();
    cleanups.push(() => scanner.stop());
    expect(scanner.health).toBe('up');
    expect(openOn(device)).toBe(1);
    // a code read through: the stream is flowing, its next read waits on the descriptor
    sim.scan('CARD-0001');
    await until(() => codes.length === 1, undefined, 'the code read');
    expect(codes).toEqual(['CARD-0001']);

    await scanner.stop();
    expect(scanner.health).toBe('stopped');
    expect(openOn(device)).toBe(0);
  });
});
