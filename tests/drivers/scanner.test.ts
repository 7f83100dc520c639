import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { ScanLineParser, type LineOutput } from '../../drivers/scanner/line-parser.ts';
import { ScannerDriver } from '../../drivers/scanner/scanner-driver.ts';
import { createSimulatedHardware } from '../../drivers/sim/hardware.ts';
import { captureLogger, until } from './helpers.ts';

const cfg = { max_line_length: 16, min_line_length: 4 };

describe('scan line parser', () => {
  const table: Array<[string, Buffer, LineOutput[]]> = [
    ['CR terminated', Buffer.from('VIL-0042\r'), [{ kind: 'code', code: 'VIL-0042' }]],
    ['LF terminated', Buffer.from('VIL-0042\n'), [{ kind: 'code', code: 'VIL-0042' }]],
    ['CRLF is one terminator', Buffer.from('AAAA\r\nBBBB\r\n'), [{ kind: 'code', code: 'AAAA' }, { kind: 'code', code: 'BBBB' }]],
    ['blank lines ignored', Buffer.from('\r\n\n\rCODE1\r'), [{ kind: 'code', code: 'CODE1' }]],
    ['overlong rejected, next line fine', Buffer.from('X'.repeat(40) + '\rGOOD1\r'), [{ kind: 'rejected', reason: 'too_long', length: 16 }, { kind: 'code', code: 'GOOD1' }]],
    ['non-printable rejected', Buffer.from([0x41, 0x42, 0x00, 0x43, 0x44, 0x0d]), [{ kind: 'rejected', reason: 'non_printable', length: 5 }]],
    ['high bytes rejected', Buffer.from([0x41, 0xff, 0x43, 0x44, 0x0d]), [{ kind: 'rejected', reason: 'non_printable', length: 4 }]],
    ['too short rejected', Buffer.from('AB\r'), [{ kind: 'rejected', reason: 'too_short', length: 2 }]],
    ['no terminator yet', Buffer.from('PARTIAL'), []],
  ];
  it.each(table)('%s', (_name, bytes, want) => {
    expect(new ScanLineParser(cfg).push(bytes)).toEqual(want);
  });

  it('assembles a line split over many chunks', () => {
    const p = new ScanLineParser(cfg);
    const out = [...'VIL-7\r'].flatMap((ch) => p.push(Buffer.from(ch)));
    expect(out).toEqual([{ kind: 'code', code: 'VIL-7' }]);
  });

  it('expires a partial line', () => {
    const p = new ScanLineParser(cfg);
    p.push(Buffer.from('HALF'));
    expect(p.expire()).toEqual({ kind: 'rejected', reason: 'timeout', length: 4 });
    expect(p.push(Buffer.from('FULL1\r'))).toEqual([{ kind: 'code', code: 'FULL1' }]);
  });
});

describe('scanner driver over the simulated port', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('emits code events, rejects noise, reconnects after unplug', async () => {
    const config = resolveDriversConfig({ scanner: { line_timeout_ms: 30, reconnect_initial_ms: 20 } });
    const hw = createSimulatedHardware({ config });
    const { logger } = captureLogger();
    const scanner = new ScannerDriver({ config: config.scanner, logger, simNetwork: hw.network });
    const codes: string[] = [];
    const rejected: string[] = [];
    scanner.on('code', (c) => codes.push(c.code));
    scanner.on('rejected', (r) => rejected.push(r.reason));
    await scanner.start();
    stop = () => scanner.stop();
    expect(hw.scanner.scan('VIL-0001')).toBe(true);
    hw.scanner.raw(Buffer.from([0x13, 0x88, 0x00, 0x0d]));
    hw.scanner.scan('CARD-778899', '\r\n');
    hw.scanner.raw(Buffer.from('DANGLING'));
    await until(() => rejected.length === 2, 2000, 'rejections');
    expect(codes).toEqual(['VIL-0001', 'CARD-778899']);
    expect(rejected).toEqual(['non_printable', 'timeout']);
    hw.unplug('scanner');
    await until(() => scanner.health === 'degraded', 2000, 'degraded');
    hw.plug('scanner');
    await until(() => scanner.health === 'up', 2000, 'up');
    hw.scanner.scan('VIL-0002');
    await until(() => codes.length === 3, 2000, 'code after reconnect');
    expect(scanner.counts.reconnects).toBeGreaterThanOrEqual(1);
  });
});
