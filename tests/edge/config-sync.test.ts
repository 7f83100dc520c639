/**
 * The store's `sync.*` config checked at load like the rest of the file (CONFIG_INVALID, exit 2,
 * both languages, naming the key): a broker URL that is not one (the same rule as the ledger's
 * --broker), TLS files with a plain mqtt:// URL, TLS files that are not there; and those files
 * found beside the config file, as http.tls_cert/tls_key are.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../edge/config/load.ts';
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
