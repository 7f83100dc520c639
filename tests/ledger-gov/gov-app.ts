/** A ledger API over a fresh database (SQLite, or a schema of its own on DATABASE_URL) for governance tests. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { silentLogger } from '../../edge/log.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { ensureDefaultItems } from '../../cloud-sync/ledger/governance/rules.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { tempLedgerDb, uid } from '../../harness/sync/rig.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';

export interface GovApp {
  app: FastifyInstance;
  db: SqlDb;
  a: string;
  b: string;
  /** Bearer tokens: town, village a, village b. */
  town: string;
  va: string;
  vb: string;
  call(token: string | undefined, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<LightMyRequestResponse>;
  /** POSTs `bytes` as the multipart file field `photo` (and other text fields) to `url`. */
  upload(token: string | undefined, url: string, bytes: Buffer, opts?: { filename?: string; type?: string; fields?: Record<string, string>; field?: string }): Promise<LightMyRequestResponse>;
  /** The public half of the ledger's QR key, as a store would install it. */
  qrPublic: KeyObject;
  /** Registers a villager in `village` with a PIN and logs in: their session token. */
  villager(village: string, id: string): Promise<string>;
  close(): Promise<void>;
}

/** `service`: a running ledger service (end to end); else one never started (publications answer false). */
export async function govApp(opts: { db?: SqlDb; service?: LedgerService; village?: string; noQrKey?: boolean; qrLifetimeS?: number } = {}): Promise<GovApp> {
  const fresh = opts.db ? undefined : await tempLedgerDb();
  const db = opts.db ?? fresh!.db;
  await ensureDefaultItems(db, new Date());
  const service = opts.service ?? new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'unused' } });
  const a = opts.village ?? uid('va');
  const b = uid('vb');
  const [town, va, vb] = ['town-secret-0000', 'village-a-secret', 'village-b-secret'];
  const qr = generateKeyPairSync('ed25519');
  const app = buildLedgerApi({ db, service, log: silentLogger(), qrKey: opts.noQrKey ? undefined : qr.privateKey, ...(opts.qrLifetimeS ? { qrLifetimeS: opts.qrLifetimeS } : {}), tokens: [{ token: town, role: 'town' }, { token: va, role: 'village', village: a }, { token: vb, role: 'village', village: b }] });
  const call: GovApp['call'] = (token, method, url, payload) =>
    app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });
  for (const v of [a, b]) {
    const r = await call(town, 'POST', '/api/villages', { id: v, name: '村' });
    expect([201]).toContain(r.statusCode);
  }
  const upload: GovApp['upload'] = (token, url, bytes, o = {}) => {
    const boundary = `----gov${Math.random().toString(16).slice(2)}`;
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries(o.fields ?? {})) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${o.field ?? 'photo'}"; filename="${o.filename ?? 'photo.jpg'}"\r\ncontent-type: ${o.type ?? 'image/jpeg'}\r\n\r\n`), bytes, Buffer.from(`\r\n--${boundary}--\r\n`));
    return app.inject({ method: 'POST', url, payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  };
  return {
    app, db, a, b, town, va, vb, call, upload, qrPublic: qr.publicKey,
    async villager(village, id) {
      const staff = village === a ? va : vb;
      expect((await call(staff, 'PUT', `/api/villages/${village}/villagers/${id}`, { name: `村民${id}` })).statusCode).toBe(200);
      expect((await call(staff, 'PUT', `/api/villages/${village}/villagers/${id}/pin`, { pin: '2468' })).statusCode).toBe(200);
      const login = await call(undefined, 'POST', '/api/villager/login', { village, villager: id, pin: '2468' });
      expect(login.statusCode).toBe(200);
      return (login.json() as { token: string }).token;
    },
    async close() {
      await app.close();
      await fresh?.drop();
    },
  };
}
