/**
 * The store's `sync.*` config checked at load like the rest of the file (CONFIG_INVALID, exit 2,
 * both languages, naming the key): a broker URL that is not one (the same rule as the ledger's
 * --broker), TLS files with a plain mqtt:// URL, TLS files that are not there; and those files
 * found beside the config file, as http.tls_cert/tls_key are.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, validateConfig } from '../../edge/config/load.ts';
import { ErrorCode, isEdgeError, type EdgeError } from '../../edge/errors.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('config-sync-');
afterAll(() => t.cleanup());
const pem = path.join(t.dir, 'ca.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');

function refusal(sync: Record<string, unknown>): EdgeError | undefined {
  try {
    validateConfig({ store: { id: 's1', village: 'v1' }, sync: { enabled: true, ...sync } });
  } catch (err) {
    if (isEdgeError(err)) return err;
    throw err;
  }
  return undefined;
}

describe('sync.broker_url', () => {
  it.each(['127.0.0.1:1883', 'not a url', 'http://broker.example:1883', 'mqtt://'])('refuses %j, naming the key in both languages', (url) => {
    const err = refusal({ broker_url: url });
    expect(err?.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err?.message).toContain('sync.broker_url');
    expect(err?.message).toContain('mqtt://127.0.0.1:1883');
    expect(err?.zh).toMatch(/sync\\.broker_url|代理地址/);
  });

  it.each(['mqtt://127.0.0.1:1883', 'mqtts://broker.example:8883', 'ws://127.0.0.1:9001', 'wss://broker.example/mqtt'])('takes %j', (url) => {
    expect(refusal({ broker_url: url })).toBeUndefined();
  });
});

describe('sync TLS files', () => {
  it('refuses them with a plain mqtt:// or ws:// broker_url (the CA would be ignored, the password sent in clear)', () => {
    for (const url of ['mqtt://127.0.0.1:1883', 'ws://127.0.0.1:9001']) {
      const err = refusal({ broker_url: url, ca_file: pem, username: 'store', password: 'secret' });
      expect(err?.code).toBe(ErrorCode.CONFIG_INVALID);
      expect(err?.message).toMatch(/sync\.ca_file.*sync\.broker_url.*not TLS/);
      expect(err?.zh).toContain('明文');
    }
    expect(refusal({ broker_url: 'mqtts://127.0.0.1:8883', ca_file: pem })).toBeUndefined();
  });

  it('refuses a certificate without its key', () => {
    expect(refusal({ broker_url: 'mqtts://127.0.0.1:8883', cert_file: pem })?.message).toMatch(/sync\.cert_file and sync\.key_file/);
  });
});

describe('sync TLS files on disk', () => {
  it('refuses a ca_file that does not exist, naming it', () => {
    const err = refusal({ broker_url: 'mqtts://127.0.0.1:8883', ca_file: path.join(t.dir, 'no-such-ca.pem') });
    expect(err?.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err?.message).toMatch(/sync\.ca_file .*no-such-ca\.pem/);
    expect(err?.zh).toContain('不存在');
  });

  it('finds them beside the config file, as http.tls_cert/tls_key, and not in the current folder', () => {
    const dir = path.join(t.dir, 'etc');
    mkdirSync(path.join(dir, 'tls'), { recursive: true });
    for (const f of ['ca.pem', 'c.pem', 'c.key']) writeFileSync(path.join(dir, 'tls', f), 'x');
    const file = path.join(dir, 'store.yaml');
    writeFileSync(file, 'store: { id: s1, village: v1 }\nsync: { enabled: true, broker_url: "mqtts://b:8883", ca_file: tls/ca.pem, cert_file: tls/c.pem, key_file: tls/c.key }\n');
    const { config } = loadConfig({ file, env: {} });
    expect({ ca: config.sync.ca_file, cert: config.sync.cert_file, key: config.sync.key_file })
      .toEqual({ ca: path.join(dir, 'tls/ca.pem'), cert: path.join(dir, 'tls/c.pem'), key: path.join(dir, 'tls/c.key') });
  });

  it('does not look for them while sync is off', () => {
    expect(() => validateConfig({ store: { id: 's1', village: 'v1' }, sync: { enabled: false, broker_url: 'mqtts://b:8883', ca_file: '/no/such/ca.pem' } })).not.toThrow();
  });
});
