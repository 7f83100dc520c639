import { describe, it, expect, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, validateConfig } from '../../edge/config/load.ts';
import { ErrorCode, isEdgeError } from '../../edge/errors.ts';
import { tempDir } from '../ledger/helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isEdgeError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

describe('config', () => {
  it('defaults are the demo when there is no file', () => {
    const { config, file } = loadConfig({ env: {} });
    expect(file).toBeNull();
    expect(config.demo).toBe(true);
    expect(config.http.port).toBe(8080);
    expect(config.drivers.simulated).toBe(true);
    expect(path.isAbsolute(config.data_dir)).toBe(true);
  });

  it('reads YAML, resolves data_dir next to the file, and lets documented environment variables override', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'store.yaml');
    writeFileSync(file, 'data_dir: ./d\nstore:\n  id: qianjin-1\nhttp:\n  port: 9000\n');
    const { config } = loadConfig({ file, env: { STORE_EDGE_HTTP_PORT: '9100', STORE_EDGE_LOG_LEVEL: 'debug' } });
    expect(config.data_dir).toBe(path.join(t.dir, 'd'));
    expect(config.store.id).toBe('qianjin-1');
    expect(config.http.port).toBe(9100);
    expect(config.log.level).toBe('debug');
    expect(config.demo).toBe(false);
  });

  it('an unknown key is refused, naming the key', () => {
    const e = errorOf(() => validateConfig({ http: { prot: 80 } }));
    expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(e.message).toContain('unknown key "http.prot"');
    expect(errorOf(() => validateConfig({ colour: 'red' })).message).toContain('unknown key "colour"');
  });

  it('a loose face threshold below the strict one is refused, naming both keys', () => {
    const e = errorOf(() => validateConfig({ entry: { match: { threshold: 0.3, uncertain_threshold: 0.2 } } }));
    expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(e.message).toContain('entry.match.uncertain_threshold (0.2) must not be below entry.match.threshold (0.3)');
  });

  it('a wrong type is refused, naming the key and the expected type', () => {
    const e = errorOf(() => validateConfig({ http: { port: 'eighty' } }));
    expect(e.message).toContain('"http.port" must be of type integer');
    expect(errorOf(() => validateConfig({ ledger: { credit_floor: 5 } })).message).toContain('"ledger.credit_floor"');
    expect(errorOf(() => validateConfig({ log: { level: 'loud' } })).message).toContain('"log.level"');
    expect(errorOf(() => validateConfig([])).code).toBe(ErrorCode.CONFIG_INVALID);
  });

  it('a time zone or a cron expression the jobs cannot use is refused at load, naming the key', () => {
    const tz = errorOf(() => validateConfig({ jobs: { timezone: 'Asia/Shanghia' } }));
    expect(tz.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(tz.message).toContain('jobs.timezone');
    for (const job of ['backup', 'retention', 'reconcile', 'auto_zero']) {
      const e = errorOf(() => validateConfig({ jobs: { [job]: { cron: '30 2 * *x' } } }));
      expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
      expect(e.message).toContain(`jobs.${job}.cron`);
    }
    expect(validateConfig({ jobs: { timezone: 'Asia/Shanghai', backup: { cron: 'off' } } }).jobs.backup.cron).toBe('off');
  });

  it('bad files and bad environment values are clear errors', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const broken = path.join(t.dir, 'broken.yaml');
    writeFileSync(broken, 'http: [unclosed\n');
    expect(errorOf(() => loadConfig({ file: broken, env: {} })).code).toBe(ErrorCode.CONFIG_UNREADABLE);
    expect(errorOf(() => loadConfig({ file: path.join(t.dir, 'missing.yaml'), env: {} })).code).toBe(ErrorCode.CONFIG_UNREADABLE);
    const scalar = path.join(t.dir, 'scalar.yaml');
    writeFileSync(scalar, '42\n');
    expect(errorOf(() => loadConfig({ file: scalar, env: {} })).code).toBe(ErrorCode.CONFIG_INVALID);
    expect(errorOf(() => loadConfig({ env: { STORE_EDGE_HTTP_PORT: '80a' } })).message).toContain('STORE_EDGE_HTTP_PORT');
  });
});

describe('docs/config.md', () => {
  it('is generated from the schema and up to date (run `npm run docs:config`)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderConfigDoc } = await import('../../edge/config/doc.ts');
    const onDisk = readFileSync(path.resolve(import.meta.dirname, '../../docs/config.md'), 'utf8');
    expect(onDisk).toBe(renderConfigDoc());
  });
});
