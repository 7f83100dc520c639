/**
 * A store or the village ledger that cannot reach its broker (a wrong password, a CA that did not
 * sign the broker's certificate, nothing listening) says so: the first failure and each change of
 * reason are logged in both languages, a reason that goes on is not logged at every attempt, the
 * password never appears, and the last failure is kept for /api/sync and /healthz (the store's) and
 * /api/villages/:v/sync (the ledger's).
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../edge/log.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { healthLine } from '../../cloud-sync/agent/state.ts';
import { makeTestCerts, removeTestCerts, startLockedBroker } from '../../harness/sync/tls-broker.ts';
import { tempLedgerDb, uid, waitFor } from '../../harness/sync/rig.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { addVillage } from '../../cloud-sync/ledger/tables.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';

const certs = makeTestCerts();
afterAll(() => removeTestCerts(certs));

function capture() {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); done(); } });
  return { log: createLogger({ level: 'info', pretty: false }, out), lines, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}
const warnings = (lines: Record<string, unknown>[]) => lines.filter((l) => (l.level as number) >= 40);

describe('a client the broker refuses', () => {
  it('logs a wrong password once (not at every attempt), never the password, then the change of reason', async () => {
    const broker = await startLockedBroker({ username: 'store', password: 's3cret' });
    const cap = capture();
    const m = new SyncMqtt({ url: broker.url, clientId: uid('fail-'), username: 'store', password: 'Wrong-Secret-42', persistentSession: false, reconnectMs: 50, log: cap.log });
    try {
      m.start([]);
      await waitFor('five refused attempts', () => (m.lastError?.attempts ?? 0) >= 5);
      expect(m.lastError).toMatchObject({ reason: 'bad_credentials' });
      expect(m.lastError?.message).toMatch(/user name or password.*用户名或密码/);
      const refused = warnings(cap.lines);
      expect(refused, cap.text()).toHaveLength(1);
      expect(refused[0]).toMatchObject({ level: 50, reason: 'bad_credentials', broker: broker.url.replace(/$/, '') });
      expect(refused[0]!.msg).toMatch(/MQTT.*消息服务器/);
      expect(cap.text()).not.toContain('Wrong-Secret-42');

      // the broker goes away: another reason, logged at once
      await broker.close();
      await waitFor('connection refused', () => m.lastError?.reason === 'connection_refused');
      await waitFor('logged', () => warnings(cap.lines).length === 2);
      expect(warnings(cap.lines)[1]).toMatchObject({ reason: 'connection_refused', level: 40 });
    } finally {
      await m.stop();
    }
  });

  it('logs a broker certificate its CA did not sign, and shows it in the store\'s health line', async () => {
    const broker = await startLockedBroker({ certs });
    const cap = capture();
    const m = new SyncMqtt({ url: broker.url, clientId: uid('fail-'), caFile: certs.otherCa, persistentSession: false, reconnectMs: 50, log: cap.log });
    try {
      m.start([]);
      await waitFor('refused certificate', () => m.lastError !== undefined);
      expect(m.lastError).toMatchObject({ reason: 'certificate_untrusted' });
      await waitFor('logged', () => warnings(cap.lines).length === 1);
      expect(warnings(cap.lines)[0]!.msg).toMatch(/not trusted.*不受信任/);
      const line = healthLine({ connected: false, outbox_pending: 0, last_acked_seq: 0, inbound_seq: 0, last_contact: null, refused: {}, last_error: m.lastError ?? null });
      expect(line).toMatchObject({ status: 'degraded' });
      expect(line.detail).toMatch(/disconnected.*certificate_untrusted.*不受信任/);
    } finally {
      await m.stop();
      await broker.close();
    }
  });

  it('connects with the right CA and says nothing', async () => {
    const broker = await startLockedBroker({ certs, clientCerts: true });
    const cap = capture();
    const m = new SyncMqtt({ url: broker.url, clientId: uid('ok-'), caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey, persistentSession: false, reconnectMs: 50, log: cap.log });
    try {
      const up = new Promise<void>((resolve) => m.once('connect', () => resolve()));
      m.start([]);
      await up;
      expect(m.lastError).toBeUndefined();
      expect(warnings(cap.lines), cap.text()).toEqual([]);
    } finally {
      await m.stop();
      await broker.close();
    }
  });

  it('refuses TLS files with a plain mqtt:// URL instead of sending the password in clear', () => {
    const m = new SyncMqtt({ url: 'mqtt://127.0.0.1:1', clientId: uid('plain-'), username: 'store', password: 'secret', caFile: certs.ca });
    expect(() => m.start([])).toThrow(/caFile given, but url .* is not TLS/);
  });

  it('the village ledger refused by its broker shows why on /api/villages/:v/sync, as the store\'s /api/sync does (last_error), to the village and the town, never the password', async () => {
    const broker = await startLockedBroker({ username: 'ledger', password: 's3cret' });
    const { db, drop } = await tempLedgerDb();
    const village = uid('v');
    await addVillage(db, village, '示范村', new Date().toISOString());
    const service = new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: capture().log, mqtt: { url: broker.url, clientId: uid('ledger-'), username: 'ledger', password: 'Wrong-Secret-42', reconnectMs: 50 } });
    const app = buildLedgerApi({ db, service, log: capture().log, tokens: [{ token: 'town-secret', role: 'town' }, { token: 'v-secret', role: 'village', village }] });
    const sync = async (token: string) => (await app.inject({ method: 'GET', url: `/api/villages/${village}/sync`, headers: { authorization: `Bearer ${token}` } })).json<Record<string, unknown>>();
    try {
      // not started yet: nothing failed
      expect(await sync('v-secret')).toMatchObject({ connected: false, last_error: null });
      service.start();
      await waitFor('two refused attempts', async () => ((await sync('v-secret')).last_error as { attempts?: number } | null)?.attempts !== undefined && ((await sync('v-secret')).last_error as { attempts: number }).attempts >= 2);
      for (const token of ['v-secret', 'town-secret']) {
        const s = await sync(token);
        expect(s).toMatchObject({ connected: false, last_error: { reason: 'bad_credentials', message: expect.stringMatching(/user name or password.*用户名或密码/) as string, since: expect.any(String) as string, attempts: expect.any(Number) as number } });
        expect(JSON.stringify(s)).not.toContain('Wrong-Secret-42');
      }
    } finally {
      await service.stop();
      await app.close();
      await broker.close();
      await drop();
    }
  });
});
