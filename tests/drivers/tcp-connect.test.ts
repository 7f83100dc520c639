/**
 * A TCP device server that never answers the connection (hung, or its accept queue full: the
 * kernel drops the handshake, as blackhole.py in the review showed) must not hold the daemon's
 * start for the kernel's SYN retries (over two minutes): the connect is bounded by
 * connect_timeout_ms, and the bus or scanner goes degraded and keeps trying.
 *
 * The black hole: a child process listens with a backlog of 1 and stops itself (SIGSTOP), so
 * nothing is ever accepted; two connections fill its accept queue, after which the kernel
 * leaves every further handshake unanswered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers } from '../../drivers/create.ts';
import { captureLogger, until } from './helpers.ts';

let hole: ChildProcess;
let port = 0;
const fillers: Socket[] = [];

beforeAll(async () => {
  const code = "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n');process.kill(process.pid,'SIGSTOP')})";
  hole = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise<number>((resolve) => hole.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
  await until(() => hole.exitCode === null && readState(hole.pid!) === 'T', 10_000, 'the listener to stop');
  for (let i = 0; i < 2; i++) {
    const s = createConnection({ host: '127.0.0.1', port });
    fillers.push(s);
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  }
});
afterAll(() => {
  for (const s of fillers) s.destroy();
  hole.kill('SIGKILL');
});

function readState(pid: number): string {
  // /proc/<pid>/stat: "pid (comm) S ..." — T is stopped
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('a TCP device server that never answers the handshake', () => {
  it('start() returns after the connect timeout; the bus and the scanner are degraded and keep trying', async () => {
    const url = `tcp://127.0.0.1:${port}`;
    const config = resolveDriversConfig({
      simulated: false,
      lock: { transport: url },
      scales: { transport: url, list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }] },
      modbus: { connect_timeout_ms: 200, reconnect_initial_ms: 20, reconnect_max_ms: 100 },
      scanner: { enabled: true, transport: url, connect_timeout_ms: 200, reconnect_initial_ms: 20, reconnect_max_ms: 100 },
    });
    const { logger, lines } = captureLogger();
    const drivers = createDrivers({ config, logger });
    try {
      await drivers.start();
      const bus = drivers.buses.get(url)!;
      expect(bus.health).not.toBe('up');
      expect(drivers.scanner?.health).not.toBe('up');
      // it keeps trying, each attempt bounded alike
      await until(() => (bus.stats().faults.port_error ?? 0) >= 2, 10_000, 'a second attempt');
      expect(lines.some((l) => String(l.msg ?? '').includes('no connection within 200 ms'))).toBe(true);
    } finally {
      await drivers.stop();
    }
  }, 30_000);
});
