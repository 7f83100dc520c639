/** A ledger API over a fresh database (SQLite, or a schema of its own on DATABASE_URL) for governance tests. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { silentLogger, type Logger } from '../../edge/log.ts';
import { buildLedgerApi, type ApiToken } from '../../cloud-sync/ledger/api.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { ensureDefaultItems } from '../../cloud-sync/ledger/governance/rules.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { tempLedgerDb, uid } from '../../harness/sync/rig.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { addStaff } from '../../cloud-sync/ledger/staff/accounts.ts';
import { hashPassword } from '../../lib/passwords.ts';

export const STAFF_PASSWORD = 'correct horse battery';
let hash: Promise<string> | undefined;
/**
 * One hash for every test account, at scrypt N=2^14 rather than 2^17: each login verifies it, and
 * at full cost a test of the lockout spends a minute hashing on a loaded machine.
 */
const staffHash = () => (hash ??= hashPassword(STAFF_PASSWORD, 2 ** 14));

/** Signs in by the staff login, as the page does: the cookie and the CSRF token it answers. */
export async function staffLogin(app: FastifyInstance, username: string, password: string): Promise<StaffSession> {
  const res = await app.inject({ method: 'POST', url: '/staff/login', payload: { username, password } });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = res.cookies.find((c) => c.name === 'ledger_staff')!.value;
  return { cookie, csrf: (res.json() as { csrf: string }).csrf, secret: res.cookies.find((c) => c.name === '_csrf')!.value };
}

/** A staff member signed in to the pages: the session cookie and its CSRF token, sent as a browser would. */
export interface StaffSession { cookie: string; csrf: string; /** the CSRF secret's cookie (`_csrf`), which a browser sends back by itself */ secret?: string }
/** Who calls: a bearer token, a staff session, or nobody. */
export type Caller = string | StaffSession | undefined;
const headersOf = (who: Caller): Record<string, string> =>
  who === undefined ? {} : typeof who === 'string' ? { authorization: `Bearer ${who}` } : { cookie: `ledger_staff=${who.cookie}${who.secret ? `; _csrf=${who.secret}` : ''}`, 'x-csrf-token': who.csrf };

export interface GovApp {
  app: FastifyInstance;
  db: SqlDb;
  a: string;
  b: string;
  /** Bearer tokens: town, village a, village b. */
  town: string;
  va: string;
  vb: string;
  call(token: Caller, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<LightMyRequestResponse>;
  /** POSTs `bytes` as the multipart file field `photo` (and other text fields) to `url`. */
  upload(token: Caller, url: string, bytes: Buffer, opts?: { filename?: string; type?: string; fields?: Record<string, string>; field?: string }): Promise<LightMyRequestResponse>;
  /** The public half of the ledger's QR key, as a store would install it. */
  qrPublic: KeyObject;
  /** The ledger's QR signing key, for codes the ledger itself would not issue. */
  qrPrivate: KeyObject;
  /** The SQLite ledger's file (its WAL beside it, `-wal`); undefined on PostgreSQL or a database given in `opts`. */
  sqliteFile: string | undefined;
  /** Registers a villager in `village` with a PIN and logs in: their session token. */
  villager(village: string, id: string): Promise<string>;
  /** Adds a staff account (town, or of `village`) and signs it in as a browser would. */
  staff(username: string, village?: string): Promise<StaffSession>;
  close(): Promise<void>;
}

/**
 * `service`: a running ledger service (end to end); else one never started (publications answer
 * false). `log`: the API's (silent without). `tokens`: bearer tokens besides the three unnamed
 * ones (town, village a, village b), made from the villages' ids (named tokens, say).
 */
export async function govApp(opts: { db?: SqlDb; service?: LedgerService; village?: string; noQrKey?: boolean; qrLifetimeS?: number; setupToken?: string; clock?: () => Date; log?: Logger; tokens?: (a: string, b: string) => ApiToken[] } = {}): Promise<GovApp> {
  const fresh = opts.db ? undefined : await tempLedgerDb();
  const db = opts.db ?? fresh!.db;
  await ensureDefaultItems(db, new Date());
  const service = opts.service ?? new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'unused' } });
  const a = opts.village ?? uid('va');
  const b = uid('vb');
  const [town, va, vb] = ['town-secret-0000', 'village-a-secret', 'village-b-secret'];
  const qr = generateKeyPairSync('ed25519');
  const app = buildLedgerApi({ db, service, log: opts.log ?? silentLogger(), qrKey: opts.noQrKey ? undefined : qr.privateKey, ...(opts.qrLifetimeS ? { qrLifetimeS: opts.qrLifetimeS } : {}), setupToken: opts.setupToken, ...(opts.clock ? { clock: opts.clock } : {}), tokens: [{ token: town, role: 'town' }, { token: va, role: 'village', village: a }, { token: vb, role: 'village', village: b }, ...(opts.tokens?.(a, b) ?? [])] });
  const call: GovApp['call'] = (token, method, url, payload) =>
    app.inject({ method, url, headers: headersOf(token), ...(payload === undefined ? {} : { payload: payload as object }) });
  // a village given is there already (a rig's own, under its own name)
  for (const v of opts.village ? [b] : [a, b]) {
    const r = await call(town, 'POST', '/api/villages', { id: v, name: '村' });
    expect([201]).toContain(r.statusCode);
  }
  const upload: GovApp['upload'] = (token, url, bytes, o = {}) => {
    const boundary = `----gov${Math.random().toString(16).slice(2)}`;
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries(o.fields ?? {})) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${o.field ?? 'photo'}"; filename="${o.filename ?? 'photo.jpg'}"\r\ncontent-type: ${o.type ?? 'image/jpeg'}\r\n\r\n`), bytes, Buffer.from(`\r\n--${boundary}--\r\n`));
    return app.inject({ method: 'POST', url, payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headersOf(token) } });
  };
  return {
    app, db, a, b, town, va, vb, call, upload, qrPublic: qr.publicKey, qrPrivate: qr.privateKey, sqliteFile: fresh?.where.sqliteFile || undefined,
    async villager(village, id) {
      const staff = village === a ? va : vb;
      expect((await call(staff, 'PUT', `/api/villages/${village}/villagers/${id}`, { name: `村民${id}` })).statusCode).toBe(200);
      expect((await call(staff, 'PUT', `/api/villages/${village}/villagers/${id}/pin`, { pin: '2468' })).statusCode).toBe(200);
      const login = await call(undefined, 'POST', '/api/villager/login', { village, villager: id, pin: '2468' });
      expect(login.statusCode).toBe(200);
      return (login.json() as { token: string }).token;
    },
    async staff(username, village) {
      await addStaff(db, { username, display_name: `工作人员${username}`, role: village ? 'village' : 'town', village: village ?? null, password_hash: await staffHash() }, 'test', new Date());
      return staffLogin(app, username, STAFF_PASSWORD);
    },
    async close() {
      await app.close();
      await fresh?.drop();
    },
  };
}

/** Every route as `METHOD /full/path`, from fastify's route tree. */
export function routesOf(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line.replace(/\u00a0/g, ' '));
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) out.push(`${method} ${stack.join('')}`);
  }
  return out;
}
