/**
 * The only file that imports modbus-serial. We use its buffered RTU client because its frame
 * assembly and CRC checks are well kept; what we depend on beyond its typed API is here and
 * checked when a port opens, so that a library upgrade that changes it fails here, loudly
 * (CONFIG_INVALID naming the missing piece), not as a subtle misbehaviour on the line:
 * - its private `_port._buffer` (bytes kept across requests), cleared after a failure;
 * - `writeCustomFC` for an FC05 with a value other than FF00/0000;
 * - its "Telnet" port for raw RTU over TCP;
 * - failures reported as plain Errors, mapped to DriverError codes (partly by message text);
 * - a timeout of 0 arming no timer of its own: the reply deadline is ours (./reply-deadline.ts),
 *   because the library's plain timer declares a reply that came in time missing whenever the
 *   event loop was busy when it expired.
 * The contract tests (tests/drivers/modbus-serial-adapter.test.ts) run it against
 * fixtures/serial/*.hex.
 */
import type { EventEmitter } from 'node:events';
import ModbusSerial from 'modbus-serial';
import { DriverError } from '../errors.ts';
import { replyDeadline } from './reply-deadline.ts';
import type { SimNetwork } from '../transport/sim-network.ts';
import { connectTcp } from '../transport/tcp.ts';
import type { TransportSpec } from '../transport/url.ts';
import type { ModbusReply, ModbusRequest } from './request.ts';

// modbus-serial is CommonJS; under NodeNext its class is the `default` of the module object.
const ModbusRTU = ModbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

export interface RtuClientOptions {
  /** How long to wait for a reply. */
  responseTimeoutMs: number;
  /** How long a TCP device server may take to accept the connection (default 3000). */
  connectTimeoutMs?: number;
  /** The serialport binding that serves `sim://` transports. */
  simBinding?: SimNetwork['binding'];
  /** Called once when the port closes or reports an error after opening. */
  onClose: () => void;
  onError: (err: unknown) => void;
}

/** One open connection to an RTU line through modbus-serial. */
export class RtuClient {
  private closed = false;
  private readonly handleClose = (): void => this.opts.onClose();
  private readonly handleError = (err: unknown): void => this.opts.onError(err);

  private constructor(private readonly client: Client, private readonly opts: RtuClientOptions) {
    // no timer of the library's: transact() keeps the deadline
    client.setTimeout(0);
    // The typings omit that the client is an EventEmitter (it is at run time).
    const emitter = client as unknown as EventEmitter;
    emitter.on('close', this.handleClose);
    emitter.on('error', this.handleError);
  }

  /** Opens the transport. Rejects with the library's error when the port cannot be opened. */
  static async open(spec: TransportSpec, opts: RtuClientOptions): Promise<RtuClient> {
    const client = new ModbusRTU();
    try {
      switch (spec.kind) {
        case 'serial':
          await client.connectRTUBuffered(spec.path, { baudRate: spec.baudRate, parity: spec.parity, stopBits: spec.stopBits, dataBits: 8 });
          break;
        case 'tcp':
          // A serial device server in raw mode passes RTU frames (with CRC) through unchanged.
          // That is modbus-serial's "Telnet" port; its "TcpRTUBuffered" port, despite the
          // name, wraps frames in a Modbus TCP (MBAP) header, which only a Modbus gateway
          // understands, not a transparent RS-485 server.
          // The socket is ours, connected first: its connect is bounded and kept alive
          // (../transport/tcp.ts); the library takes an open socket as it is.
          await client.connectTelnet(spec.host, { port: spec.port, socket: await connectTcp(spec.host, spec.port, opts.connectTimeoutMs ?? 3000) } as never);
          break;
        case 'sim':
          // modbus-serial passes its options on to serialport, so a custom binding slots in
          // and the simulated wire runs through the same stream code as a real port.
          await client.connectRTUBuffered(spec.name, { baudRate: spec.baudRate, binding: opts.simBinding } as never);
          break;
      }
      checkInternals(client);
    } catch (err) {
      closeQuietly(client);
      throw err;
    }
    return new RtuClient(client, opts);
  }

