/**
 * Starting the sim hardware: as a child process (the scenario runner, the demo, the pty
 * benchmark, tests that kill the daemon side) or inside this process (unit tests). Either
 * way the caller gets the same transport URLs and control client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SimHardwareClient } from './client.ts';
import type { SimHardwareUrls } from './control-api.ts';
import { SimHardwareServer, type SimHardwareOptions } from './server.ts';

const READY_PREFIX = 'SIM_HARDWARE_READY ';

export interface RunningSimHardware {
  client: SimHardwareClient;
  /** Put `lock`, `scales`, `scanner` into the daemon's drivers config as transports. */
  urls: SimHardwareUrls;
  stop(): Promise<void>;
}

export interface SpawnedSimHardware extends RunningSimHardware {
  child: ChildProcess;
  pid: number;
}

export interface SpawnOptions extends SimHardwareOptions {
  /**
   * A safety net against a hung child: give up if it neither serves nor exits within this long.
   * tsx compiles it on its first start, which takes over 20 s on a loaded 2-core machine
   * (load 25); a child that fails exits, and that is reported at once. Default 3 minutes.
   */
  readyTimeoutMs?: number;
  /** Where the child's stderr goes. Default: inherited. */
  stderr?: 'inherit' | 'ignore';
}

/** Starts the sim-hardware process and connects a control client to it. */
export async function spawnSimHardware(opts: SpawnOptions = {}): Promise<SpawnedSimHardware> {
  const { readyTimeoutMs = 180_000, stderr = 'inherit', ...serverOpts } = opts;
  const entry = fileURLToPath(new URL('./server-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), entry], {
    stdio: ['pipe', 'pipe', stderr],
    env: { ...process.env, SIM_HARDWARE_OPTIONS: JSON.stringify(serverOpts) },
  });
  let urls: SimHardwareUrls;
  try {
    urls = await waitReady(child, readyTimeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const client = new SimHardwareClient({ url: urls.control });
  await client.start();
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return {
    child,
    pid: child.pid as number,
    client,
    urls,
    async stop() {
      await client.stop();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The same server inside this process, for unit tests. */
export async function startSimHardware(opts: SimHardwareOptions = {}): Promise<RunningSimHardware & { server: SimHardwareServer }> {
  const server = new SimHardwareServer(opts);
  const urls = await server.start();
  const client = new SimHardwareClient({ url: urls.control });
  await client.start();
  return {
    server,
    client,
    urls,
    async stop() {
      await client.stop();
      await server.stop();
    },
  };
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<SimHardwareUrls> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => done(new Error(`sim hardware process did not become ready within ${timeoutMs} ms`)), timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line) done(null, JSON.parse(line.slice(READY_PREFIX.length)) as SimHardwareUrls);
    };
    const onExit = (code: number | null): void => done(new Error(`sim hardware process exited (${String(code)}) before it was ready`));
    const done = (err: Error | null, urls?: SimHardwareUrls): void => {
      clearTimeout(timer);
      child.stdout?.removeListener('data', onData);
      child.removeListener('exit', onExit);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.resume();
      if (err) reject(err);
      else resolve(urls as SimHardwareUrls);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
