/**
 * Contract of drivers/modbus/modbus-serial-adapter.ts with the modbus-serial it is built on,
 * against fixtures/serial/*.hex: the exact request bytes it writes, how it decodes each
 * recorded reply, how it maps the library's failures, and the internals it relies on. After a
 * library upgrade, this file says what changed.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverError, isDriverError } from '../../drivers/errors.ts';
import { checkInternals, RtuClient, toDriverError } from '../../drivers/modbus/modbus-serial-adapter.ts';
import type { ModbusReply, ModbusRequest } from '../../drivers/modbus/request.ts';
import { parseCapture, ReplayDevice } from '../../drivers/sim/capture.ts';
import { SimNetwork } from '../../drivers/transport/sim-network.ts';
import { parseTransportUrl } from '../../drivers/transport/url.ts';

const fixture = (name: string) => parseCapture(readFileSync(new URL(`../../fixtures/serial/${name}`, import.meta.url), 'utf8'));
const hex = (b: Buffer): string => b.toString('hex');

const clients: RtuClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

/** The recorded device, which can also send bytes nobody asked for. */
class Device extends ReplayDevice {
  private send: ((bytes: Buffer) => void) | null = null;
  override connect(toHost: ((bytes: Buffer) => void) | null): void {
    this.send = toHost;
    super.connect(toHost);
  }
  push(bytes: Buffer): void {
    this.send?.(bytes);
  }
}

async function open(files: string[], responseTimeoutMs = 100) {
  const network = new SimNetwork();
  const device = new Device(files.flatMap(fixture));
  network.attach('rs485', device);
  const events: string[] = [];
  const client = await RtuClient.open(parseTransportUrl('sim://rs485'), {
    responseTimeoutMs,
    simBinding: network.binding,
    onClose: () => events.push('close'),
    onError: (err) => events.push(`error ${String(err)}`),
  });
  clients.push(client);
  return { client, device, network, events };
}

/** Each request the drivers make, with the reply the recorded frame means. */
const table: Array<[string, string, ModbusRequest, ModbusReply]> = [
  ['unlock-pulse.hex', 'FC05 timed pulse 3 s', { fn: 'write_coil_value', unit: 1, address: 0x0200, value: 30 }, { written: true }],
  ['unlock-pulse.hex', 'FC01 relay readback', { fn: 'read_coils', unit: 1, address: 0, count: 1 }, { bits: [true, false, false, false, false, false, false, false] }],
  ['scale-weight-read.hex', 'FC03 weight int32 at 0x50', { fn: 'read_holding_registers', unit: 10, address: 0x50, count: 2 }, { registers: [0, 660] }],
  ['vendor-examples.hex', 'FC05 relay on', { fn: 'write_coil', unit: 1, address: 0, on: true }, { written: true }],
  ['vendor-examples.hex', 'FC01 read 8 relays', { fn: 'read_coils', unit: 1, address: 0, count: 8 }, { bits: [true, false, false, false, false, false, false, false] }],
  ['vendor-examples.hex', 'FC05 pulse 700 ms', { fn: 'write_coil_value', unit: 1, address: 0x0200, value: 7 }, { written: true }],
];

describe('modbus-serial adapter against fixtures/serial', () => {
  it.each(table)('%s %s: writes the recorded request, decodes the recorded reply', async (file, _what, req, want) => {
    const { client, device } = await open([file]);
    const reply = await client.transact(req);
    expect(device.unexpected.map(hex)).toEqual([]);
    // coils come back a whole byte at a time: 8 bits for one coil
    expect(reply).toEqual(want);
  });

  it('an exception reply rejects with EXCEPTION and the slave\'s code', async () => {
    const { client } = await open(['exception-reply.hex']);
    await expect(client.transact({ fn: 'read_holding_registers', unit: 1, address: 0, count: 1 })).rejects.toSatisfy((e) => isDriverError(e, 'EXCEPTION') && e.modbusCode === 1);
    await expect(client.transact({ fn: 'write_register', unit: 10, address: 0x5e, value: 1 })).rejects.toSatisfy((e) => isDriverError(e, 'EXCEPTION') && e.modbusCode === 3);
  });

  it('a bad-CRC reply rejects with CRC', async () => {
    const { client } = await open(['bad-crc-reply.hex']);
    await expect(client.transact({ fn: 'read_coils', unit: 1, address: 0, count: 1 })).rejects.toSatisfy((e) => isDriverError(e, 'CRC'));
  });

  it('no reply rejects with TIMEOUT', async () => {
    const { client, device } = await open(['vendor-examples.hex'], 30);
    await expect(client.transact({ fn: 'read_coils', unit: 9, address: 0, count: 1 })).rejects.toSatisfy((e) => isDriverError(e, 'TIMEOUT'));
    expect(device.unexpected.length).toBe(1);
  });

  it('discardStaleBytes empties the library\'s receive buffer (bytes that came unasked)', async () => {
    const { client, device } = await open(['vendor-examples.hex']);
    const port = (client as unknown as { client: { _port: { _buffer: Buffer } } }).client._port;
    // half a frame arrives unasked: a late, truncated reply
    device.push(Buffer.from([0x01, 0x01, 0x01]));
    await expect.poll(() => port._buffer.length, { timeout: 5000 }).toBe(3);
    client.discardStaleBytes();
    expect(port._buffer.length).toBe(0);
    await expect(client.transact({ fn: 'read_coils', unit: 1, address: 0, count: 8 })).resolves.toMatchObject({ bits: [true, false, false, false, false, false, false, false] });
  });

  it('the internals it depends on are there in this modbus-serial, and a client without them is refused by name', async () => {
    const { client } = await open(['vendor-examples.hex']);
    expect(() => checkInternals((client as unknown as { client: Parameters<typeof checkInternals>[0] }).client)).not.toThrow();
    const bare = { _port: {}, writeCustomFC: undefined } as unknown as Parameters<typeof checkInternals>[0];
    expect(() => checkInternals(bare)).toThrow(/modbus-serial has changed: missing the port's _buffer.*writeCustomFC/);
    try {
      checkInternals(bare);
    } catch (e) {
      expect(isDriverError(e, 'CONFIG_INVALID')).toBe(true);
    }
  });

  it('maps the library\'s plain errors to DriverError codes', () => {
    expect(toDriverError(Object.assign(new Error('Timed out'), { name: 'TransactionTimedOutError' })).code).toBe('TIMEOUT');
    expect(toDriverError(Object.assign(new Error('Port Not Open'), { name: 'PortNotOpenError' })).code).toBe('PORT_UNAVAILABLE');
    expect(toDriverError(Object.assign(new Error('Modbus exception 2'), { modbusCode: 2 }))).toMatchObject({ code: 'EXCEPTION', modbusCode: 2 });
    expect(toDriverError(new Error('CRC error')).code).toBe('CRC');
    expect(toDriverError(new Error('Unexpected data')).code).toBe('BAD_REPLY');
    const own = new DriverError('QUEUE_FULL', 'x');
    expect(toDriverError(own)).toBe(own);
  });

  it('close() does not report the port as lost; a port that closes on its own does', async () => {
    const a = await open(['vendor-examples.hex']);
    await a.client.close();
    expect(a.events).toEqual([]);
    const b = await open(['vendor-examples.hex']);
    b.network.unplug('rs485');
    await expect.poll(() => b.events, { timeout: 5000 }).toContain('close');
  });
});
