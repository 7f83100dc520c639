/**
 * fixtures/serial/*.hex through both sides: each recorded request makes our simulator answer
 * with the recorded bytes, and each recorded reply goes through the driver's real decoding
 * path (modbus-serial behind ModbusBus) to the value the frame means.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { isDriverError } from '../../drivers/errors.ts';
import { LockDriver } from '../../drivers/lock/lock-driver.ts';
import { ModbusBus } from '../../drivers/modbus/bus.ts';
import { ScaleDriver } from '../../drivers/scales/scale-driver.ts';
import { parseCapture, ReplayDevice, type CapturedExchange } from '../../drivers/sim/capture.ts';
import { RelaySim } from '../../drivers/sim/relay-sim.ts';
import { RtuBusSim } from '../../drivers/sim/rtu-bus.ts';
import { crcOk } from '../../drivers/sim/rtu.ts';
import { ScaleSim } from '../../drivers/sim/scale-sim.ts';
import { SimNetwork } from '../../drivers/transport/sim-network.ts';
import { captureLogger } from './helpers.ts';

const config = resolveDriversConfig({
  scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }] },
  modbus: { response_timeout_ms: 50, quiet_after_error_ms: 1, retries: 1 },
  scanner: { enabled: false },
});

function capture(name: string): CapturedExchange[] {
  return parseCapture(readFileSync(new URL(`../../fixtures/serial/${name}`, import.meta.url), 'utf8'));
}

/** The relay board and a scale holding 660 g, settled, without noise: the state the files describe. */
function simulatedLine(): RtuBusSim {
  const line = new RtuBusSim();
  line.add(new RelaySim());
  const scale = new ScaleSim({ unitId: 10, capacityG: 5000 }, config.scales.registers, { noiseG: 0, settleMs: 0, creepGPerMin: 0, creepMaxG: 0, decimals: 0 });
  scale.place(2, 330);
  line.add(scale);
  return line;
}

/** What the simulator answers to each recorded request, in order, on one line. */
function simulatorReplies(exchanges: CapturedExchange[]): Buffer[] {
  const line = simulatedLine();
  let got: Buffer[] = [];
  line.connect((b) => got.push(b));
  return exchanges.map((e) => {
    got = [];
    line.fromHost(e.request);
    return Buffer.concat(got);
  });
}

async function replayBus(exchanges: CapturedExchange[]) {
  const network = new SimNetwork();
  const device = new ReplayDevice(exchanges);
  network.attach('rs485', device);
  const bus = new ModbusBus({ url: 'sim://rs485', config: config.modbus, logger: captureLogger().logger, simNetwork: network });
  await bus.start();
  return { bus, device, stop: () => bus.stop() };
}

const hex = (b: Buffer): string => b.toString('hex');

describe('fixtures/serial: recorded frames', () => {
  it('every request in every file is a well-formed frame with a correct CRC', () => {
    for (const name of ['unlock-pulse.hex', 'scale-weight-read.hex', 'exception-reply.hex', 'bad-crc-reply.hex', 'vendor-examples.hex']) {
      const ex = capture(name);
      expect(ex.length, name).toBeGreaterThan(0);
      for (const e of ex) expect(crcOk(e.request), `${name}:${e.line}`).toBe(true);
    }
  });

  it('the simulator answers each good recording byte for byte', () => {
    for (const name of ['unlock-pulse.hex', 'scale-weight-read.hex', 'exception-reply.hex', 'vendor-examples.hex']) {
      const ex = capture(name);
      const replies = simulatorReplies(ex);
      ex.forEach((e, i) => expect(hex(replies[i] as Buffer), `${name}:${e.line}`).toBe(hex(Buffer.concat(e.reply))));
    }
  });

  it('the bad-CRC recording differs from the simulator only in the CRC, and fails the CRC check', () => {
    const [e] = capture('bad-crc-reply.hex');
    const recorded = Buffer.concat(e?.reply ?? []);
    // recorded during an unlock, so the relay is on: replay the pulse first
    const pulse = capture('unlock-pulse.hex').slice(0, 1);
    const good = simulatorReplies([...pulse, ...(e ? [e] : [])]).at(-1);
    expect(crcOk(recorded)).toBe(false);
    expect(crcOk(good as Buffer)).toBe(true);
    expect(hex(recorded.subarray(0, -2))).toBe(hex((good as Buffer).subarray(0, -2)));
  });

  it('unlock: the driver sends exactly the recorded frames and reads the recorded replies as confirmed', async () => {
    const { bus, device, stop } = await replayBus(capture('unlock-pulse.hex'));
    try {
      const lock = new LockDriver({ bus, config: { ...config.lock, release_check_ms: 10_000 }, logger: captureLogger().logger });
      await expect(lock.unlock(3000)).resolves.toMatchObject({ pulse_ms: 3000 });
      await lock.stop();
      expect(device.unexpected.map(hex)).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('weight read: the replies decode to a stable 660 g', async () => {
    const { bus, device, stop } = await replayBus(capture('scale-weight-read.hex'));
    try {
      const scales = new ScaleDriver({ bus, config: config.scales, logger: captureLogger().logger });
      for (let i = 0; i < config.scales.stable_window; i++) expect((await scales.sweep()).failed).toBe(0);
      expect(scales.status()[0]).toMatchObject({ slot: 'A', health: 'ok', stable_g: 660 });
      expect(device.unexpected.map(hex)).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('exception replies become EXCEPTION errors with the slave\'s code, not retried', async () => {
    const { bus, stop } = await replayBus(capture('exception-reply.hex'));
    try {
      await expect(bus.readRegisters(1, 0, 1, 'control')).rejects.toSatisfy((e) => isDriverError(e, 'EXCEPTION') && e.modbusCode === 1);
      await expect(bus.request({ fn: 'write_register', unit: 10, address: 0x5e, value: 1 }, 'control')).rejects.toSatisfy((e) => isDriverError(e, 'EXCEPTION') && e.modbusCode === 3);
      expect(bus.stats().retries).toBe(0);
    } finally {
      await stop();
    }
  });

  it('a bad-CRC reply is a CRC fault, retried, then reported', async () => {
    const { bus, stop } = await replayBus(capture('bad-crc-reply.hex'));
    try {
      await expect(bus.readBits('coils', 1, 0, 1, 'control')).rejects.toSatisfy((e) => isDriverError(e, 'CRC'));
      expect(bus.stats().faults.crc).toBe(config.modbus.retries + 1);
    } finally {
      await stop();
    }
  });

  it('the other relay-board frames decode: relay on, 8 relays read, a 700 ms pulse', async () => {
    const { bus, device, stop } = await replayBus(capture('vendor-examples.hex'));
    try {
      await expect(bus.request({ fn: 'write_coil', unit: 1, address: 0, on: true }, 'control')).resolves.toEqual({ written: true });
      await expect(bus.readBits('coils', 1, 0, 8, 'control')).resolves.toEqual([true, false, false, false, false, false, false, false]);
      await expect(bus.request({ fn: 'write_coil_value', unit: 1, address: 0x0200, value: 7 }, 'unlock')).resolves.toEqual({ written: true });
      expect(device.unexpected.map(hex)).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('the capture parser names the line of a malformed entry', () => {
    expect(() => parseCapture('> 01 05\n< zz')).toThrow(/line 2/);
    expect(() => parseCapture('< 01 05')).toThrow(/reply before any request/);
  });
});
