/**
 * Where the admin page listens: loopback by default; another address only once an admin
 * account exists, with a warning when TLS is off; HTTPS with a Secure cookie when a
 * certificate is configured.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import path from 'node:path';
import { pino } from 'pino';
import { HttpServer, isLoopback } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount } from './admin-auth.ts';

const ledgers: Array<ReturnType<typeof tempLedger>> = [];
afterAll(() => ledgers.forEach((l) => l.cleanup()));

function server(http: { host: string; tls_cert?: string; tls_key?: string }) {
  const ledger = tempLedger();
  ledgers.push(ledger);
  const lines: Array<{ level: number; msg: string; setup_url?: string }> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as { level: number; msg: string }) });
  const s = new HttpServer({ port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9, ...http }, { dataDir: ledger.dir, store: { id: 's', village: 'v', name: '积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 } }, log);
  return { s, db: ledger.db, dir: ledger.dir, lines };
}

describe('binding', () => {
  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.0.1.1', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.20', '127.0.0.1.evil'].some(isLoopback)).toBe(false);
  });

  it('on loopback with no account: serves, and logs the setup link with its one-time token', async () => {
    const { s, lines } = server({ host: '127.0.0.1' });
    await s.start();
    try {
      expect(s.setupUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/setup\?token=[\w-]{20,}$/);
      expect(lines.find((l) => l.setup_url)?.setup_url).toBe(s.setupUrl);
      expect((await fetch(s.setupUrl!)).status).toBe(200);
      expect((await fetch(new URL('/setup', s.address))).status).toBe(403);
      // a token of the same length in characters but not in bytes is a refusal, not a crash
      const token = new URL(s.setupUrl!).searchParams.get('token')!;
      expect((await fetch(new URL(`/setup?token=${encodeURIComponent('王'.repeat(token.length))}`, s.address))).status).toBe(403);
      expect(lines.some((l) => l.msg.includes('TLS is off'))).toBe(false);
    } finally {
      await s.stop();
    }
  });

  it('refuses another address before an account exists (CONFIG_INVALID, bilingual); with one, serves it and warns that TLS is off', async () => {
    const { s, db, lines } = server({ host: '0.0.0.0' });
    const err = await s.start().then(() => undefined, (e: unknown) => e);
    expect(isEdgeError(err, 'CONFIG_INVALID'), String(err)).toBe(true);
    expect((err as { zh: string }).zh).toContain('还没有管理账号');
    await createAccount(db);
    await s.start();
    try {
      expect(s.setupUrl).toBeUndefined();
      const warn = lines.find((l) => l.msg.includes('TLS is off'));
      expect(warn?.level).toBe(40);
      expect(warn?.msg).toContain('未启用 TLS');
      expect((await fetch(new URL('/board', s.address))).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('serves HTTPS with http.tls_cert and http.tls_key, with a Secure cookie; one without the other is refused', async () => {
    const half = server({ host: '127.0.0.1', tls_cert: '/nonexistent.pem' });
    expect(await half.s.start().then(() => undefined, (e: unknown) => (e as { code: string }).code)).toBe('CONFIG_INVALID');

    const ledger = tempLedger();
    ledgers.push(ledger);
    const dir = ledger.dir;
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tls = new HttpServer({ host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9, tls_cert: cert, tls_key: key }, { dataDir: dir, store: { id: 's', village: 'v', name: '积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 } }, pino({ level: 'silent' }));
    await tls.start();
    try {
      expect(tls.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      const res = await new Promise<{ status: number; cookie: string[] }>((resolve, reject) => {
        const r = request(new URL('/api/me', tls.address), { rejectUnauthorized: false }, (m) => {
          m.resume();
          resolve({ status: m.statusCode ?? 0, cookie: (m.headers['set-cookie'] ?? []) as string[] });
        });
        r.on('error', reject);
        r.end();
      });
      expect(res.status).toBe(200);
      // before signing in, the login form's cookie (edge/http/login-csrf.ts): Secure as the session's
      expect(res.cookie.find((c) => c.startsWith('store_login='))).toMatch(/; Secure/);
    } finally {
      await tls.stop();
    }
  });
});
