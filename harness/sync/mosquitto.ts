/**
 * A Mosquitto of the run's own (`MQTT_SPAWN=mosquitto`), for a bench or test that must restart a
 * real broker: the machine's Mosquitto (MQTT_URL) is shared and cannot be restarted from here,
 * so bench:sync on it counted no restarts. This one is the Debian package's binary, on a free
 * port of 127.0.0.1, with persistence in a temporary folder: `stop` ends it with SIGTERM (it
 * saves its sessions and queued messages, as a broker restarted by its service manager does)
 * and `start` runs it again on the same port, from what it saved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../free-port.ts';

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

/** Resolves once something accepts TCP connections on `port` (the broker has started listening). */
async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode} before listening on ${port}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface SpawnedMosquitto {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

export async function spawnMosquitto(): Promise<SpawnedMosquitto> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, Mosquitto runs as user `mosquitto`, which cannot write its persistence into
    // our 0700 folder: it would then forget every session at each restart. Stay who we are.
    `user ${userInfo().username}`,
    'persistence true',
    `persistence_location ${dir}/`,
    // bench:sync's stores queue their village stream while away: more than the default 1,000
    'max_queued_messages 100000',
    '',
  ].join('\n'));
  let child: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    if (child) return;
    const c = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.on('error', (err) => { output += String(err); });
    c.stdout?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    c.stderr?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    child = c;
    await listening(port, c, () => output);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `mqtt://127.0.0.1:${port}`, start, stop, close: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); } };
}
