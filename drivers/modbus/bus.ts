/**
 * One Modbus RTU bus (a serial port, a TCP serial server or a simulated wire) and the only
 * file that imports modbus-serial. We use its buffered RTU client because its frame
 * assembly and CRC checks are well kept; on top of it we add what it lacks:
 * - one queue per bus with priorities (an unlock jumps ahead of scale polling), because
 *   the RTU client allows only one outstanding request;
 * - retries within bounds, a quiet time after a failure, and fault counting;
 * - reopening a vanished port with backoff, reporting the bus degraded meanwhile.
 */
import type { EventEmitter } from 'node:events';
import ModbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import { GuardedEmitter } from '../guarded-emitter.ts';
import { Backoff } from '../../lib/backoff.ts';
import type { ModbusBusConfig } from '../config.ts';
import { DriverError, type DriverErrorCode } from '../errors.ts';
import type { SimNetwork } from '../transport/sim-network.ts';
import { parseTransportUrl, type TransportSpec } from '../transport/url.ts';
import { FaultLog, type FaultKind } from './fault-log.ts';

/** Lower number runs first. */
export const PRIORITY = { unlock: 0, control: 1, poll: 2 } as const;
export type Priority = keyof typeof PRIORITY;

export type ModbusRequest =
  | { fn: 'read_coils'; unit: number; address: number; count: number }
  | { fn: 'read_discrete_inputs'; unit: number; address: number; count: number }
  | { fn: 'read_holding_registers'; unit: number; address: number; count: number }
  | { fn: 'write_coil'; unit: number; address: number; on: boolean }
  /** FC05 with a value other than FF00/0000 (e.g. the relay board's timed pulse). */
  | { fn: 'write_coil_value'; unit: number; address: number; value: number }
  | { fn: 'write_register'; unit: number; address: number; value: number }
  | { fn: 'write_registers'; unit: number; address: number; values: number[] };

export type ModbusReply = { bits: boolean[] } | { registers: number[] } | { written: true };

export type BusHealth = 'stopped' | 'connecting' | 'up' | 'degraded';

export interface BusEvents {
  health: [{ url: string; health: BusHealth; reason?: string }];
}

export interface BusStats {
  url: string;
  health: BusHealth;
  requests: number;
  retries: number;
  failures: number;
  reconnects: number;
  faults: Record<FaultKind, number>;
}

export interface ModbusBusOptions {
  url: string;
  config: ModbusBusConfig;
  logger: Logger;
  /** Serves `sim://` URLs; required only for them. */
  simNetwork?: SimNetwork;
}

/**
 * One turn on the bus: a request, or a short sequence that must not be split (an unlock's
 * pulse and its readback), run back to back without letting another job in between.
 */
interface Job {
  reqs: readonly ModbusRequest[];
  resolve: (r: ModbusReply[]) => void;
  reject: (e: Error) => void;
}

// modbus-serial is CommonJS; under NodeNext its class is the `default` of the module object.
const ModbusRTU = ModbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

export class ModbusBus extends GuardedEmitter<BusEvents> {
  private readonly spec: TransportSpec;
  private readonly faults: FaultLog;
  private client: Client | null = null;
  private state: BusHealth = 'stopped';
  private readonly queues: Job[][] = [[], [], []];
  private waiting = 0;
  private busy = false;
  private readonly reconnect: Backoff;
  private counters = { requests: 0, retries: 0, failures: 0, reconnects: 0 };
  private readonly onClientClose = (): void => this.lost('port closed');
  private readonly onClientError = (err: unknown): void => {
    this.faults.record('port_error', { url: this.spec.url }, `port error: ${String(err)}`);
  };

  constructor(private readonly opts: ModbusBusOptions) {
    super(opts.logger.child({ bus: opts.url }));
    this.spec = parseTransportUrl(opts.url);
    this.faults = new FaultLog(this.log, opts.config.fault_log_interval_ms);
    this.reconnect = new Backoff({ firstMs: opts.config.reconnect_initial_ms, maxMs: opts.config.reconnect_max_ms });
    if (this.spec.kind === 'sim' && !opts.simNetwork) {
      throw new DriverError('CONFIG_INVALID', `${opts.url} needs the simulator (drivers.simulated)`);
    }
  }

  get url(): string {
    return this.spec.url;
  }

  get health(): BusHealth {
    return this.state;
  }

