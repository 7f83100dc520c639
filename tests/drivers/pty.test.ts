/**
 * The same drivers over real pseudo-terminals (socat) and serialport's native bindings.
 * socat is required (`.ci/run` installs it; locally `apt-get install socat`): without it the suite fails.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers } from '../../drivers/create.ts';
import { attachDeviceToSerial, createPtyPair, socatPath } from '../../drivers/sim/pty.ts';
import { RelaySim } from '../../drivers/sim/relay-sim.ts';
import { RtuBusSim } from '../../drivers/sim/rtu-bus.ts';
import { ScaleSim } from '../../drivers/sim/scale-sim.ts';
import { captureLogger, until } from './helpers.ts';

if (socatPath() === null) throw new Error('socat is required for the serial tests: apt-get install socat (.ci/run installs it)');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ptyBus() {
  const pair = await createPtyPair();
  cleanups.push(() => pair.close());
  const config = resolveDriversConfig({
    lock: { transport: `serial://${pair.hostPath}?baud=115200`, input_poll_ms: 50, release_check_ms: 50 },
    scales: { transport: `serial://${pair.hostPath}?baud=115200`, list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }], poll_interval_ms: 5 },
    scanner: { enabled: false },
    modbus: { response_timeout_ms: 100 },
  });
  const line = new RtuBusSim();
  const relay = new RelaySim();
  const scale = new ScaleSim({ unitId: 10, capacityG: 5000 }, config.scales.registers, { noiseG: 2, settleMs: 30, creepGPerMin: 0, creepMaxG: 0, decimals: 1 });
  line.add(relay);
  line.add(scale);
  const dev = await attachDeviceToSerial(line, pair.devicePath, 115200);
  cleanups.push(() => dev.close());
  return { pair, config, line, relay, scale };
}

describe('drivers over socat pseudo-terminals', () => {
  it('unlocks, reads the door and weighs through serialport\'s real bindings', async () => {
    const { config, relay, scale } = await ptyBus();
    const { logger } = captureLogger();
    const drivers = createDrivers({ config, logger });
    await drivers.start();
    cleanups.push(() => drivers.stop());
    await until(() => drivers.buses.get(config.lock.transport)?.health === 'up', 3000, 'bus up');
    const changes: number[] = [];
    drivers.scales.on('change', (c) => changes.push(c.delta_g));
    await until(() => drivers.scales.status()[0]?.stable_g !== null, 3000, 'scale ready');
    await drivers.lock.unlock(200);
    expect(relay.coil(0)).toBe(true);
    scale.place(2, 330);
    await until(() => changes.length === 1, 3000, 'change');
    expect(Math.abs((changes[0] ?? 0) - 660)).toBeLessThanOrEqual(3);
    await until(() => !relay.coil(0), 2000, 'pulse over');
  });

  it('the timed pulse ends on the board even when the driver process is SIGKILLed during it', async () => {
    const { pair, relay } = await ptyBus();
    const script = `
      import { pino } from 'pino';
      import { resolveDriversConfig } from './drivers/config.ts';
      import { createDrivers } from './drivers/create.ts';
      const url = 'serial://${pair.hostPath}?baud=115200';
      const config = resolveDriversConfig({ lock: { transport: url }, scales: { transport: url }, scanner: { enabled: false } });
      const d = createDrivers({ config, logger: pino({ level: 'silent' }) });
      await d.start();
      await d.lock.unlock(600);
      console.log('UNLOCKED');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await until(() => out.includes('UNLOCKED'), 15_000, 'child unlocked');
    child.kill('SIGKILL');
    expect(relay.coil(0)).toBe(true);
    // nobody is left to switch it off: the board's own pulse timer does
    await until(() => !relay.coil(0), 5000, 'the board to drop the relay by itself');
  });
});
