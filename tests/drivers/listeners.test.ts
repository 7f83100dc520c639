/** A listener that throws (or rejects) must never stop a driver's loop nor escape as an unhandled rejection. */
import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers } from '../../drivers/create.ts';
import { GuardedEmitter } from '../../drivers/guarded-emitter.ts';
import { ScannerDriver } from '../../drivers/scanner/scanner-driver.ts';
import { createSimulatedHardware } from '../../drivers/sim/hardware.ts';
import { captureLogger, until } from './helpers.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

class Probe extends GuardedEmitter<{ tick: [number] }> {
  tick(n: number): boolean {
    return this.fire('tick', n);
  }
}

/** Resolves once the logger has written an error line for `event`'s listener. */
const failedLines = (lines: Array<Record<string, unknown>>, event: string) => lines.filter((l) => l.event === event && l.level === 50);

describe('GuardedEmitter', () => {
  it('runs every listener even when one throws or rejects, logs each failure with the event, honours once()', async () => {
    const { logger, lines } = captureLogger();
    const probe = new Probe(logger);
    const got: string[] = [];
    probe.on('tick', () => {
      throw new Error('boom');
    });
    probe.on('tick', async () => {
      throw new Error('async boom');
    });
    probe.once('tick', (n) => got.push(`once ${n}`));
    probe.on('tick', (n) => got.push(`on ${n}`));
    expect(() => probe.tick(1)).not.toThrow();
    expect(probe.tick(2)).toBe(true);
    expect(got).toEqual(['once 1', 'on 1', 'on 2']);
    await until(() => failedLines(lines, 'tick').length === 4, 2000, 'four logged failures');
    expect(failedLines(lines, 'tick').map((l) => (l.err as { message: string }).message).sort()).toEqual(['async boom', 'async boom', 'boom', 'boom']);
    expect(new Probe(logger).tick(3)).toBe(false);
    expect(probe).toBeInstanceOf(EventEmitter);
  });
});

describe('driver listeners that throw', () => {
  it('lock: a throwing door listener and a rejecting exit listener do not stop input polling', async () => {
    const config = resolveDriversConfig({ lock: { input_poll_ms: 10 }, scales: { list: [] }, scanner: { enabled: false } });
    const hw = createSimulatedHardware({ config });
    const { logger, lines } = captureLogger();
    const drivers = createDrivers({ config, logger, simNetwork: hw.network });
    const doors: string[] = [];
    const exits: string[] = [];
    drivers.lock.on('door', () => {
      throw new Error('door listener broke');
    });
    drivers.lock.on('door', (d) => doors.push(d.state));
    drivers.lock.on('exit_button', async () => {
      throw new Error('exit listener broke');
    });
    drivers.lock.on('exit_button', (e) => exits.push(e.state));
    await drivers.start();
    stops.push(() => drivers.stop());
    await until(() => doors.length === 1, 3000, 'initial door state');
    await drivers.lock.unlock(1000);
    hw.relay.openDoor();
    await until(() => doors.length === 2, 3000, 'door open');
    hw.relay.closeDoor();
    await until(() => doors.length === 3, 3000, 'door closed');
    hw.relay.pressExit(30);
    await until(() => exits.includes('pressed') && exits.at(-1) === 'released' && exits.length >= 3, 3000, 'exit pressed and released');
    expect(doors).toEqual(['closed', 'open', 'closed']);
    expect(failedLines(lines, 'door').length).toBe(3);
    await until(() => failedLines(lines, 'exit_button').length === exits.length, 2000, 'exit failures logged');
  });

  it('scales: throwing change and sweep listeners do not stop the sweeps or skip the other slots', async () => {
    const config = resolveDriversConfig({
      scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }, { slot: 'B', unit_id: 11, capacity_g: 5000 }], poll_interval_ms: 5 },
      lock: { input_poll_ms: 1000 },
      scanner: { enabled: false },
    });
    const hw = createSimulatedHardware({ config, physics: { settleMs: 0, noiseG: 0, creepGPerMin: 0 } });
    const { logger, lines } = captureLogger();
    const drivers = createDrivers({ config, logger, simNetwork: hw.network });
    const changes: string[] = [];
    let sweeps = 0;
    drivers.scales.on('change', () => {
      throw new Error('change listener broke');
    });
    drivers.scales.on('change', (c) => changes.push(`${c.slot}${c.delta_g}`));
    drivers.scales.on('sweep', () => {
      sweeps += 1;
      throw new Error('sweep listener broke');
    });
    const ready = new Set<string>();
    drivers.scales.on('ready', (r) => ready.add(r.slot));
    await drivers.start();
    stops.push(() => drivers.stop());
    await until(() => ready.size === 2, 5000, 'both scales ready');
    hw.scale('A').place(2, 100);
    hw.scale('B').place(1, 300);
    await until(() => changes.length === 2, 5000, 'both changes');
    expect(changes.sort()).toEqual(['A200', 'B300']);
    const seen = sweeps;
    await until(() => sweeps >= seen + 3, 5000, 'more sweeps after the failures');
    expect(failedLines(lines, 'change').length).toBe(2);
    expect(failedLines(lines, 'sweep').length).toBeGreaterThanOrEqual(seen);
  });

  it('scanner: a throwing code listener does not lose the next code', async () => {
    const config = resolveDriversConfig({ scanner: { line_timeout_ms: 30 } });
    const hw = createSimulatedHardware({ config });
    const { logger, lines } = captureLogger();
    const scanner = new ScannerDriver({ config: config.scanner, logger, simNetwork: hw.network });
    const codes: string[] = [];
    scanner.on('code', () => {
      throw new Error('code listener broke');
    });
    scanner.on('code', (c) => codes.push(c.code));
    await scanner.start();
    stops.push(() => scanner.stop());
    hw.scanner.scan('VIL-0001');
    hw.scanner.scan('VIL-0002');
    await until(() => codes.length === 2, 2000, 'both codes');
    expect(codes).toEqual(['VIL-0001', 'VIL-0002']);
    expect(failedLines(lines, 'code').length).toBe(2);
    expect(scanner.health).toBe('up');
  });
});
