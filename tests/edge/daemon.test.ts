/**
 * The daemon as `npm start` runs it: a real process on simulated hardware. It answers
 * /healthz, and SIGTERM stops it cleanly: exit code 0, parts stopped in reverse order, the
 * ledger checkpointed and closed (no WAL left behind).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { tempDir } from '../ledger/helpers.ts';
import { setupHttp } from './admin-auth.ts';
import { PHASE_ZH } from '../../edge/http/admin-sections.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('daemon-');
afterAll(() => t.cleanup());

describe('store-edge start', () => {
  it('serves /healthz on simulated hardware and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'start', '--demo', '--http-port', '0', '--data-dir', t.dir], {
      env: { ...process.env, STORE_EDGE_CONFIG: '', STORE_EDGE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, out).toBeDefined();
    const healthz = async () => (await (await fetch(new URL('/healthz', url))).json()) as { status: string; parts: Record<string, { health: string }> };
    // the sync agent reports 'degraded' until it has reached the demo's broker, which it does at once
    let health = await healthz();
    while (health.status !== 'ok' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      health = await healthz();
    }
    expect(health.status, JSON.stringify(health)).toBe('ok');
    expect(Object.keys(health.parts)).toEqual(expect.arrayContaining(['ledger', 'hardware', 'entry', 'http']));
    // the demo, loaded by `start` in demo mode from harness/, is among the parts
    expect(Object.keys(health.parts)).toEqual(expect.arrayContaining(['demo opening', 'demo']));
    // no account yet: the page sends to the setup, which opens only with the link in the log
    const refused = await fetch(url!);
    expect(refused.url).toMatch(/\/setup$/);
    expect(refused.status).toBe(403);
    const setupUrl = /"part":"http","setup_url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    expect(setupUrl, out).toBeDefined();
    const admin = await setupHttp(setupUrl!);
    expect(await (await admin.get('/')).text()).toContain('门店管理');

    child.kill('SIGTERM');
    const { code } = await exited;
    expect(code, out).toBe(0);
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; part?: string });
    const msgs = lines.map((l) => l.msg);
    expect(msgs.indexOf('stopping / 正在停止')).toBeGreaterThan(-1);
    expect(msgs[msgs.length - 1]).toBe('stopped / 已停止');
    // checkpointed and closed: the WAL is empty or gone, and the file opens cleanly
    const wal = path.join(t.dir, 'ledger.sqlite-wal');
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    closeLedger(db);
  }, 90_000);

  it('as `npm start` in a fresh folder: the village ledger and its broker beside the store, points over MQTT, keys closed, Ctrl-C stops it all', async () => {
    const { mkdirSync } = await import('node:fs');
    const cwd = path.join(t.dir, 'fresh');
    mkdirSync(cwd);
    // what `npm start` runs, from a folder with no config file and no data yet
    const child = spawn(process.execPath, [bin, 'start', '--http-port', '0'], { cwd, env: { ...process.env, STORE_EDGE_CONFIG: '', STORE_EDGE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      const deadline = Date.now() + 60_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 100));
      }
      expect(url, out).toBeDefined();
      const admin = await setupHttp(/"part":"http","setup_url":"(http:\/\/[^"]+)"/.exec(out)![1]!);
      const health = (await (await fetch(new URL('/healthz', url))).json()) as { parts: Record<string, { health: string }> };
      expect(health.parts['village ledger']?.health).toBe('ok');
      // the opening points were awarded at the village ledger and reached the store over MQTT
      const opened = async () => ((await (await admin.get('/api/villagers/zhang')).json()) as { items: Array<{ id: string; origin: string }> }).items;
      while (!(await opened()).some((e) => e.id === 'demo-opening:zhang') && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 100));
      expect((await opened()).find((e) => e.id === 'demo-opening:zhang'), out).toMatchObject({ origin: 'ledger' });
      expect((await (await admin.get('/api/sync')).json()) as object).toMatchObject({ enabled: true, connected: true });
      // the demo's visits: each phase of a visit is logged with its name in both languages
      while (!out.includes('"event":"session_state"') && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 100));
      const state = out.split('\n').filter((l) => l.includes('"event":"session_state"')).map((l) => JSON.parse(l) as { phase: string; msg: string })[0];
      expect(state, out).toBeDefined();
      expect(state!.msg).toBe(`session ${state!.phase} / 购物状态：${PHASE_ZH[state!.phase]}`);
      expect(PHASE_ZH[state!.phase]).toBeDefined();
      const mode = (p: string) => (statSync(path.join(cwd, 'data', p)).mode & 0o777).toString(8);
      expect(['village', 'village/ledger-key.pem', 'village/api-tokens.json', 'village/ledger.sqlite', 'sync-store-key.pem', 'keys', 'keys/qr-public.pem', 'keys/demo-qr-private.pem', 'keys/admin-session.key', 'ledger.sqlite'].map(mode))
        .toEqual(['700', '600', '600', '600', '600', '700', '600', '600', '600', '600']);
    } finally {
      child.kill('SIGINT');
    }
    const { code } = await exited;
    expect(code, out).toBe(0);
    const msgs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs[msgs.length - 1]).toBe('stopped / 已停止');
    for (const f of ['ledger.sqlite-wal', 'village/ledger.sqlite-wal']) {
      const wal = path.join(cwd, 'data', f);
      expect(!existsSync(wal) || statSync(wal).size === 0, f).toBe(true);
    }
  }, 150_000);

  it('refuses a bad config file with a message naming the key, and exit code 2', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = path.join(t.dir, 'bad.yaml');
    writeFileSync(file, 'http:\n  port: "eighty"\nsotre: {}\n');
    const child = spawn(process.execPath, [bin, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toContain('"http.port" must be of type integer');
    expect(err).toContain('unknown key "sotre"');
  }, 60_000);

  it('a failed start ends the process with a clear error and leaves nothing running (lost face key, templates present)', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const dir = path.join(t.dir, 'lost-key');
    mkdirSync(dir);
    const db = openLedger(path.join(dir, 'ledger.sqlite'));
    db.prepare("INSERT INTO villagers (id, name, village, face_consent_at, created_at, updated_at) VALUES ('V1', '王', '前进村', 'now', 'now', 'now')").run();
    db.prepare("INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, created_at) VALUES ('V1', x'00', x'00', x'00', 'now')").run();
    closeLedger(db);
    const file = path.join(dir, 'store.yaml');
    writeFileSync(file, 'data_dir: .\nhttp: {port: 0}\nlog: {level: warn}\n');
    const started = Date.now();
    const child = spawn(process.execPath, [bin, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(err).toContain('face template key');
    expect(err).toContain('人脸模板密钥文件丢失');
    expect(Date.now() - started).toBeLessThan(60_000);

    // a wrong key: the face engine has started when the templates fail to open; it must not
    // keep the process alive
    mkdirSync(path.join(dir, 'keys'), { recursive: true, mode: 0o700 }); // the daemon made it already
    writeFileSync(path.join(dir, 'keys', 'face-templates.key'), Buffer.alloc(32, 7), { mode: 0o600 });
    const again = spawn(process.execPath, [bin, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err2 = '';
    again.stderr.setEncoding('utf8').on('data', (d: string) => (err2 += d));
    again.stdout.resume();
    const killer = setTimeout(() => again.kill('SIGKILL'), 60_000);
    const code2 = await new Promise<number | null>((resolve) => again.on('exit', (c) => resolve(c)));
    clearTimeout(killer);
    expect(code2, err2).toBe(1);
    expect(err2).toContain('FACE_TEMPLATE_UNREADABLE');
  }, 120_000);
});
