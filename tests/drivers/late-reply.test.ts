/**
 * A reply that came in time must not count as a timeout because the daemon's event loop was
 * busy (a page being rendered, a settlement, the machine's other load) when the deadline
 * passed. The slave answers over TCP (a serial device server; from a worker thread) and over a
 * socat pseudo-terminal (serialport's real bindings; from a child process), while the main thread is held in
 * a busy loop until the slave has answered and the response timeout has passed: the reply is
 * then waiting in the kernel, unread. The bus must take it: no timeout fault, no retry.
 *
 * No guessed time: the busy loop ends on a condition (the worker's answer counter, shared
 * memory, and the deadline passed), not after a fixed pause.
 */
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { ModbusBus } from '../../drivers/modbus/bus.ts';
import { createPtyPair, socatPath } from '../../drivers/sim/pty.ts';
import { captureLogger, until } from './helpers.ts';

if (socatPath() === null) throw new Error('socat is required for the serial tests: apt-get install socat (.ci/run installs it)');

const TIMEOUT_MS = 100;
const PTY_TIMEOUT_MS = 400;
/** The slave never answers requests to this unit. */
const SILENT_UNIT = 99;

/**
 * The slave's frames: every FC03 request (8 bytes) is answered with registers 0x0100, 0x0101, …
 * (except those to SILENT_UNIT); `done` runs once an answer is written. Plain JavaScript.
 */
const FRAMES = `
const SILENT_UNIT = ${SILENT_UNIT};
function crc16(b) {
  let crc = 0xffff;
  for (const x of b) { crc ^= x; for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >> 1) ^ 0xa001 : crc >> 1; }
  return crc;
}
function reply(req) {
  const count = req.readUInt16BE(4);
  const out = Buffer.alloc(3 + 2 * count + 2);
  out[0] = req[0]; out[1] = 3; out[2] = 2 * count;
  for (let i = 0; i < count; i++) out.writeUInt16BE(0x100 + i, 3 + 2 * i);
  out.writeUInt16LE(crc16(out.subarray(0, -2)), out.length - 2);
  return out;
}
function serve(write, done) {
  let pending = Buffer.alloc(0);
  return (data) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 8) {
      const req = pending.subarray(0, 8);
      pending = pending.subarray(8);
      if (req[0] !== SILENT_UNIT) write(reply(req), done);
    }
  };
}
`;

/** Over TCP, in a worker thread, counting its answers in shared memory. */
const TCP_SLAVE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
${FRAMES}
const answered = new Int32Array(workerData.answered);
const server = net.createServer((socket) => socket.on('data', serve((bytes, done) => socket.write(bytes, done), () => Atomics.add(answered, 0, 1))));
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => parentPort.postMessage('closed')));
`;

/** On the device end of a pseudo-terminal, in a child process (serialport's bindings are not for worker threads). */
const PTY_SLAVE = `
const { SerialPort } = require('serialport');
${FRAMES}
const port = new SerialPort({ path: process.argv[1], baudRate: 9600 }, (err) => console.log(err ? String(err) : 'ready'));
port.on('data', serve((bytes, done) => port.write(bytes, done), () => undefined));
`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tcpSlave(): Promise<{ answered: Int32Array; url: string }> {
  const shared = new SharedArrayBuffer(4);
  const worker = new Worker(TCP_SLAVE, { eval: true, workerData: { answered: shared } });
  const port = await new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  cleanups.push(async () => {
    const closed = new Promise((r) => worker.once('message', r));
    worker.postMessage('close');
    await closed;
    await worker.terminate();
  });
  return { answered: new Int32Array(shared), url: `tcp://127.0.0.1:${String(port)}` };
}

async function ptySlave(): Promise<string> {
  const pair = await createPtyPair();
  cleanups.push(() => pair.close());
  const child = spawn(process.execPath, ['-e', PTY_SLAVE, pair.devicePath], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await until(() => out.includes('\n') || child.exitCode !== null, undefined, 'the pty slave to open its port');
  expect(out.trim()).toBe('ready');
  return `serial://${pair.hostPath}?baud=9600`;
}

async function openBus(url: string, timeoutMs = TIMEOUT_MS) {
  const { logger } = captureLogger();
  const config = resolveDriversConfig({ modbus: { response_timeout_ms: timeoutMs, retries: 2, quiet_after_error_ms: 0 } });
  const bus = new ModbusBus({ url, config: config.modbus, logger });
  cleanups.push(() => bus.stop());
  await bus.start();
  await until(() => bus.health === 'up', undefined, `bus ${url} up`);
  return bus;
}

/**
 * Asks for two registers, then holds this thread busy (as a long render would) past the
 * response time, and over TCP until the slave has answered too: its reply then sits unread in
 * the kernel. (A serial port writes the request only once the thread is free again: serialport
 * writes from a promise, so over the pty the slave is asked only after the stall.)
 */
async function readWhileBusy(bus: ModbusBus, answered: Int32Array | undefined, timeoutMs: number): Promise<number[]> {
  const before = answered ? Atomics.load(answered, 0) : 0;
  const started = performance.now();
  const reply = bus.readRegisters(7, 0x50, 2, 'poll');
  const bound = started + 30_000;
  while ((answered && Atomics.load(answered, 0) === before) || performance.now() < started + timeoutMs * 2) {
    if (performance.now() > bound) throw new Error('the slave never answered');
  }
  return reply;
}

describe('a reply that arrived in time while the event loop was busy', () => {
  it('over TCP: taken as the reply, not counted as a timeout nor retried', async () => {
    const { answered, url } = await tcpSlave();
    const bus = await openBus(url);
    for (let i = 0; i < 3; i++) expect(await readWhileBusy(bus, answered, TIMEOUT_MS)).toEqual([0x100, 0x101]);
    expect(bus.stats()).toMatchObject({ requests: 3, retries: 0, failures: 0, faults: { timeout: 0 } });
  });

  it('over a pseudo-terminal: taken as the reply, not counted as a timeout nor retried', async () => {
    const url = await ptySlave();
    // the slave is asked only after the stall: its answer, through a worker thread and two
    // pseudo-terminals on a loaded machine, is given a response time to match
    const bus = await openBus(url, PTY_TIMEOUT_MS);
    for (let i = 0; i < 3; i++) expect(await readWhileBusy(bus, undefined, PTY_TIMEOUT_MS)).toEqual([0x100, 0x101]);
    expect(bus.stats()).toMatchObject({ requests: 3, retries: 0, failures: 0, faults: { timeout: 0 } });
  });

  it('a slave that does not answer still times out, busy loop or not', async () => {
    const { url } = await tcpSlave();
    const bus = await openBus(url);
    const started = performance.now();
    const reply = bus.readRegisters(SILENT_UNIT, 0x50, 2, 'poll').catch((e: unknown) => e);
    while (performance.now() < started + TIMEOUT_MS * 2);
    await expect(reply).resolves.toMatchObject({ code: 'TIMEOUT' });
    expect(bus.stats()).toMatchObject({ requests: 1, retries: 2, failures: 1, faults: { timeout: 3 } });
  });
});
