/**
 * The in-process "wiring" between drivers and simulators: a serialport binding
 * (@serialport/bindings-interface) whose ports are named endpoints served by simulated
 * devices instead of OS devices. Drivers open `sim://name` through the same SerialPortStream
 * and modbus-serial code path as a real port, so tests exercise the real driver stack.
 */
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  UpdateOptions,
} from '@serialport/bindings-interface' with { 'resolution-mode': 'require' }; // its package.json exports carry no types for ESM

/** The device side of a simulated wire. */
export interface SimDevicePort {
  /** Bytes the host wrote to the port. */
  fromHost(bytes: Buffer): void;
  /** A sender while a host has the port open; null when it closes. */
  connect(toHost: ((bytes: Buffer) => void) | null): void;
}

interface BindingError extends Error {
  canceled?: boolean;
}

function canceledError(message: string): BindingError {
  const err: BindingError = new Error(message);
  err.canceled = true;
  return err;
}

class SimPort implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  private yanked = false;
  private readonly incoming: Buffer[] = [];
  private pendingRead: { resolve: (n: number) => void; reject: (e: Error) => void; buffer: Buffer; offset: number; length: number } | null = null;

  constructor(
    options: OpenOptions,
    private readonly network: SimNetwork,
    private readonly device: SimDevicePort,
  ) {
    this.openOptions = {
      dataBits: 8,
      lock: true,
      stopBits: 1,
      parity: 'none',
      rtscts: false,
      xon: false,
      xoff: false,
      xany: false,
      hupcl: true,
      ...options,
    };
    device.connect((bytes) => this.deliver(bytes));
  }

  private deliver(bytes: Buffer): void {
    if (!this.isOpen || this.yanked || bytes.length === 0) return;
    this.incoming.push(Buffer.from(bytes));
    this.flushRead();
  }

  private flushRead(): void {
    const pending = this.pendingRead;
    if (!pending || this.incoming.length === 0) return;
    this.pendingRead = null;
    let n = 0;
    while (n < pending.length && this.incoming.length > 0) {
      const head = this.incoming[0] as Buffer;
      const take = Math.min(head.length, pending.length - n);
      head.copy(pending.buffer, pending.offset + n, 0, take);
      n += take;
      if (take === head.length) this.incoming.shift();
      else this.incoming[0] = head.subarray(take);
    }
    pending.resolve(n);
  }

  /** Unplugged: in-flight reads fail with a non-canceled error, which serialport treats as a disconnection. */
  yank(): void {
    if (!this.isOpen || this.yanked) return;
    // isOpen stays true until serialport closes us: it ignores errors from a port it thinks closed.
    this.yanked = true;
    this.device.connect(null);
    const pending = this.pendingRead;
    this.pendingRead = null;
    pending?.reject(new Error('simulated device unplugged'));
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    if (!this.yanked) this.device.connect(null);
    this.network.forget(this);
    const pending = this.pendingRead;
    this.pendingRead = null;
    pending?.reject(canceledError('port closed'));
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) return Promise.reject(canceledError('port closed'));
    if (this.yanked) return Promise.reject(new Error('simulated device unplugged'));
    return new Promise((resolve, reject) => {
      this.pendingRead = { resolve: (bytesRead) => resolve({ buffer, bytesRead }), reject, buffer, offset, length };
      this.flushRead();
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw canceledError('port closed');
    if (this.yanked) throw new Error('simulated device unplugged');
    const copy = Buffer.from(buffer);
    // The device answers on a later turn of the event loop, as a real UART would.
    setImmediate(() => {
      if (this.isOpen && !this.yanked) this.device.fromHost(copy);
    });
  }

  async update(_options: UpdateOptions): Promise<void> {}
  async set(): Promise<void> {}
  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: true };
  }
  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.openOptions.baudRate };
  }
  async flush(): Promise<void> {
    this.incoming.length = 0;
  }
  async drain(): Promise<void> {}
}

/** Named simulated endpoints and the binding that opens them. One per simulated store. */
export class SimNetwork {
  private readonly devices = new Map<string, SimDevicePort>();
  private readonly unplugged = new Set<string>();
  private readonly open = new Map<string, SimPort>();
  readonly binding: BindingInterface;

  constructor() {
    this.binding = {
      list: async (): Promise<PortInfo[]> =>
        [...this.devices.keys()].map((path) => ({
          path,
          manufacturer: 'store-edge simulator',
          serialNumber: undefined,
          pnpId: undefined,
          locationId: undefined,
          productId: undefined,
          vendorId: undefined,
        })),
      open: async (options: OpenOptions): Promise<BindingPortInterface> => {
        const device = this.devices.get(options.path);
        if (!device) throw new Error(`no simulated device at ${options.path}`);
        if (this.unplugged.has(options.path)) throw new Error(`simulated device ${options.path} is unplugged`);
        if (this.open.has(options.path)) throw new Error(`simulated port ${options.path} is already open`);
        const port = new SimPort(options, this, device);
        this.open.set(options.path, port);
        return port;
      },
    };
  }

  attach(name: string, device: SimDevicePort): void {
    this.devices.set(name, device);
  }

  /** USB cable pulled: the open port fails, and opening it fails until `plug`. */
  unplug(name: string): void {
    this.unplugged.add(name);
    const port = this.open.get(name);
    this.open.delete(name);
    port?.yank();
  }

  plug(name: string): void {
    this.unplugged.delete(name);
  }

  isOpen(name: string): boolean {
    return this.open.has(name);
  }

  /** @internal called by a port that closed itself. */
  forget(port: SimPort): void {
    for (const [name, p] of this.open) if (p === port) this.open.delete(name);
  }
}
