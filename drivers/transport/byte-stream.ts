/**
 * Opens a plain byte stream for a transport URL, for devices that are not Modbus (the
 * scanner). The Modbus buses open their ports through modbus-serial instead (modbus/bus.ts).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { DriverError } from '../errors.ts';
import type { SimNetwork } from './sim-network.ts';
import { parseTransportUrl } from './url.ts';
import { connectTcp } from './tcp.ts';

/** `connectTimeoutMs` bounds a TCP connect (./tcp.ts). */
export async function openByteStream(url: string, simNetwork?: SimNetwork, connectTimeoutMs = 3000): Promise<Duplex> {
  const spec = parseTransportUrl(url);
  switch (spec.kind) {
    case 'serial': {
      const port = new SerialPort({ path: spec.path, baudRate: spec.baudRate, parity: spec.parity, stopBits: spec.stopBits, dataBits: 8, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      return closedOnDestroy(port);
    }
    case 'sim': {
      if (!simNetwork) throw new DriverError('CONFIG_INVALID', `${url} needs the simulator (drivers.simulated)`);
      const port = new SerialPortStream({ binding: simNetwork.binding, path: spec.name, baudRate: spec.baudRate, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      return closedOnDestroy(port);
    }
    case 'tcp':
      return connectTcp(spec.host, spec.port, connectTimeoutMs);
  }
}

/**
 * serialport's stream has no _destroy of its own: destroy() ends the stream but leaves the
 * port open, its file descriptor and read poller with it, which keep the process alive after
 * it has finished (the daemon after SIGTERM, the doctor after its table). Here destroy()
 * closes the port first, so a caller can end every kind of byte stream the same way.
 *
 * The port is closed through its binding, not the stream's close(): that one emits `close`
 * itself, and the destroy then emitted a second, so a stream said `close` twice for one end
 * (tests/drivers/byte-stream-close.test.ts). Destroyed, it says it once, as a socket does.
 */
function closedOnDestroy(port: SerialPortStream): Duplex {
  port._destroy = (err, callback) => {
    // a close that fails has nothing left to close; a port not open (or being closed after a
    // disconnect, which finishes by itself) has nothing to close
    const binding = port.port;
    if (port.isOpen && binding) {
      port.closing = true; // isOpen false from now: serialport's own close() and reads leave the port alone
      binding.close().then(
        () => callback(err),
        () => callback(err),
      );
    } else callback(err);
  };
  return port;
}

/** Ports the OS reports, for `store-edge ports`. */
export interface SerialPortInfo { path: string; byId?: string; manufacturer?: string; serialNumber?: string; vendorId?: string; productId?: string; pnpId?: string }

/**
 * The serial ports the OS sees. serialport's list asks udev (`udevadm`), which minimal
 * systems and containers lack; then the device nodes themselves are listed, with their
 * stable /dev/serial/by-id names, which are what a maintainer should put in the config.
 */
export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  let ports: SerialPortInfo[];
  try {
    ports = (await SerialPort.list()).map((p) => ({
      path: p.path,
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      ...(p.vendorId ? { vendorId: p.vendorId } : {}),
      ...(p.productId ? { productId: p.productId } : {}),
      ...(p.pnpId ? { pnpId: p.pnpId } : {}),
    }));
  } catch {
    ports = listDeviceNodes();
  }
  const byId = stableNames();
  return ports.map((p) => (byId.has(p.path) ? { ...p, byId: byId.get(p.path)! } : p));
}

const SERIAL_NODE = /^tty(USB|ACM|S|AMA|XRUSB|CH34)\d+$/;

function listDeviceNodes(): SerialPortInfo[] {
  try {
    return readdirSync('/dev')
      .filter((n) => SERIAL_NODE.test(n) && !/^ttyS\d+$/.test(n)) // ttyS* are mostly absent UARTs
      .sort()
      .map((n) => ({ path: `/dev/${n}` }));
  } catch {
    return [];
  }
}

/** /dev/serial/by-id/<name> → the device it points at. */
function stableNames(): Map<string, string> {
  const map = new Map<string, string>();
  const dir = '/dev/serial/by-id';
  try {
    for (const name of readdirSync(dir)) {
      const link = path.join(dir, name);
      map.set(path.resolve(dir, readlinkSync(link)), link);
    }
  } catch {
    // no udev links on this system
  }
  return map;
}
