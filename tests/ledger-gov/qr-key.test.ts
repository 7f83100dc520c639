/** The ledger's QR key option: a clear bilingual refusal for a missing or wrong key, before anything starts. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.ts';
import { runLedger } from '../../cloud-sync/ledger/run.ts';
import { qrIssuer } from '../../cloud-sync/ledger/governance/qr.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';

describe('the ledger’s QR signing key', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ledger-qr-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'ledger-key.pem');
  writeFileSync(keyFile, newKeyPair().privatePem);
  const tokensFile = path.join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
  const start = (qrKeyFile: string) => runLedger({ brokerUrl: 'mqtt://127.0.0.1:1', sqliteFile: path.join(dir, 'l.sqlite'), keyFile, keyId: 'k1', tokensFile, host: '127.0.0.1', port: 0, log: silentLogger(), qrKeyFile });

  it('refuses a missing file, an RSA key and a public key, naming the file', async () => {
    const rsa = path.join(dir, 'rsa.pem');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const pub = path.join(dir, 'pub.pem');
    writeFileSync(pub, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    await expect(start(path.join(dir, 'nope.pem'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('nope.pem'), zh: expect.stringContaining('二维码签名私钥') });
    await expect(start(rsa)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('rsa'), zh: '二维码签名私钥不是 Ed25519 PEM 格式' });
    await expect(start(pub)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', zh: '二维码签名私钥不是 Ed25519 PEM 格式' });
    expect(() => qrIssuer(generateKeyPairSync('ed25519').publicKey)).toThrow(expect.objectContaining({ zh: expect.stringContaining('Ed25519 私钥') }));
  });

  it('starts with a good key and hands out its public half', async () => {
    const pair = generateKeyPairSync('ed25519');
    const good = path.join(dir, 'qr.pem');
    writeFileSync(good, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const run = await start(good);
    try {
      const res = await fetch(`${run.url}/api/qr-public-key`, { headers: { authorization: 'Bearer town-token-0123456789' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(pair.publicKey.export({ type: 'spki', format: 'pem' }));
    } finally {
      await run.stop();
    }
  });
});
