/** `store-edge ledger`: keygen, bad input (exit 2), and a served ledger that answers, runs its retention job and stops on SIGTERM. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../ledger/helpers.ts';
import { startBroker, uid, type Broker } from '../../harness/sync/rig.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('ledger-cli-');
let broker: Broker | undefined;
afterAll(async () => {
  await broker?.close();
  t.cleanup();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out };
}

describe('store-edge ledger', () => {
  it('makes a key, refuses a bad tokens file or retention period with exit 2, serves the API, runs its retention job and stops on SIGTERM', async () => {
    const key = path.join(t.dir, 'ledger-key.pem');
    const gen = run(['ledger', 'keygen', '--out', key]);
    expect(await gen.exited).toBe(0);
    expect(gen.out()).toContain('BEGIN PUBLIC KEY');
    const again = run(['ledger', 'keygen', '--out', key]);
    expect(await again.exited).toBe(2);
    expect(again.out()).toContain('不覆盖');

    const tokens = path.join(t.dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ token: 'short', role: 'town' }]));
    broker = await startBroker();
    const common = ['--broker', broker.url, '--db', path.join(t.dir, 'l.sqlite'), '--key-file', key, '--tokens-file', tokens, '--port', '0'];
    const bad = run(['ledger', 'serve', ...common]);
    expect(await bad.exited).toBe(2);
    expect(bad.out()).toContain('令牌文件');

    writeFileSync(tokens, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
    // a retention period that is not a whole number of days ≥ 0 is refused before anything starts
    // (the other wrong values are LedgerRetention.check's, tests/ledger-gov/evidence-retention.test.ts)
    const badDays = run(['ledger', 'serve', ...common, '--alarm-keep-days=-1']);
    expect(await badDays.exited, badDays.out()).toBe(2);
    expect(badDays.out()).toContain('--alarm-keep-days');
    expect(badDays.out()).toContain('门店告警记录');
    const clientId = uid('ledger-cli-');
    const served = run(['ledger', 'serve', ...common, '--alarm-keep-days', '90', '--client-id', clientId], { STORE_EDGE_LOG_LEVEL: 'info' });
    broker.leaves(clientId); // its broker session (cloud-sync/ledger/run.ts)
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /"url":"(http:\/\/[^"]+)"/.exec(served.out())?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, served.out()).toBeDefined();
    expect((await fetch(`${url}/api/villages/v1/sync`)).status).toBe(401);
    const created = await fetch(`${url}/api/villages`, { method: 'POST', headers: { authorization: 'Bearer town-token-0123456789', 'content-type': 'application/json' }, body: JSON.stringify({ id: 'v1', name: '一村' }) });
    expect(created.status).toBe(201);
    // the retention job ran once at start, with the period given
    while (!/"job":"store_alarm_purge"/.test(served.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(served.out()).toMatch(/"job":"store_alarm_purge","deleted":0,"cutoff":"[^"]+","keep_days":90/);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  }, 180_000);

  it('refuses bad options with exit 2 naming the flag, in both languages, before anything starts', async () => {
    const missing = path.join(t.dir, 'no-such-dir', 'x');
    const junk = path.join(t.dir, 'junk.sqlite');
    writeFileSync(junk, 'not a database at all, just words '.repeat(20));
    const cases: [string[], string, string][] = [
      [['ledger', 'keygen', '--out', missing], '--out', '不存在'],
      [['ledger', 'serve', '--db', missing], '--db', '不存在'],
      [['ledger', 'staff', 'list', '--db', missing], '--db', '不存在'],
      [['ledger', 'serve', '--db', junk], '--db', '不是 SQLite'],
      [['ledger', 'staff', 'list', '--db', junk], '--db', '不是 SQLite'],
      [['ledger', 'serve', '--broker', 'notaurl'], '--broker', 'MQTT'],
      [['ledger', 'serve', '--key-id', ''], '--key-id', '1–64'],
      [['ledger', 'serve', '--key-id', 'k'.repeat(65)], '--key-id', '1–64'],
      [['ledger', 'serve', '--port', '99999'], '--port', '65535'],
      [['ledger', 'serve', '--port=-5'], '--port', '65535'],
      [['ledger', 'serve', '--host', 'no-such-host.invalid'], '--host', '无法解析'],
      [['ledger', 'serve', '--client-id', 'two words'], '--client-id', '字母'],
    ];
    // a good --db where another option is the wrong one (the default ./data may not exist here)
    const ok = ['--db', path.join(t.dir, 'ok.sqlite')];
    const runs = cases.map(([args, flag, zh]) => {
      const full = args[1] === 'serve' && flag !== '--db' ? [...args, ...ok] : args;
      return { full, flag, zh, r: run(full) };
    });
    for (const { full, flag, zh, r } of runs) {
      const code = await r.exited;
      expect(code, `${full.join(' ')}: ${r.out()}`).toBe(2);
      expect(r.out(), full.join(' ')).toContain(flag);
      expect(r.out(), full.join(' ')).toContain(zh);
      expect(r.out(), full.join(' ')).not.toContain('internal error');
    }
  }, 240_000);

  it('a port in use: stops what it started and exits 1, naming the port', async () => {
    const key = path.join(t.dir, 'busy-key.pem');
    expect(await run(['ledger', 'keygen', '--out', key]).exited).toBe(0);
    const tokens = path.join(t.dir, 'busy-tokens.json');
    writeFileSync(tokens, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
    broker ??= await startBroker();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    let r: ReturnType<typeof run> | undefined;
    try {
      const clientId = uid('ledger-busy-');
      r = run(['ledger', 'serve', '--broker', broker.url, '--db', path.join(t.dir, 'busy.sqlite'), '--key-file', key, '--tokens-file', tokens, '--port', String(port), '--client-id', clientId]);
      broker.leaves(clientId);
      // exits by itself: nothing it started (MQTT, the board, the retention job, the roll-up worker) keeps it alive
      expect(await r.exited, r.out()).toBe(1);
      expect(r.out()).toContain('PORT_IN_USE');
      expect(r.out()).toContain(`${port}`);
      expect(r.out()).toContain('端口已被占用');
      expect(r.out()).not.toContain('internal error');
    } finally {
      taken.close();
      // a ledger that hung (the fault this test is about) must not outlive the test
      if (r && r.child.exitCode === null) r.child.kill('SIGKILL');
    }
  }, 120_000);
});
