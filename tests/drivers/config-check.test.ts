/**
 * A drivers section whose values the schema's types cannot catch (a transport URL that does
 * not parse, a scale list that cannot work on its bus) is refused by validateConfig, before
 * anything starts: CONFIG_INVALID in Chinese and English, exit 2, never an internal error.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../edge/config/load.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('drivers-config-');
afterAll(() => t.cleanup());

function refusal(drivers: unknown): { message: string; zh: string } {
  try {
    validateConfig({ drivers });
  } catch (err) {
    if (isEdgeError(err, 'CONFIG_INVALID')) return { message: err.message, zh: err.zh ?? '' };
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(drivers)}`);
}

/** `store-edge start --config FILE`: its exit code and stderr (a daemon that starts after all is stopped: its exit is then 0). */
function startWith(yaml: string): Promise<{ code: number | null; err: string }> {
  const file = path.join(t.dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `data_dir: ${JSON.stringify(path.join(t.dir, 'data'))}\ndemo: true\ndemo_loop: false\nhttp: { port: 0 }\n${yaml}\n`);
  const child = spawn(process.execPath, [bin, 'start', '--config', file], { env: { ...process.env, STORE_EDGE_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (out.includes('"url":"http')) child.kill('SIGTERM');
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, err })));
}

describe('drivers config checks in validateConfig', () => {
  it('refuses a transport URL with a bad baud rate, naming the key, in both languages', () => {
    const r = refusal({ lock: { transport: 'serial:///dev/ttyUSB0?baud=abc' } });
    expect(r.message).toContain('drivers.lock.transport');
    expect(r.message).toContain('baud');
    expect(r.zh).toContain('波特率');
  });

  it('refuses a scale list with a slot twice, in both languages', () => {
    const r = refusal({ scales: { list: [{ slot: 'A1', unit_id: 11 }, { slot: 'A1', unit_id: 12 }] } });
    expect(r.message).toContain('slot A1 appears twice');
    expect(r.zh).toContain('货位 A1 重复');
  });

  it('store-edge start with such a config: exit 2, CONFIG_INVALID, no internal error', async () => {
    const { code, err } = await startWith('drivers: { scanner: { transport: "tcp://10.0.0.9" } }');
    expect(code, err).toBe(2);
    expect(err).toContain('CONFIG_INVALID');
    expect(err).toContain('drivers.scanner.transport');
    expect(err).toContain('须有主机和端口');
    expect(err).not.toContain('内部错误');
  }, 120_000);
});

describe('transport URL parameters', () => {
  it.each([
    ['lock', 'serial:///dev/ttyUSB0?baud=9600&partiy=even', 'partiy'],
    ['scales', 'serial:///dev/ttyUSB0?bauds=19200', 'bauds'],
    ['scanner', 'tcp://192.168.1.50:4001?baud=9600', 'baud'],
    ['lock', 'sim://rs485?stop=2', 'stop'],
    ['lock', 'serial:///dev/ttyUSB0?baud=9600&baud=19200', 'baud'],
  ])('drivers.%s.transport %s is refused, naming "%s", in both languages', (part, url, key) => {
    const r = refusal({ [part]: { transport: url } });
    expect(r.message).toContain(`drivers.${part}.transport`);
    expect(r.message).toContain(`"${key}"`);
    expect(r.zh).toContain(`参数 ${key}`);
  });

  it('the parameters each scheme reads are still accepted', () => {
    const c = validateConfig({ drivers: { lock: { transport: 'serial:///dev/ttyUSB0?baud=19200&parity=even&stop=2' }, scales: { transport: 'serial:///dev/ttyUSB0?baud=19200&parity=even&stop=2' }, scanner: { transport: 'tcp://192.168.1.50:4001' } } });
    expect(c.drivers.lock.transport).toContain('parity=even');
  });
});

describe('a scale on the relay board\'s unit id', () => {
  it('is refused when the scales share the lock\'s bus, even written with other parameters, in both languages', () => {
    const r = refusal({ lock: { transport: 'serial:///dev/ttyUSB0?baud=9600', unit_id: 3 }, scales: { transport: 'serial:///dev/ttyUSB0', list: [{ slot: 'A1', unit_id: 11 }, { slot: 'B2', unit_id: 3 }] } });
    expect(r.message).toContain('slot B2');
    expect(r.message).toContain('unit_id 3');
    expect(r.zh).toContain('与同一总线上的门锁继电器板');
    expect(refusal({ scales: { list: [{ slot: 'A1', unit_id: 1 }] } }).message).toContain('drivers.lock.unit_id');
  });

  it('is accepted on another bus', () => {
    const c = validateConfig({ drivers: { lock: { transport: 'serial:///dev/ttyUSB0', unit_id: 1 }, scales: { transport: 'serial:///dev/ttyUSB1', list: [{ slot: 'A1', unit_id: 1 }] } } });
    expect(c.drivers.scales.list).toHaveLength(1);
  });
});
