/**
 * `store-edge ledger serve` and `ledger staff …` with a DATABASE_URL that cannot be used (no such
 * database, nothing listening, a role the server refuses, not a PostgreSQL URL): each names
 * DATABASE_URL and what is wrong with it in both languages, masks the password, exits 1 (2 for a
 * URL that is not one), and prints no stack trace.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('ledger-db-url-');
// the project's PostgreSQL (docs/operations.md); only its host and port are used
const server = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test');
let key = '';
let tokens = '';
let closedPort = 0;
/** A server that takes the connection and never answers, as a host that drops packets after the handshake. */
const held = new Set<Socket>();
const silent = createServer((socket) => {
  held.add(socket);
  socket.on('close', () => held.delete(socket));
});
let silentPort = 0;

function run(args: string[], databaseUrl: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

beforeAll(async () => {
  key = path.join(t.dir, 'ledger-key.pem');
  expect((await run(['ledger', 'keygen', '--out', key], '')).code).toBe(0);
  tokens = path.join(t.dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
  // a port nothing listens on: one the system gave and took back
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  t.cleanup();
});

const commands = (): string[][] => [
  ['ledger', 'serve', '--key-file', key, '--tokens-file', tokens, '--port', '0', '--broker', 'mqtt://127.0.0.1:1883'],
  ['ledger', 'staff', 'list'],
];

describe('ledger commands with a DATABASE_URL that cannot be used', () => {
  const cases = (): [string, string, string, string][] => [
    ['no such database', `postgres://postgres:sekrit@${server.host}/nosuchdb_${process.pid}`, 'does not exist', '不存在'],
    ['nothing listening', `postgres://postgres:sekrit@127.0.0.1:${closedPort}/test`, 'cannot connect', '无法连接'],
    ['a role the server refuses', `postgres://nosuchrole_${process.pid}:sekrit@${server.host}/test`, 'refused the login', '拒绝登录'],
  ];
  // without a connect timeout the ledger waited for such a server for ever (the default is 10 s; 1 s here)
  const silentCase = (): [string, string, string, string][] => [
    ['a server that never answers', `postgres://postgres:sekrit@127.0.0.1:${silentPort}/test?connect_timeout=1`, 'did not answer within 1 s', '1 秒内没有应答'],
  ];
  it.each([['cannot be reached or refuses', cases], ['takes the connection and never answers', silentCase]])('a server that %s: names DATABASE_URL and what is wrong, masks the password, exits 1, no stack trace', async (_name, which) => {
    const runs = which().flatMap(([what, url, en, zh]) => commands().map((args) => ({ what, args, en, zh, r: run(args, url) })));
    for (const { what, args, en, zh, r } of runs) {
      const { code, out } = await r;
      const label = `${what}: ${args.slice(0, 3).join(' ')}: ${out}`;
      expect(code, label).toBe(1);
      expect(out, label).toContain('DATABASE_URL');
      expect(out, label).toContain(en);
      expect(out, label).toContain(zh);
      expect(out, label).toContain(':***@');
      expect(out, label).not.toContain('sekrit');
      expect(out, label).not.toContain('internal error');
      expect(out, label).not.toMatch(/\n\s+at /);
    }
  }, 180_000);

  it('a DATABASE_URL that is not a PostgreSQL URL is bad input (exit 2), said before anything starts', async () => {
    const runs = ['notaurl', 'mysql://root:sekrit@127.0.0.1/test'].flatMap((url) => commands().map((args) => ({ url, args, r: run(args, url) })));
    for (const { url, args, r } of runs) {
      const { code, out } = await r;
      const label = `${url}: ${args.slice(0, 3).join(' ')}: ${out}`;
      expect(code, label).toBe(2);
      expect(out, label).toContain('DATABASE_URL');
      expect(out, label).toContain('postgres://');
      expect(out, label).not.toContain('sekrit');
      expect(out, label).not.toMatch(/\n\s+at /);
    }
  }, 180_000);
});
