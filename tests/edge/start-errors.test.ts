/**
 * `store-edge start` refusing to run where it would do harm, as real processes: a data folder
 * another daemon holds, a port already taken, a data folder that cannot be created. Each ends
 * with a bilingual message and a non-zero exit, never a stack trace or a half-running daemon.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { addAdminAccount } from '../../edge/ledger/admin-accounts.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('start-errors-');
const running: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
  t.cleanup();
});

function start(...args: string[]) {
  return startWith({}, ...args);
}

function startWith(env: Record<string, string>, ...args: string[]) {
  const child = spawn(process.execPath, [bin, 'start', '--demo', ...args], {
    env: { ...process.env, STORE_EDGE_CONFIG: '', STORE_EDGE_LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** Resolves with the admin page URL once the daemon logs it, or rejects when it exits first. */
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      if (url) resolve(url);
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  ready.catch(() => undefined); // tests that expect an early exit never await it
  return { child, exited, ready, output: () => ({ out, err }) };
}

describe('store-edge start refuses', () => {
  it('a second daemon on a data folder whose daemon runs, naming its pid; the first keeps running', async () => {
    const dir = path.join(t.dir, 'shared');
    const first = start('--http-port', '0', '--data-dir', dir);
    const url = await first.ready;
    const second = start('--http-port', '0', '--data-dir', dir);
    const code = await second.exited;
    const { err } = second.output();
    expect(code, err).toBe(1);
    expect(err).toContain('DATA_DIR_LOCKED');
    expect(err).toContain(`pid ${first.child.pid}`);
    expect(err).toContain('正被另一个门店守护进程使用');
    expect(err).not.toContain('内部错误');
    // the first daemon still answers and stops cleanly
    expect((await fetch(new URL('/healthz', url))).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // once stopped, the folder is free again
    const third = start('--http-port', '0', '--data-dir', dir);
    await third.ready;
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  }, 180_000);

  it('a port in use: exit 1, 端口已被占用 and how to choose another', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const d = start('--http-port', String(port), '--data-dir', path.join(t.dir, 'busy'));
      const code = await d.exited;
      const { err } = d.output();
      expect(code, err).toBe(1);
      expect(err).toContain('PORT_IN_USE');
      expect(err).toContain('端口已被占用');
      expect(err).toContain('--http-port');
      expect(err).toContain('STORE_EDGE_HTTP_PORT');
      expect(err).not.toContain('内部错误');
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('a data folder that cannot be created: DB_IO naming the path', async () => {
    const file = path.join(t.dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const dir = path.join(file, 'data');
    const d = start('--http-port', '0', '--data-dir', dir);
    const code = await d.exited;
    const { err } = d.output();
    expect(code, err).toBe(1);
    expect(err).toContain('DB_IO');
    expect(err).toContain(dir);
    expect(err).toContain('无法创建数据文件夹');
    expect(err).not.toContain('内部错误');
  }, 120_000);

  it('a --data-dir that is a file: bad input, exit 2, naming it in both languages', async () => {
    const file = path.join(t.dir, 'ledger-not-a-folder');
    writeFileSync(file, 'x');
    const d = start('--http-port', '0', '--data-dir', file);
    const code = await d.exited;
    const { err } = d.output();
    expect(code, err).toBe(2);
    expect(err).toContain('INVALID_ARGUMENT');
    expect(err).toContain(`数据文件夹 ${file} 是一个文件`);
    expect(err).toContain(`the data folder ${file} is a file`);
    expect(err).not.toContain('内部错误');
  }, 120_000);

  it('listening beyond this machine before an admin account exists: exit 2, bilingual, how to make the account first', async () => {
    const d = startWith({ STORE_EDGE_HTTP_HOST: '0.0.0.0' }, '--http-port', '0', '--data-dir', path.join(t.dir, 'lan'));
    const code = await d.exited;
    const { err } = d.output();
    expect(code, err).toBe(2);
    expect(err).toContain('CONFIG_INVALID');
    expect(err).toContain('还没有管理账号，管理页面不能监听 0.0.0.0');
    expect(err).toContain('only once an admin account exists');
    expect(err).not.toContain('内部错误');
  }, 120_000);

  it('a jobs.timezone that is not a time zone: exit 2 naming the key, and doctor fails the config too', async () => {
    const cfg = path.join(t.dir, 'bad-tz.yaml');
    writeFileSync(cfg, `data_dir: ${JSON.stringify(path.join(t.dir, 'tz'))}\ndemo: true\ndemo_loop: false\nhttp: { port: 0 }\njobs: { timezone: "Asia/Shanghia" }\n`);
    const d = start('--config', cfg);
    const code = await Promise.race([d.exited, d.ready.then(() => 'running')]);
    const { err } = d.output();
    expect(code, err).toBe(2);
    expect(err).toContain('jobs.timezone');
    expect(err).toContain('不是有效的时区名');
    const doctor = spawnSync(process.execPath, [bin, 'doctor', '--config', cfg], { encoding: 'utf8', env: { ...process.env, STORE_EDGE_CONFIG: '' } });
    expect(doctor.status, doctor.stdout + doctor.stderr).toBe(2);
    expect(doctor.stdout + doctor.stderr).toContain('jobs.timezone');
  }, 120_000);

  it('an http.host that does not resolve, or is not an address of this PC: exit 2, CONFIG_INVALID naming http.host, bilingual', async () => {
    const dir = path.join(t.dir, 'bad-host');
    // an account exists, so a host beyond this machine is allowed and the address itself is tried
    const db = openLedger(path.join(dir, 'ledger.sqlite'));
    addAdminAccount(db, { username: 'wang', displayName: '王师傅', role: 'maintainer', passwordHash: 'scrypt$not-used' });
    closeLedger(db);
    for (const [host, words] of [['no-such-host.invalid', '无法解析为地址'], ['192.0.2.10', '不是本机的地址']] as const) {
      const d = startWith({ STORE_EDGE_HTTP_HOST: host }, '--http-port', '0', '--data-dir', dir);
      const code = await Promise.race([d.exited, d.ready.then(() => 'running')]);
      const { err } = d.output();
      expect(code, err).toBe(2);
      expect(err).toContain('CONFIG_INVALID');
      expect(err).toContain(`http.host "${host}"`);
      expect(err).toContain(words);
      expect(err).not.toContain('内部错误');
    }
  }, 120_000);

  it('a first start (no admin account yet) on an http.host that does not resolve or is not this PC\'s: that is said, with this PC\'s addresses, not "make the account, then restart with" it', async () => {
    for (const [host, en, zh] of [['no-such-host.invalid', 'does not resolve', '无法解析为地址'], ['192.0.2.10', 'is not an address of this PC', '不是本机的地址']] as const) {
      const d = startWith({ STORE_EDGE_HTTP_HOST: host }, '--http-port', '0', '--data-dir', path.join(t.dir, `first-${host}`));
      const code = await Promise.race([d.exited, d.ready.then(() => 'running')]);
      const { err } = d.output();
      expect(code, err).toBe(2);
      expect(err).toContain('CONFIG_INVALID');
      expect(err).toContain(`http.host "${host}"`);
      expect(err).toContain(en);
      expect(err).toContain(zh);
      expect(err).toContain('127.0.0.1');
      expect(err).not.toContain(`then restart with ${host}`);
    }
  }, 120_000);

  it('--http-port out of range: exit 2 naming --http-port, not a config file', async () => {
    const d = start('--http-port', '70000', '--data-dir', path.join(t.dir, 'port-range'));
    const code = await Promise.race([d.exited, d.ready.then(() => 'running')]);
    const { err } = d.output();
    expect(code, err).toBe(2);
    expect(err).toContain('--http-port');
    expect(err).toContain('70000');
    expect(err).toContain('65535');
    expect(err).not.toContain('配置文件有误');
    expect(err).not.toContain('config is invalid');
  }, 120_000);
});