  /** Opens the port. Never throws for a missing device: the bus goes degraded and keeps trying. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.setHealth('connecting');
    await this.connect();
  }

  async stop(): Promise<void> {
    this.reconnect.cancel();
    this.setHealth('stopped');
    this.rejectWaiting(new DriverError('STOPPED', 'bus stopped'));
    await this.closeClient();
  }

  stats(): BusStats {
    return { url: this.spec.url, health: this.state, ...this.counters, faults: { ...this.faults.counts } };
  }

  async request(req: ModbusRequest, priority: Priority): Promise<ModbusReply> {
    const [reply] = await this.sequence([req], priority);
    return reply as ModbusReply;
  }

  /**
   * Runs `reqs` in order as one turn on the bus: no other job runs between them, and the
   * first failure (after its retries) ends the turn. An unlock uses this so a scale poll
   * cannot slip in between the pulse and its readback.
   */
  sequence(reqs: readonly ModbusRequest[], priority: Priority): Promise<ModbusReply[]> {
    if (this.state !== 'up') {
      return Promise.reject(new DriverError('PORT_UNAVAILABLE', `bus ${this.spec.url} is ${this.state}`));
    }
    if (this.waiting >= this.opts.config.queue_limit) {
      return Promise.reject(new DriverError('QUEUE_FULL', `bus ${this.spec.url}: ${this.waiting} requests waiting`));
    }
    return new Promise((resolve, reject) => {
      (this.queues[PRIORITY[priority]] as Job[]).push({ reqs, resolve, reject });
      this.waiting += 1;
      this.pump();
    });
  }

  async readBits(kind: 'coils' | 'discrete_inputs', unit: number, address: number, count: number, priority: Priority): Promise<boolean[]> {
    const fn = kind === 'coils' ? 'read_coils' : 'read_discrete_inputs';
    const reply = await this.request({ fn, unit, address, count }, priority);
    if (!('bits' in reply) || reply.bits.length < count) throw new DriverError('BAD_REPLY', `${fn} ${unit}/${address}: short reply`);
    return reply.bits.slice(0, count);
  }

  async readRegisters(unit: number, address: number, count: number, priority: Priority): Promise<number[]> {
    const reply = await this.request({ fn: 'read_holding_registers', unit, address, count }, priority);
    if (!('registers' in reply) || reply.registers.length !== count) throw new DriverError('BAD_REPLY', `read ${unit}/${address}: wrong register count`);
    return reply.registers;
  }

  // ---- queue ----

  private pump(): void {
    if (this.busy) return;
    const job = this.nextJob();
    if (!job) return;
    this.busy = true;
    void this.runJob(job).finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private nextJob(): Job | undefined {
    for (const q of this.queues) {
      if (q.length > 0) {
        this.waiting -= 1;
        return q.shift();
      }
    }
    return undefined;
  }

  private async runJob(job: Job): Promise<void> {
    const replies: ModbusReply[] = [];
    try {
      for (const req of job.reqs) replies.push(await this.runWithRetries(req));
    } catch (err) {
      job.reject(err as Error);
      return;
    }
    job.resolve(replies);
  }

  private async runWithRetries(req: ModbusRequest): Promise<ModbusReply> {
    const { retries, quiet_after_error_ms } = this.opts.config;
    this.counters.requests += 1;
    let lastError: DriverError | null = null;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const client = this.client;
      if (this.state !== 'up' || !client) throw new DriverError('PORT_UNAVAILABLE', `bus ${this.spec.url} is ${this.state}`);
      if (attempt > 0) this.counters.retries += 1;
      try {
        const reply = await this.transact(client, req);
        if (this.faults.inBurst) this.faults.recovered({ url: this.spec.url, unit: req.unit });
        return reply;
      } catch (err) {
        lastError = toDriverError(err);
        const kind = faultKind(lastError.code);
        if (kind) this.faults.record(kind, { url: this.spec.url, unit: req.unit, fn: req.fn, attempt }, lastError.message);
        // An exception is the slave's considered answer, and a closed port will not answer.
        if (lastError.code === 'EXCEPTION' || lastError.code === 'PORT_UNAVAILABLE') break;
        await sleep(quiet_after_error_ms);
        discardStaleBytes(client);
      }
    }
    this.counters.failures += 1;
    throw lastError ?? new DriverError('TIMEOUT', 'no attempt made');
  }

