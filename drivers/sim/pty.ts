/**
 * Real pseudo-terminals made by socat, so the simulators can sit behind serialport's real
 * bindings: the driver opens `serial://<hostPath>`, the simulator holds the other end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { SimDevicePort } from '../transport/sim-network.ts';

export function socatPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

export interface PtyPair {
  hostPath: string;
  devicePath: string;
  close(): Promise<void>;
}

export async function createPtyPair(timeoutMs = 3000): Promise<PtyPair> {
  const socat = socatPath();
  if (!socat) throw new Error('socat not found (apt-get install socat)');
  const dir = mkdtempSync(join(tmpdir(), 'store-edge-pty-'));
  const hostPath = join(dir, 'host');
  const devicePath = join(dir, 'device');
  const child: ChildProcess = spawn(socat, [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: 'ignore' });
  const end = Date.now() + timeoutMs;
  while (!(existsSync(hostPath) && existsSync(devicePath))) {
    if (Date.now() > end || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('socat did not create the pseudo-terminals');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    hostPath,
    devicePath,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Connects a simulated device to a serial path (the device end of a pty pair). */
export async function attachDeviceToSerial(device: SimDevicePort, path: string, baudRate = 9600): Promise<{ close(): Promise<void> }> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const onData = (b: Buffer): void => device.fromHost(b);
  port.on('data', onData);
  port.on('error', () => undefined);
  device.connect((bytes) => {
    if (port.isOpen) port.write(bytes);
  });
  return {
    async close() {
      device.connect(null);
      port.removeListener('data', onData);
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
    },
  };
}
