/**
 * The demo's embedded MQTT broker: aedes in this process, on 127.0.0.1 (a free port unless one
 * is given), so `npm start` needs no broker installed. It keeps retained messages and queued
 * sessions in memory only: the store's agent and the village ledger recover what a restart
 * drops (snapshots on reconnect, retransmission until acknowledged).
 */
import net from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(opts: { host?: string; port?: number } = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const aedes = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://${host}:${port}`,
    close: async () => {
      // clients that are still connected would keep the server open: they reconnect elsewhere or not at all
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
