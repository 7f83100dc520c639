/**
 * TCP connections to serial device servers (RS-485 lines, a scanner). The connect is bounded:
 * a device server that never answers the handshake (hung, unplugged, a full accept queue)
 * would otherwise hold the caller for the kernel's SYN retries, over two minutes. Keepalive is
 * on, so a device server that rebooted is noticed even by a port that only reads.
 */
import { createConnection, type Socket } from 'node:net';
import { DriverError } from '../errors.ts';

/** How long an idle connection waits before the first keepalive probe. */
const KEEPALIVE_MS = 10_000;

export function connectTcp(host: string, port: number, connectTimeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.removeListener('connect', onConnect);
      socket.destroy();
      reject(new DriverError('TIMEOUT', `tcp://${host}:${port}: no connection within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    const onConnect = (): void => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEPALIVE_MS);
      resolve(socket);
    };
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}
