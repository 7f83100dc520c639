/**
 * A simulated device behind a TCP port, like an RS-485 (or RS-232) serial device server in
 * raw mode: bytes from the TCP client go to the device, the device's bytes go back.
 * One client at a time and the newest wins, because a daemon that was SIGKILLed may leave
 * its old connection half-open for a while and must not be locked out when it restarts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { SimDevicePort } from '../transport/sim-network.ts';

export class TcpDevicePort {
  private server: Server | null = null;
  private socket: Socket | null = null;
  private unplugged = false;
  /** Connections accepted since start. */
  connections = 0;

  constructor(
    private readonly device: SimDevicePort,
    private readonly host: string,
    private readonly port: number,
  ) {}

  get connected(): boolean {
    return this.socket !== null;
  }

  /** Listens; resolves with the `tcp://host:port` URL the drivers open. */
  async start(): Promise<string> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('TCP device port has no address');
    return `tcp://${this.host}:${addr.port}`;
  }

  async stop(): Promise<void> {
    this.drop();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** The cable is pulled: the connection drops and new ones are refused until `plug`. */
  unplug(): void {
    this.unplugged = true;
    this.drop();
  }

  plug(): void {
    this.unplugged = false;
  }

  /** Drops the present connection (the device server lost its line); new ones are accepted. */
  drop(): void {
    const s = this.socket;
    if (!s) return;
    this.socket = null;
    this.device.connect(null);
    s.destroy();
  }

  private accept(socket: Socket): void {
    if (this.unplugged) {
      socket.destroy();
      return;
    }
    this.drop();
    this.connections += 1;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      if (this.socket === socket) this.device.fromHost(b);
    });
    socket.on('error', () => undefined); // a reset from a killed daemon is expected; 'close' follows
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.device.connect(null);
    });
    this.device.connect((bytes) => {
      if (this.socket === socket && !socket.destroyed) socket.write(bytes);
    });
  }
}