  /**
   * One request/response. Always settles, even if the library never calls back, and rejects
   * only with a DriverError (TIMEOUT, CRC, BAD_REPLY, EXCEPTION, PORT_UNAVAILABLE). The reply
   * is overdue after the response time on a loop that was free to read it (./reply-deadline.ts):
   * a stall of the event loop does not turn a reply that came in time into a timeout.
   */
  transact(req: ModbusRequest): Promise<ModbusReply> {
    const client = this.client;
    const ms = this.opts.responseTimeoutMs;
    return new Promise<ModbusReply>((resolve, reject) => {
      let done = false;
      const deadline = replyDeadline(() => finish(new DriverError('TIMEOUT', `${req.fn} to unit ${req.unit}: no reply within ${ms} ms`)), { ms });
      const finish = (err: unknown, reply?: ModbusReply): void => {
        if (done) return;
        done = true;
        deadline.cancel();
        if (err) reject(toDriverError(err));
        else resolve(reply as ModbusReply);
      };
      const bits = (err: unknown, res: { data: boolean[] } | undefined) => finish(err, err ? undefined : { bits: res?.data ?? [] });
      const regs = (err: unknown, res: { data: number[] } | undefined) => finish(err, err ? undefined : { registers: res?.data ?? [] });
      const wrote = (check: (res: { address: number }) => boolean) => (err: unknown, res: { address: number } | undefined) => {
        if (err) return finish(err);
        if (!res || !check(res)) return finish(new DriverError('BAD_REPLY', `${req.fn} to unit ${req.unit}: echo does not match the request`));
        finish(null, { written: true });
      };
      try {
        switch (req.fn) {
          case 'read_coils':
            return client.writeFC1(req.unit, req.address, req.count, bits);
          case 'read_discrete_inputs':
            return client.writeFC2(req.unit, req.address, req.count, bits);
          case 'read_holding_registers':
            return client.writeFC3(req.unit, req.address, req.count, regs);
          case 'write_coil':
            return client.writeFC5(req.unit, req.address, req.on, wrote((r) => r.address === req.address));
          case 'write_coil_value':
            // writeCoil can only send FF00/0000; the relay board's timed pulse needs another
            // value, so the frame goes through the custom function path (same framing, CRC
            // and reply parsing as FC05).
            return client.writeCustomFC(req.unit, 5, [req.address >> 8, req.address & 0xff, (req.value >> 8) & 0xff, req.value & 0xff], wrote((r) => r.address === req.address) as never);
          case 'write_register':
            return client.writeFC6(req.unit, req.address, req.value, wrote((r) => r.address === req.address));
          case 'write_registers':
            return client.writeFC16(req.unit, req.address, req.values, wrote((r) => r.address === req.address));
        }
      } catch (err) {
        finish(err);
      }
    });
  }

  /**
   * The buffered port keeps unmatched bytes across requests, so after a timeout a truncated or
   * late reply would be glued to the next answer. Clearing them starts a retry from a clean
   * buffer, as a real master does after the 3.5-character silence.
   */
  discardStaleBytes(): void {
    portOf(this.client)._buffer = Buffer.alloc(0);
  }

  /** Closes the port; our close/error callbacks are removed first, so onClose does not fire. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const emitter = this.client as unknown as EventEmitter;
    emitter.removeListener('close', this.handleClose);
    emitter.removeListener('error', this.handleError);
    await new Promise<void>((resolve) => {
      try {
        this.client.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

interface PrivatePort {
  _buffer?: unknown;
}

function portOf(client: Client): PrivatePort {
  return (client as unknown as { _port?: PrivatePort })._port ?? {};
}

/** What we use beyond the typed API must be there; a changed library is refused at open. */
export function checkInternals(client: Client): void {
  const missing: string[] = [];
  if (!Buffer.isBuffer(portOf(client)._buffer)) missing.push('the port\'s _buffer (stale bytes are cleared through it)');
  if (typeof client.writeCustomFC !== 'function') missing.push('writeCustomFC (the relay board\'s timed pulse)');
  if (missing.length > 0) {
    throw new DriverError('CONFIG_INVALID', `modbus-serial has changed: missing ${missing.join(', ')}; drivers/modbus/modbus-serial-adapter.ts must be adapted to this version`);
  }
}

/**
 * modbus-serial reports failures as plain Errors; this is the one place that reads them.
 * It has typed classes only for timeouts and a closed port, so the rest is matched by message.
 */
export function toDriverError(err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const e = err as { name?: string; message?: string; modbusCode?: number };
  const msg = e?.message ?? String(err);
  if (e?.name === 'TransactionTimedOutError') return new DriverError('TIMEOUT', 'no reply in time', { cause: err });
  if (e?.name === 'PortNotOpenError') return new DriverError('PORT_UNAVAILABLE', 'port not open', { cause: err });
  if (typeof e?.modbusCode === 'number') return new DriverError('EXCEPTION', msg, { cause: err, modbusCode: e.modbusCode });
  if (/CRC/i.test(msg)) return new DriverError('CRC', 'reply with bad CRC', { cause: err });
  return new DriverError('BAD_REPLY', msg, { cause: err });
}

function closeQuietly(client: Client): void {
  try {
    client.close(() => undefined);
  } catch {
    // nothing was open
  }
}
