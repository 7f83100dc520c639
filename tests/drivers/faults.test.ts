import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers } from '../../drivers/create.ts';
import { isDriverError } from '../../drivers/errors.ts';
import { createSimulatedHardware } from '../../drivers/sim/hardware.ts';
import type { SimFaultKind } from '../../drivers/sim/rtu-bus.ts';
import { captureLogger, until } from './helpers.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function rig(modbus: Record<string, number> = {}) {
  const config = resolveDriversConfig({
    scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }], poll_interval_ms: 0 },
    lock: { input_poll_ms: 1000 },
    modbus: { response_timeout_ms: 30, retries: 2, quiet_after_error_ms: 2, reconnect_initial_ms: 20, reconnect_max_ms: 100, ...modbus },
    scanner: { enabled: false },
  });
  const hw = createSimulatedHardware({ config, physics: { settleMs: 0, noiseG: 0, creepGPerMin: 0 } });
  const { logger, lines } = captureLogger();
  const drivers = createDrivers({ config, logger, simNetwork: hw.network });
  await drivers.start();
  stops.push(() => drivers.stop());
  const bus = drivers.buses.get('sim://rs485');
  if (!bus) throw new Error('no bus');
  const line = hw.lines.get('rs485');
  if (!line) throw new Error('no line');
  await until(() => drivers.scales.status()[0]?.health === 'ok', 3000, 'scale ok');
  return { hw, drivers, bus, line, lines };
}

const counted: Array<[SimFaultKind, 'timeout' | 'crc' | 'exception']> = [
  ['bad_crc', 'crc'],
  ['no_reply', 'timeout'],
  ['truncated', 'timeout'],
  ['garbage', 'timeout'],
  ['delay', 'timeout'],
];

describe('fault injection on the simulated RS-485 line', () => {
  it.each(counted)('%s: counted as %s, retried within bounds, logged once per burst, recovers', async (kind, counter) => {
    // A late reply must land in the quiet time after the timeout, where it is discarded; one
    // that came later still would be taken for the retry's answer (RTU has no transaction ids).
    const { hw, drivers, bus, line, lines } = await rig({ quiet_after_error_ms: 30 });
    const before = bus.stats();
    // a burst of 6 spoiled replies to the scale: every attempt of two polls fail, then recovery
    line.injectFault({ kind, unit: 10, times: 6, delayMs: 45 });
    await until(() => bus.stats().faults[counter] - before.faults[counter] >= 6, 5000, `${counter} count`);
    await until(() => drivers.scales.status()[0]?.health === 'ok' && bus.stats().faults[counter] > 0, 5000, 'recovered');
    const after = bus.stats();
    expect(after.faults[counter] - before.faults[counter]).toBe(6);
    expect(after.failures - before.failures).toBe(2); // 6 faults = 2 requests x (1 + 2 retries)
    const warnings = lines.filter((l) => l.fault === counter && l.msg !== 'faults stopped, working again');
    expect(warnings.length).toBe(1); // once per burst
    expect(lines.some((l) => l.fault === counter && l.msg === 'faults stopped, working again')).toBe(true);
    // meanwhile the lock still works on the same bus
    await expect(drivers.lock.unlock(200)).resolves.toMatchObject({ pulse_ms: 200 });
    expect(hw.relay.coil(0)).toBe(true);
  });

  it('a request on the wire when the bus stops ends as STOPPED: no fault counted or logged after the stop', async () => {
    const { drivers, bus, line, lines } = await rig();
    await drivers.scales.stop();
    line.injectFault({ kind: 'no_reply', unit: 1, times: 100 });
    const before = bus.stats();
    const asked = bus.request({ fn: 'read_discrete_inputs', unit: 1, address: 0, count: 2 }, 'control');
    await line.expectRequest((f) => f[0] === 1, { what: 'the request on the wire' });
    const mark = lines.length;
    await bus.stop();
    await expect(asked).rejects.toSatisfy((e) => isDriverError(e, 'STOPPED'));
    expect(lines.slice(mark).filter((l) => l.fault !== undefined)).toEqual([]);
    expect(bus.stats().faults.timeout).toBe(before.faults.timeout);
  });

  it('garbage before a good reply is skipped by the RTU framing (no fault, no retry)', async () => {
    const { bus, line } = await rig();
    const before = bus.stats();
    line.injectFault({ kind: 'garbage_then_reply', unit: 10, times: 3 });
    await until(() => line.stats.faults_applied >= 3, 3000, 'faults applied');
    // the poll that got the third spoiled reply has finished once a later one is on the wire
    await line.expectRequest((f) => f[0] === 10, { what: 'the next scale poll' });
    expect(bus.stats().retries).toBe(before.retries);
    expect(bus.stats().failures).toBe(before.failures);
  });

  it('a Modbus exception is counted and not retried (the slave has answered)', async () => {
    const { drivers, bus, line } = await rig();
    await drivers.scales.stop();
    line.injectFault({ kind: 'exception', unit: 1, code: 4 });
    const before = bus.stats();
    await expect(drivers.lock.unlock(200)).rejects.toSatisfy((e) => isDriverError(e, 'EXCEPTION') && e.modbusCode === 4);
    expect(bus.stats().faults.exception - before.faults.exception).toBe(1);
    expect(bus.stats().retries).toBe(before.retries);
    await expect(drivers.lock.unlock(200)).resolves.toMatchObject({ pulse_ms: 200 });
  });

  it('the port closed mid-transaction: the bus goes degraded, reopens with backoff and recovers by itself', async () => {
    const { hw, drivers, bus, line } = await rig();
    const healths: string[] = [];
    bus.on('health', (h) => healths.push(h.health));
    line.injectFault({ kind: 'disconnect', unit: 10 });
    await until(() => bus.health === 'degraded', 3000, 'degraded');
    await until(() => drivers.scales.status()[0]?.health === 'no_reply', 3000, 'scale degraded');
    // still unplugged: reopen attempts fail and back off
    const attempts = bus.stats().reconnects;
    await until(() => bus.stats().reconnects >= attempts + 2, 5000, 'two more reopen attempts');
    expect(bus.health).toBe('degraded');
    hw.plug('rs485');
    await until(() => bus.health === 'up', 3000, 'up again');
    await until(() => drivers.scales.status()[0]?.health === 'ok', 3000, 'scale ok again');
    expect(healths[0]).toBe('degraded');
    expect(healths.at(-1)).toBe('up');
    expect(bus.stats().reconnects).toBeGreaterThanOrEqual(2);
  });

  it('an unlock jumps ahead of queued scale polls', async () => {
    const { drivers, bus, line } = await rig();
    await drivers.scales.stop();
    line.recent.length = 0;
    // fill the queue with polls, then ask for an unlock: it must run right after the one in flight
    const polls = Array.from({ length: 10 }, () => bus.readRegisters(10, 0x50, 2, 'poll'));
    const unlock = drivers.lock.unlock(200);
    await Promise.all([...polls, unlock]);
    const fns = line.recent.map((f) => (f[0] === 1 ? `lock:${f[1]}` : 'scale'));
    const firstLock = fns.indexOf('lock:5');
    expect(firstLock).toBeGreaterThanOrEqual(0);
    expect(firstLock).toBeLessThanOrEqual(2); // at most the poll already on the wire went first
  });
});
