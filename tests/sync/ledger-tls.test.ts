/**
 * `store-edge ledger serve` and a TLS broker with the town's own CA: the broker's CA, the
 * ledger's client certificate and its key are given by flag or environment (as a store's
 * sync.ca_file/cert_file/key_file), checked before anything starts (exit 2, naming the flag).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../ledger/helpers.ts';
import { waitFor } from '../../harness/sync/rig.ts';
import { makeTestCerts, removeTestCerts, startLockedBroker } from '../../harness/sync/tls-broker.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('ledger-tls-');
const certs = makeTestCerts();
const kids: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  removeTestCerts(certs);
  t.cleanup();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '', MQTT_CA_FILE: '', MQTT_CERT_FILE: '', MQTT_KEY_FILE: '', STORE_EDGE_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  kids.push(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out };
}

async function common(name: string, broker: string): Promise<string[]> {
  const key = path.join(t.dir, `${name}-key.pem`);
  expect(await run(['ledger', 'keygen', '--out', key]).exited).toBe(0);
  const tokens = path.join(t.dir, `${name}-tokens.json`);
  writeFileSync(tokens, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
  return ['--broker', broker, '--db', path.join(t.dir, `${name}.sqlite`), '--key-file', key, '--tokens-file', tokens, '--port', '0'];
}

describe('ledger serve on a TLS broker', () => {
  it('reaches a broker that asks for a client certificate, with --broker-ca-file/--broker-cert-file/--broker-key-file', async () => {
    const broker = await startLockedBroker({ certs, clientCerts: true });
    try {
      const served = run(['ledger', 'serve', ...(await common('flags', broker.url)), '--broker-ca-file', certs.ca, '--broker-cert-file', certs.clientCert, '--broker-key-file', certs.clientKey]);
      await waitFor('the ledger connected', () => broker.connected.some((id) => id.startsWith('ledger-')) || served.child.exitCode !== null, 60_000);
      expect(broker.connected.some((id) => id.startsWith('ledger-')), served.out()).toBe(true);
      served.child.kill('SIGTERM');
      expect(await served.exited, served.out()).toBe(0);
    } finally {
      await broker.close();
    }
  }, 120_000);

  it('takes the CA from MQTT_CA_FILE', async () => {
    const broker = await startLockedBroker({ certs });
    try {
      const served = run(['ledger', 'serve', ...(await common('env', broker.url))], { MQTT_CA_FILE: certs.ca });
      await waitFor('the ledger connected', () => broker.connected.some((id) => id.startsWith('ledger-')) || served.child.exitCode !== null, 60_000);
      expect(broker.connected.some((id) => id.startsWith('ledger-')), served.out()).toBe(true);
      served.child.kill('SIGTERM');
      expect(await served.exited, served.out()).toBe(0);
    } finally {
      await broker.close();
    }
  }, 120_000);

  it('refuses a TLS file that is not there, TLS files with mqtt://, and a certificate without its key (exit 2, naming them)', async () => {
    const tls = await common('bad-tls', 'mqtts://127.0.0.1:8883');
    const plain = await common('bad-plain', 'mqtt://127.0.0.1:1883');
    const cases: [string[], NodeJS.ProcessEnv, RegExp[]][] = [
      [[...tls, '--broker-ca-file', path.join(t.dir, 'no-such-ca.pem')], {}, [/--broker-ca-file .*: no such file/, /文件不存在/]],
      [tls, { MQTT_CERT_FILE: path.join(t.dir, 'nope.pem') }, [/MQTT_CERT_FILE .*: no such file/]],
      [[...plain, '--broker-ca-file', certs.ca], {}, [/--broker-ca-file given, but --broker "mqtt:\/\/127\.0\.0\.1:1883" is not TLS/, /明文/]],
      [[...tls, '--broker-cert-file', certs.clientCert], {}, [/--broker-cert-file and --broker-key-file go together/, /同时/]],
    ];
    for (const [args, env, says] of cases) {
      const r = run(['ledger', 'serve', ...args], env);
      expect(await r.exited, r.out()).toBe(2);
      for (const s of says) expect(r.out()).toMatch(s);
    }
  }, 120_000);
});
