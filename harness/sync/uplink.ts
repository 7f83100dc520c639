/**
 * A store's uplink: its way to the broker, which bench:sync (and a test) holds down
 * while the stores run offline and opens at the moment the drain is timed from. Closed, it
 * refuses connections (nothing listens on its port), as a village whose line is down; open,
 * it passes each connection through to the broker, byte for byte, with Nagle off both ways.
 * The ledger and the raw QoS 1 publisher reach the broker directly (the town's own network).
 * A broker restart drops the connection behind the uplink, and so the store's. It runs on the
 * main thread, which otherwise only polls the progress: on the broker's thread, passing the
 * stores' bytes along took CPU from the broker itself.
 */
import net from 'node:net';
import { freePort } from '../free-port.ts';

export class Uplink {
  private server: net.Server | undefined;
  private port = 0;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly target: { host: string; port: number }) {}

  /** The address stores connect to; the port is taken now (then let go until `open`). */
  async reserve(): Promise<string> {
    this.port = await freePort();
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((down) => {
      const up = net.connect(this.target.port, this.target.host);
      for (const s of [down, up]) {
        s.setNoDelay(true);
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          down.destroy();
          up.destroy();
        });
      }
      down.pipe(up);
      up.pipe(down);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
