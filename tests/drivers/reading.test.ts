import { describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { decodeReading, StableWeightTracker } from '../../drivers/scales/reading.ts';
import { crc16, withCrc } from '../../drivers/sim/rtu.ts';
import { parseTransportUrl } from '../../drivers/transport/url.ts';

const cfg = resolveDriversConfig({});
const map = cfg.scales.registers;

describe('decodeReading (default load-cell register map)', () => {
  const table: Array<[string, number, [number, number], number, boolean]> = [
    ['plain grams', 0x0000, [0x0000, 1234], 1234, false],
    ['one decimal', 0x0001, [0x0000, 12345], 1234.5, false],
    ['two decimals', 0x0002, [0x0000, 500], 5, false],
    ['int32 high word', 0x0000, [0x0001, 0x0000], 65536, false],
    ['two\'s complement negative', 0x0008, [0xffff, 0xfffb], -5, false],
    ['sign bit with magnitude', 0x0008, [0x0000, 5], -5, false],
    ['unstable bit', 0x0020, [0, 10], 10, true],
  ];
  it.each(table)('%s', (_n, status, regs, grams, unstable) => {
    const r = decodeReading(status, regs, map);
    expect(r.grams).toBeCloseTo(grams, 6);
    expect(r.unstable).toBe(unstable);
  });
  it('reads overload (bit 9) and overflow (bit 6)', () => {
    expect(decodeReading(1 << 9, [0, 0], map).overload).toBe(true);
    expect(decodeReading(1 << 6, [0, 0], map).overflow).toBe(true);
  });
});

describe('StableWeightTracker', () => {
  const t = () => new StableWeightTracker('A', { stable_window: 3, stable_band_g: 4, change_threshold_g: 6 });
  it('becomes ready, then reports one change between stable states', () => {
    const tr = t();
    const kinds = [100, 101, 99].flatMap((g) => tr.push(g, false)).map((o) => o.kind);
    expect(kinds).toEqual(['ready']);
    const out = [150, 130, 110, 350, 351, 349, 350].flatMap((g) => tr.push(g, false));
    expect(out.filter((o) => o.kind === 'change').map((o) => (o.kind === 'change' ? o.change.delta_g : 0))).toEqual([250]);
    expect(out.filter((o) => o.kind === 'motion')).toHaveLength(1);
  });
  it('the module\'s unstable bit blocks a stable state', () => {
    const tr = t();
    expect([100, 100, 100].flatMap((g) => tr.push(g, true))).toEqual([]);
    expect(tr.stableWeight).toBeNull();
  });
  it('absorbs small steps as drift', () => {
    const tr = t();
    [100, 100, 100].forEach((g) => tr.push(g, false));
    const out = [103, 103, 103, 103].flatMap((g) => tr.push(g, false));
    expect(out.every((o) => o.kind === 'drift')).toBe(true);
    expect(out.length).toBeGreaterThan(0);
    expect(tr.driftG).toBe(2); // steps under a third of the threshold stay in the baseline
    expect(tr.stableWeight).toBe(102);
  });
});

describe('wire helpers', () => {
  it('CRC of a known frame (01 03 00 00 00 01 → 84 0A)', () => {
    const f = withCrc(Uint8Array.of(1, 3, 0, 0, 0, 1));
    expect([...f.subarray(6)]).toEqual([0x84, 0x0a]);
    expect(crc16(f)).toBe(0); // a frame with its CRC checks to zero
  });
  it('parses transport URLs and refuses bad ones', () => {
    expect(parseTransportUrl('serial:///dev/ttyUSB0?baud=115200')).toMatchObject({ kind: 'serial', path: '/dev/ttyUSB0', baudRate: 115200 });
    expect(parseTransportUrl('tcp://192.168.1.50:4001')).toMatchObject({ kind: 'tcp', host: '192.168.1.50', port: 4001 });
    expect(parseTransportUrl('sim://rs485')).toMatchObject({ kind: 'sim', name: 'rs485' });
    expect(() => parseTransportUrl('udp://x:1')).toThrow(/unknown transport/);
    expect(() => parseTransportUrl('tcp://host')).toThrow(/host and port/);
  });
  it('config refuses duplicate slots and unknown keys', () => {
    expect(() => resolveDriversConfig({ scales: { list: [{ slot: 'A', unit_id: 2 }, { slot: 'A', unit_id: 3 }] } })).toThrow(/twice/);
    expect(() => resolveDriversConfig({ lock: { pulse: 3 } })).toThrow();
  });
});
