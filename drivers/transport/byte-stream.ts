/**
 * Opens a plain byte stream for a transport URL, for devices that are not Modbus (the
 * scanner). The Modbus buses open their ports through modbus-serial instead (modbus/bus.ts).
 */
import { createConnection, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { DriverError } from '../errors.ts';
import type { SimNetwork } from './sim-network.ts';
import { parseTransportUrl } from './url.ts';

export async function openByteStream(url: string, simNetwork?: SimNetwork): Promise<Duplex> {
  const spec = parseTransportUrl(url);
  switch (spec.kind) {
    case 'serial': {
      const port = new SerialPort({ path: spec.path, baudRate: spec.baudRate, parity: spec.parity, stopBits: spec.stopBits, dataBits: 8, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      return port;
    }
    case 'sim': {
      if (!simNetwork) throw new DriverError('CONFIG_INVALID', `${url} needs the simulator (drivers.simulated)`);
      const port = new SerialPortStream({ binding: simNetwork.binding, path: spec.name, baudRate: spec.baudRate, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      return port;
    }
    case 'tcp': {
      const socket: Socket = createConnection({ host: spec.host, port: spec.port });
      socket.setNoDelay(true);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      return socket;
    }
  }
}

/** Ports the OS reports, for `store-edge ports`. */
export async function listSerialPorts(): Promise<Array<{ path: string; manufacturer?: string; serialNumber?: string; vendorId?: string; productId?: string; pnpId?: string }>> {
  const ports = await SerialPort.list();
  return ports.map((p) => ({
    path: p.path,
    ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
    ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
    ...(p.vendorId ? { vendorId: p.vendorId } : {}),
    ...(p.productId ? { productId: p.productId } : {}),
    ...(p.pnpId ? { pnpId: p.pnpId } : {}),
  }));
}
