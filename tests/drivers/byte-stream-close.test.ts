/**
 * A byte stream (drivers/transport/byte-stream.ts, the scanner's port) says `close` once when it
 * is destroyed, whatever its kind: serialport's stream used to say it twice, once when the port
 * closed and once more when the destroy finished, so whoever listened (the scanner's `lost`)
 * took one stop for two.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openByteStream } from '../../drivers/transport/byte-stream.ts';
import { SimNetwork } from '../../drivers/transport/sim-network.ts';
import { ScannerSim } from '../../drivers/sim/scanner-sim.ts';
import { until } from './helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Destroy `stream` and count its `close` events until the destroy has finished and every event it queued has run. */
async function closesOnDestroy(stream: Duplex): Promise<number> {
  let closes = 0;
  stream.on('close', () => (closes += 1));
  stream.destroy();
  await until(() => stream.closed && closes > 0, undefined, 'the stream closed');
  // 'close' is emitted from process.nextTick after the destroy: a turn of the event loop runs every one queued
  await new Promise((resolve) => setImmediate(resolve));
  return closes;
}

function simStream(): { network: SimNetwork; open: () => Promise<Duplex> } {
  const network = new SimNetwork();
  network.attach('scanner', new ScannerSim());
  return { network, open: () => openByteStream('sim://scanner', network) };
}

describe('a byte stream', () => {
  it('on a serial port (serialport stream), emits close once when destroyed, and the port is closed', async () => {
    const { network, open } = simStream();
    const stream = await open();
    expect(network.isOpen('scanner')).toBe(true);
    expect(await closesOnDestroy(stream)).toBe(1);
    expect(network.isOpen('scanner')).toBe(false);
    // the port can be opened again (nothing held it)
    const again = await open();
    expect(await closesOnDestroy(again)).toBe(1);
  });

  it('on a serial port destroyed while a read waits for bytes, emits close once', async () => {
    const { open } = simStream();
    const stream = await open();
    stream.on('data', () => undefined); // flowing: a read is pending on the port
    expect(await closesOnDestroy(stream)).toBe(1);
  });

  it('on TCP, emits close once when destroyed', async () => {
    const server: Server = createServer((s) => s.on('error', () => undefined));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const stream = await openByteStream(`tcp://127.0.0.1:${port}`);
    expect(await closesOnDestroy(stream)).toBe(1);
  });
});
