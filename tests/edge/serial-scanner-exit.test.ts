/**
 * `store-edge start` and `store-edge doctor` with every device on a real serial port: the
 * simulators behind socat pseudo-terminals, the scanner among them (serialport's native
 * bindings), face recognition off. On SIGTERM the daemon exits 0 by itself, and the doctor
 * exits once its table is printed: the scanner's port used to stay open and keep both alive.
 * Nothing of theirs is left: no process but socat and this test holds the scanner's port.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSimHardware, type RunningSimHardware } from '../../drivers/sim/spawn.ts';
import { socatPath } from '../../drivers/sim/pty.ts';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { tempDir } from '../ledger/helpers.ts';

if (socatPath() === null) throw new Error('socat is required for the serial tests: apt-get install socat (.ci/run installs it)');

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
/** Only turns a hang into a failure: tsx compiling on a loaded 2-core machine is slow. */
const BOUND_MS = 90_000;
const t = tempDir('serial-scanner-exit-');
let sim: RunningSimHardware | undefined;

beforeAll(async () => {
  sim = await startSimHardware({ transport: 'pty', drivers: { scales: { list: [{ slot: 'A1', unit_id: 11, capacity_g: 5000 }] } }, seed: 1 });
  closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite')));
  writeFileSync(path.join(t.dir, 'store.json'), JSON.stringify({
    data_dir: t.dir,
    http: { port: 0 },
    entry: { face_enabled: false },
    log: { level: 'info', pretty: false },
    drivers: {
      simulated: false,
      lock: { transport: sim.urls.lock },
      scales: { transport: sim.urls.scales, list: [{ slot: 'A1', unit_id: 11, capacity_g: 5000 }] },
      scanner: { transport: sim.urls.scanner },
      modbus: { response_timeout_ms: 500, retries: 1 },
    },
  }));
}, BOUND_MS);
afterAll(async () => {
  await sim?.stop();
  t.cleanup();
});

interface Run { child: ChildProcess; out: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function run(...args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args, '--config', path.join(t.dir, 'store.json')], { env: { ...process.env, STORE_EDGE_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, exited };
}

/** The exit, or null when the process is still running after BOUND_MS (it is then killed). */
async function exitOf(r: Run): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), BOUND_MS)));
  const result = await Promise.race([r.exited, hung]);
  clearTimeout(timer);
  if (result === null) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
  return result;
}

async function until(what: string, r: Run, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!ok()) {
    if (Date.now() > deadline || r.child.exitCode !== null) throw new Error(`${what} did not happen:\n${r.out()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Processes other than socat and this test that hold the scanner's pseudo-terminal open. */
function otherHolders(): string[] {
  const device = realpathSync(new URL(sim!.urls.scanner).pathname);
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'socat') continue;
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === device)) found.push(`${pid} ${comm}`);
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return found;
}

describe('a scanner on a serial port', () => {
  it('store-edge start exits 0 on SIGTERM, leaving the port free', async () => {
    const r = run('start');
    try {
      await until('the admin page', r, () => /"url":"http:/.test(r.out()));
      expect(otherHolders()).toEqual([`${r.child.pid} node`]);
      await sim!.client.scan('CARD-0001'); // the port has been read from
      r.child.kill('SIGTERM');
      const exit = await exitOf(r);
      expect(exit, `still running ${BOUND_MS} ms after SIGTERM:\n${r.out()}`).toEqual({ code: 0, signal: null });
      expect(r.out()).toContain('"msg":"stopped / 已停止"');
      expect(otherHolders()).toEqual([]);
    } finally {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }
  }, 2 * BOUND_MS + 10_000);

  it('store-edge doctor exits once its table is printed, leaving the port free', async () => {
    const r = run('doctor');
    const exit = await exitOf(r);
    expect(exit, `still running ${BOUND_MS} ms after it started:\n${r.out()}`).toEqual({ code: 0, signal: null });
    expect(r.out()).toMatch(/scanner \(serial:[^)]+\)\s+ok/);
    expect(r.out()).toMatch(/lock \(unit 1 on serial:[^)]+\)\s+ok/);
    expect(otherHolders()).toEqual([]);
  }, BOUND_MS + 10_000);
});