  /** One request/response through modbus-serial, with our own guard in case it never calls back. */
  private transact(client: Client, req: ModbusRequest): Promise<ModbusReply> {
    const guardMs = this.opts.config.response_timeout_ms + 50;
    return new Promise<ModbusReply>((resolve, reject) => {
      let done = false;
      const guard = setTimeout(() => finish(new DriverError('TIMEOUT', `${req.fn} to unit ${req.unit}: no callback`)), guardMs);
      const finish = (err: unknown, reply?: ModbusReply): void => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        if (err) reject(err);
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
            // value, so the frame goes through modbus-serial's custom function path (same
            // framing, CRC and reply parsing as FC05).
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

  // ---- connection ----

  private async connect(): Promise<void> {
    const client = new ModbusRTU();
    try {
      const spec = this.spec;
      switch (spec.kind) {
        case 'serial':
          await client.connectRTUBuffered(spec.path, { baudRate: spec.baudRate, parity: spec.parity, stopBits: spec.stopBits, dataBits: 8 });
          break;
        case 'tcp':
          // A serial device server in raw mode passes RTU frames (with CRC) through unchanged.
          // That is modbus-serial's "Telnet" port; its "TcpRTUBuffered" port, despite the
          // name, wraps frames in a Modbus TCP (MBAP) header, which only a Modbus gateway
          // understands, not a transparent RS-485 server.
          await client.connectTelnet(spec.host, { port: spec.port });
          break;
        case 'sim':
          // modbus-serial passes its options on to serialport, so a custom binding slots in
          // and the simulated wire runs through the same stream code as a real port.
          await client.connectRTUBuffered(spec.name, { baudRate: spec.baudRate, binding: this.opts.simNetwork?.binding } as never);
          break;
      }
    } catch (err) {
      this.faults.record('port_error', { url: this.spec.url }, `cannot open: ${String(err)}`);
      destroyQuietly(client);
      if (this.state === 'stopped') return;
      this.scheduleReconnect(`cannot open: ${String(err)}`);
      return;
    }
    if (this.state === 'stopped') {
      destroyQuietly(client);
      return;
    }
    client.setTimeout(this.opts.config.response_timeout_ms);
    client.on('close', this.onClientClose);
    client.on('error', this.onClientError);
    this.client = client;
    this.reconnect.reset();
    this.setHealth('up');
  }

  private lost(reason: string): void {
    if (this.state === 'stopped' || this.state === 'degraded') return;
    this.faults.record('port_error', { url: this.spec.url }, `port lost: ${reason}`);
    void this.closeClient();
    this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    this.setHealth('degraded', reason);
    // Requests waiting for a port that is gone fail now; callers decide whether to retry.
    this.rejectWaiting(new DriverError('PORT_UNAVAILABLE', `bus ${this.spec.url}: ${reason}`));
    this.reconnect.schedule(() => {
      this.counters.reconnects += 1;
      void this.connect();
    });
  }

  private rejectWaiting(err: DriverError): void {
    this.waiting = 0;
    for (const q of this.queues) for (const job of q.splice(0)) job.reject(err);
  }

  private async closeClient(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    // The typings omit that the client is an EventEmitter (it is at run time).
    const emitter = client as unknown as EventEmitter;
    emitter.removeListener('close', this.onClientClose);
    emitter.removeListener('error', this.onClientError);
    await new Promise<void>((resolve) => {
      try {
        client.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private setHealth(health: BusHealth, reason?: string): void {
    if (this.state === health) return;
    this.state = health;
    if (health === 'degraded') this.log.warn({ reason }, 'bus degraded, reopening with backoff');
    else if (health === 'up') this.log.info('bus up');
    this.fire('health', reason === undefined ? { url: this.spec.url, health } : { url: this.spec.url, health, reason });
  }
}

function faultKind(code: DriverErrorCode): FaultKind | null {
  switch (code) {
    case 'TIMEOUT':
      return 'timeout';
    case 'CRC':
      return 'crc';
    case 'BAD_REPLY':
      return 'bad_reply';
    case 'EXCEPTION':
      return 'exception';
    case 'PORT_UNAVAILABLE':
      return 'port_error';
    default:
      return null;
  }
}

/**
 * modbus-serial reports failures as plain Errors; this is the one place that reads them.
 * It has typed classes only for timeouts and a closed port, so the rest is matched by message.
 */
function toDriverError(err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const e = err as { name?: string; message?: string; modbusCode?: number };
  const msg = e?.message ?? String(err);
  if (e?.name === 'TransactionTimedOutError') return new DriverError('TIMEOUT', 'no reply in time', { cause: err });
  if (e?.name === 'PortNotOpenError') return new DriverError('PORT_UNAVAILABLE', 'port not open', { cause: err });
  if (typeof e?.modbusCode === 'number') return new DriverError('EXCEPTION', msg, { cause: err, modbusCode: e.modbusCode });
  if (/CRC/i.test(msg)) return new DriverError('CRC', 'reply with bad CRC', { cause: err });
  return new DriverError('BAD_REPLY', msg, { cause: err });
}

/**
 * modbus-serial's buffered port keeps unmatched bytes across requests, so after a timeout a
 * truncated or late reply would be glued to the next answer. We bypass it here (a private
 * field, checked before use) to start the retry from a clean buffer, as a real master does
 * after the 3.5-character silence.
 */
function discardStaleBytes(client: Client): void {
  const port = (client as unknown as { _port?: { _buffer?: unknown } })._port;
  if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0);
}

function destroyQuietly(client: Client): void {
  try {
    client.close(() => undefined);
  } catch {
    // nothing was open
  }
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}
