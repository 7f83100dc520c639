/**
 * The sim-hardware process: drivers reach it only through transport URLs (RTU over TCP),
 * a control client scripts it, and its state outlives the driver side.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers, type Drivers } from '../../drivers/create.ts';
import type { SimHardwareUrls } from '../../drivers/sim/control-api.ts';
import { spawnSimHardware, startSimHardware } from '../../drivers/sim/spawn.ts';
import { captureLogger, until } from './helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The layout both sides agree on; the transports are filled in from the sim's URLs. */
const layout = {
  scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }, { slot: 'B', unit_id: 11, capacity_g: 5000 }] },
};
const fast = { settleMs: 30, noiseG: 1, creepGPerMin: 0, creepMaxG: 0 };

function driverConfig(urls: SimHardwareUrls) {
  return resolveDriversConfig({
    simulated: false,
    lock: { transport: urls.lock, input_poll_ms: 20, release_check_ms: 50 },
    scales: { ...layout.scales, transport: urls.scales, poll_interval_ms: 5 },
    scanner: { transport: urls.scanner, reconnect_initial_ms: 20 },
    modbus: { response_timeout_ms: 100, quiet_after_error_ms: 2, reconnect_initial_ms: 20, reconnect_max_ms: 200 },
  });
}

async function startDrivers(urls: SimHardwareUrls): Promise<Drivers> {
  const config = driverConfig(urls);
  const drivers = createDrivers({ config, logger: captureLogger().logger });
  await drivers.start();
  cleanups.push(() => drivers.stop());
  await until(() => [...drivers.buses.values()].every((b) => b.health === 'up') && drivers.scanner?.health === 'up', 3000, 'transports up');
  return drivers;
}

describe('sim hardware server (in-process) seen through tcp:// transports', () => {
  it('unlocks, weighs, reports door, exit button and scans, all scripted through the control client', async () => {
    const sim = await startSimHardware({ drivers: layout, physics: fast, seed: 3 });
    cleanups.push(() => sim.stop());
    expect(sim.urls.lock).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.urls.scales).toBe(sim.urls.lock); // one RS-485 line, as the default config says
    const drivers = await startDrivers(sim.urls);
    const changes: Array<{ slot: string; delta_g: number }> = [];
    const codes: string[] = [];
    const doors: string[] = [];
    const exits: string[] = [];
    drivers.scales.on('change', (c) => changes.push(c));
    drivers.scanner?.on('code', (c) => codes.push(c.code));
    drivers.lock.on('door', (d) => doors.push(d.state));
    drivers.lock.on('exit_button', (e) => exits.push(e.state));
    await until(() => drivers.scales.status().every((s) => s.stable_g !== null), 3000, 'scales ready');

    expect(await sim.client.openDoor()).toBe(false); // locked
    const res = await drivers.lock.unlock(500);
    const st = await sim.client.state();
    expect(st.lock_coil_on).toBe(true);
    expect(st.lock_pulse_until).not.toBeNull();
    expect((await sim.client.recentFrames('lock')).some((f) => f.startsWith('010502000005'))).toBe(true);
    expect(res.pulse_ms).toBe(500);
    expect(await sim.client.openDoor()).toBe(true);
    await until(() => doors.includes('open'), 2000, 'door open seen');
    await sim.client.closeDoor();
    await until(() => doors.at(-1) === 'closed', 2000, 'door closed seen');

    await sim.client.place('A', 2, 330);
    await until(() => changes.length === 1, 3000, 'change on A');
    expect(changes[0]?.slot).toBe('A');
    expect(Math.abs((changes[0]?.delta_g ?? 0) - 660)).toBeLessThanOrEqual(3);
    const a = (await sim.client.state()).scales.find((s) => s.slot === 'A');
    expect(a?.items).toEqual({ '330': 2 });

    await sim.client.pressExit(100);
    await until(() => exits.includes('pressed'), 2000, 'exit pressed seen');
    expect(await sim.client.scan('QR-0001-ABC')).toBe(true);
    await until(() => codes.length === 1, 2000, 'code');
    expect(codes).toEqual(['QR-0001-ABC']);
  });

  it('injects faults on the line and pulls cables; the drivers count, degrade and recover', async () => {
    const sim = await startSimHardware({ drivers: layout, physics: fast });
    cleanups.push(() => sim.stop());
    const drivers = await startDrivers(sim.urls);
    const bus = drivers.buses.get(sim.urls.scales);
    await sim.client.injectFault({ device: 'scales', kind: 'bad_crc', unit: 10, times: 2 });
    await until(() => (bus?.stats().faults.crc ?? 0) >= 2, 3000, 'crc faults counted');
    expect((await sim.client.lineStats('scales')).faults_applied).toBeGreaterThanOrEqual(2);

    await sim.client.unplug('scanner');
    await until(() => drivers.scanner?.health === 'degraded', 2000, 'scanner degraded');
    expect(await sim.client.scan('LOST-1')).toBe(false);
    await sim.client.plug('scanner');
    await until(() => drivers.scanner?.health === 'up', 3000, 'scanner back');

    await sim.client.unplug('lock');
    await until(() => bus?.health === 'degraded', 2000, 'bus degraded');
    await sim.client.plug('lock');
    await until(() => bus?.health === 'up', 3000, 'bus back');
    await expect(drivers.lock.unlock(200)).resolves.toMatchObject({ pulse_ms: 200 });
  });

  it('refuses bad control requests with a message, and keeps serving', async () => {
    const sim = await startSimHardware({ drivers: layout });
    cleanups.push(() => sim.stop());
    await expect(sim.client.take('A', 1, 100)).rejects.toThrow(/cannot take 1/);
    await expect(sim.client.place('Z', 1, 100)).rejects.toThrow(/no simulated scale for slot Z/);
    await expect(sim.client.place('A', -1, 100)).rejects.toThrow(/count must be a number/);
    await expect(sim.client.injectFault({ device: 'lock', kind: 'nonsense' as never })).rejects.toThrow(/kind must be one of/);
    await expect(sim.client.call('ping', {})).resolves.toMatchObject({ pid: process.pid });
  });
});

