/**
 * One Modbus RTU bus (a serial port, a TCP serial server or a simulated wire). The wire
 * protocol is modbus-serial's, behind ./modbus-serial-adapter.ts; on top of it we add what it
 * lacks:
 * - one queue per bus with priorities (an unlock jumps ahead of scale polling), because
 *   the RTU client allows only one outstanding request;
 * - retries within bounds, a quiet time after a failure, and fault counting;
 * - reopening a vanished port with backoff, reporting the bus degraded meanwhile.
 */
import type { Logger } from 'pino';
import { GuardedEmitter } from '../guarded-emitter.ts';
import { Backoff } from '../../lib/backoff.ts';
import type { ModbusBusConfig } from '../config.ts';
import { DriverError, type DriverErrorCode } from '../errors.ts';
import type { SimNetwork } from '../transport/sim-network.ts';
import { parseTransportUrl, type TransportSpec } from '../transport/url.ts';
import { FaultLog, type FaultKind } from './fault-log.ts';
import { RtuClient, toDriverError } from './modbus-serial-adapter.ts';
import type { ModbusReply, ModbusRequest } from './request.ts';

export type { ModbusReply, ModbusRequest } from './request.ts';

/** Lower number runs first. */
export const PRIORITY = { unlock: 0, control: 1, poll: 2 } as const;
export type Priority = keyof typeof PRIORITY;

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
  /** Index into PRIORITY's order (0 runs first). */
  priority: number;
  resolve: (r: ModbusReply[]) => void;
  reject: (e: Error) => void;
}

export class ModbusBus extends GuardedEmitter<BusEvents> {
  private readonly spec: TransportSpec;
  private readonly faults: FaultLog;
  private client: RtuClient | null = null;
  private state: BusHealth = 'stopped';
  private readonly queues: Job[][] = [[], [], []];
  private waiting = 0;
  private busy = false;
  private readonly reconnect: Backoff;
  private counters = { requests: 0, retries: 0, failures: 0, reconnects: 0 };

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

  /**
   * Opens the port. Never throws for a missing device: the bus goes degraded and keeps trying.
   * Returns after the first attempt, which a TCP connect bounds by `connect_timeout_ms`.
   */
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
      (this.queues[PRIORITY[priority]] as Job[]).push({ reqs, priority: PRIORITY[priority], resolve, reject });
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

  /** The next job to run; with `above`, only one more urgent than that priority. */
  private nextJob(above: number = this.queues.length): Job | undefined {
    for (const q of this.queues.slice(0, above)) {
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
      // a lone request may let more urgent jobs run between its attempts; a sequence is never split
      const yieldTo = job.reqs.length === 1 ? job.priority : 0;
      for (const req of job.reqs) replies.push(await this.runWithRetries(req, yieldTo));
    } catch (err) {
      const e = err as DriverError;
      // Say how far the turn got: an unlock whose pulse was answered but whose readback was lost differs from one never sent.
      job.reject(job.reqs.length > 1 ? new DriverError(e.code, e.message, { cause: e, ...(e.modbusCode === undefined ? {} : { modbusCode: e.modbusCode }), answered: replies.length }) : e);
      return;
    }
    job.resolve(replies);
  }

  /**
   * One request with its retries. Before a retry, jobs more urgent than `yieldTo` that came
   * meanwhile run first: an unlock waits for the attempt on the wire, not for every retry of
   * a scale that does not answer.
   */
  private async runWithRetries(req: ModbusRequest, yieldTo: number): Promise<ModbusReply> {
    const { retries, quiet_after_error_ms } = this.opts.config;
    this.counters.requests += 1;
    let lastError: DriverError | null = null;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const client = this.client;
      if (this.state !== 'up' || !client) throw new DriverError('PORT_UNAVAILABLE', `bus ${this.spec.url} is ${this.state}`);
      if (attempt > 0) this.counters.retries += 1;
      try {
        const reply = await client.transact(req);
        if (this.faults.inBurst) this.faults.recovered({ url: this.spec.url, unit: req.unit });
        return reply;
      } catch (err) {
        // Stopped while the request was on the wire: its timeout or the closed port is the
        // stop, not a fault of the line (nor a line in the log after the daemon said stopped).
        if (this.stoppedNow()) throw new DriverError('STOPPED', 'bus stopped');
        lastError = toDriverError(err);
        const kind = faultKind(lastError.code);
        if (kind) this.faults.record(kind, { url: this.spec.url, unit: req.unit, fn: req.fn, attempt }, lastError.message);
        // An exception is the slave's considered answer, and a closed port will not answer.
        if (lastError.code === 'EXCEPTION' || lastError.code === 'PORT_UNAVAILABLE') break;
        await sleep(quiet_after_error_ms);
        client.discardStaleBytes();
        if (attempt < retries) await this.runMoreUrgent(yieldTo);
      }
    }
    this.counters.failures += 1;
    throw lastError ?? new DriverError('TIMEOUT', 'no attempt made');
  }

  /** A method, not `this.state` inline: the compiler takes the state as still 'up' after an await. */
  private stoppedNow(): boolean {
    return this.state === 'stopped';
  }

  private async runMoreUrgent(than: number): Promise<void> {
    for (let job = this.nextJob(than); job; job = this.nextJob(than)) await this.runJob(job);
  }

  // ---- connection ----

  private async connect(): Promise<void> {
    let client: RtuClient;
    try {
      client = await RtuClient.open(this.spec, {
        responseTimeoutMs: this.opts.config.response_timeout_ms,
        connectTimeoutMs: this.opts.config.connect_timeout_ms,
        ...(this.opts.simNetwork ? { simBinding: this.opts.simNetwork.binding } : {}),
        onClose: () => this.lost('port closed'),
        onError: (err) => this.faults.record('port_error', { url: this.spec.url }, `port error: ${String(err)}`),
      });
    } catch (err) {
      this.faults.record('port_error', { url: this.spec.url }, `cannot open: ${String(err)}`);
      if (this.state === 'stopped') return;
      this.scheduleReconnect(`cannot open: ${String(err)}`);
      return;
    }
    if (this.state === 'stopped') {
      await client.close();
      return;
    }
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
    await client?.close();
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

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}
