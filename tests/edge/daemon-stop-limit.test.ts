/**
 * `store-edge start` when a part of the daemon does not stop: a real process on simulated
 * hardware, its demo village ledger held up by a visitor whose request never finishes (the
 * ledger's API waits for it when it closes). On SIGTERM the daemon waits STOP_LIMIT_MS, names the
 * part in both languages, still closes the rest, and exits 1, as systemd is told in docs/operations.md.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { STOP_LIMIT_MS } from '../../edge/main.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('daemon-stop-');
afterAll(() => t.cleanup());

interface LogLine { level: number; msg: string; part?: string; api?: string; limitMs?: number; notStopped?: string[] }

describe('store-edge start: a part that does not stop', () => {
  it('is named in both languages once the stop limit has passed, the ledger is still closed, and the exit code is 1', async () => {
    const file = path.join(t.dir, 'store.yaml');
    writeFileSync(file, 'data_dir: .\ndemo: true\nhttp: {port: 0}\nentry: {face_enabled: false}\nlog: {level: info, pretty: false}\n');
    const child = spawn(process.execPath, [bin, 'start', '--config', file], { env: { ...process.env, STORE_EDGE_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines = (): LogLine[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
    const until = async (what: string, ok: () => boolean, ms = 60_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what} did not happen:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const visitor = new net.Socket();
    try {
      await until('the admin page', () => /"url":"http:/.test(out));
      const api = lines().find((l) => l.part === 'village' && l.api !== undefined)?.api;
      expect(api, out).toBeDefined();
      // a login whose body never arrives in full: the ledger's API, closing, waits for it
      const { hostname, port } = new URL(api!);
      await new Promise<void>((resolve, reject) => visitor.once('error', reject).connect(Number(port), hostname, resolve));
      const answered = new Promise<string>((resolve) => visitor.setEncoding('utf8').on('data', (d: string) => resolve(d)));
      visitor.write(`POST /api/villager/login HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"village":`);
      child.kill('SIGTERM');
      await until('stopping', () => out.includes('"msg":"stopping / 正在停止"'));
      const stoppedAt = Date.now();
      const code = await exited;
      expect(code, out).toBe(1);
      // the daemon waited its limit, not the supervisor's (30 s), and the visitor got no answer
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(STOP_LIMIT_MS - 1000);
      expect(await Promise.race([answered, Promise.resolve('(none)')])).toBe('(none)');
    } finally {
      visitor.destroy();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const all = lines();
    expect(all).toContainEqual(expect.objectContaining({ level: 50, part: 'village ledger', limitMs: STOP_LIMIT_MS, msg: `part did not stop within ${STOP_LIMIT_MS} ms / 组件未能在 ${STOP_LIMIT_MS} 毫秒内停止: village ledger` }));
    expect(all[all.length - 1]).toMatchObject({ level: 50, notStopped: ['village ledger'], msg: 'stopped, but not all parts: village ledger / 已停止，但有组件未停止: village ledger' });
    // the parts started before it were still stopped: the store's ledger checkpointed and closed
    const wal = path.join(t.dir, 'ledger.sqlite-wal');
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    closeLedger(db);
  }, 120_000);
});