describe('sim hardware as its own process', () => {
  it('keeps items, door and a running relay pulse while the driver process is SIGKILLed and restarted', async () => {
    const sim = await spawnSimHardware({ drivers: layout, physics: fast, stderr: 'inherit' });
    cleanups.push(() => sim.stop());
    expect(sim.pid).not.toBe(process.pid);
    await sim.client.place('A', 3, 250);

    // The driver side in its own process, as the daemon is: unlock, then die mid-pulse.
    const script = `
      import { pino } from 'pino';
      import { resolveDriversConfig } from './drivers/config.ts';
      import { createDrivers } from './drivers/create.ts';
      const urls = ${JSON.stringify(sim.urls)};
      const config = resolveDriversConfig({ lock: { transport: urls.lock }, scales: { transport: urls.scales, list: ${JSON.stringify(layout.scales.list)} }, scanner: { transport: urls.scanner } });
      const d = createDrivers({ config, logger: pino({ level: 'silent' }) });
      await d.start();
      const r = await d.lock.unlock(1500);
      console.log('UNLOCKED ' + r.release_at);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await until(() => out.includes('UNLOCKED'), 20_000, 'driver process unlocked');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const afterKill = await sim.client.state();
    expect(afterKill.lock_coil_on).toBe(true);
    const pulseEnds = afterKill.lock_pulse_until as number;
    expect(pulseEnds).toBeGreaterThan(Date.now());
    expect(await sim.client.openDoor()).toBe(true); // someone walks in while the daemon is dead

    // The restarted driver side finds the same boards in the same state.
    const drivers = await startDrivers(sim.urls);
    const ready = new Map<string, number>();
    drivers.scales.on('ready', (r) => ready.set(r.slot, r.weight_g));
    await until(() => ready.size === 2, 3000, 'scales ready after restart');
    expect(Math.abs((ready.get('A') ?? 0) - 750)).toBeLessThanOrEqual(3);
    expect(Math.abs(ready.get('B') ?? 99)).toBeLessThanOrEqual(3);
    await until(() => drivers.lock.doorState !== 'unknown', 2000, 'door read');
    expect(drivers.lock.doorState).toBe('open');
    const st = await sim.client.state();
    expect(st.scales.find((s) => s.slot === 'A')?.items).toEqual({ '250': 3 });
    expect(st.connections.lock).toBeGreaterThanOrEqual(2);

    // The board ends the pulse by itself, on its own clock, with nobody commanding it.
    await until(() => Date.now() >= pulseEnds + 20, 3000, 'pulse time over');
    expect((await sim.client.state()).lock_coil_on).toBe(false);
    expect((await sim.client.relayCommands()).filter((c) => c.kind === 'set')).toEqual([]);
  });
});
