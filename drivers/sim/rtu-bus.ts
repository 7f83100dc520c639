/**
 * A simulated RS-485 line with several Modbus slaves on it, and the fault injector.
 * It is the device side of a wire: plug it into the in-process SimNetwork or into a
 * pseudo-terminal (drivers/sim/pty.ts); the bytes are the same.
 */
import type { SimDevicePort } from '../transport/sim-network.ts';
import { TimedExpectation, type ExpectOptions } from './expect.ts';
import { crcOk, exceptionReply, parseRequest, requestLength, type ModbusSlave } from './rtu.ts';

export type SimFaultKind = 'bad_crc' | 'no_reply' | 'truncated' | 'garbage' | 'garbage_then_reply' | 'delay' | 'exception' | 'disconnect';

export interface SimFault {
  kind: SimFaultKind;
  /** Only requests to this slave; all slaves when absent. */
  unit?: number;
  /** How many replies it spoils; Infinity until `clearFaults()`. Default 1. */
  times?: number;
  /** 'delay': how late the reply comes. */
  delayMs?: number;
  /** 'exception': the Modbus exception code (default 4, device failure). */
  code?: number;
}

export interface RtuBusSimOptions {
  /** Bytes left incomplete this long are dropped, as a slave does after the 3.5-character gap. */
  frameGapMs?: number;
  /** Reply latency of the slaves (their processing time). */
  replyDelayMs?: number;
  /** Called for a 'disconnect' fault; the owner of the wire pulls the plug. */
  onDisconnect?: () => void;
  random?: () => number;
}

export interface RtuBusStats {
  requests: number;
  bad_crc_requests: number;
  dropped_bytes: number;
  faults_applied: number;
}

export class RtuBusSim implements SimDevicePort {
  private readonly slaves = new Map<number, ModbusSlave>();
  private toHost: ((bytes: Buffer) => void) | null = null;
  private rx = Buffer.alloc(0);
  private gapTimer: NodeJS.Timeout | null = null;
  private faults: Array<Required<Pick<SimFault, 'kind' | 'times'>> & SimFault> = [];
  readonly stats: RtuBusStats = { requests: 0, bad_crc_requests: 0, dropped_bytes: 0, faults_applied: 0 };
  /** Every request frame seen, for tests that check what went on the wire (bounded). */
  readonly recent: Buffer[] = [];
  private readonly expected: Array<{ match: (frame: Buffer) => boolean; expectation: TimedExpectation<Buffer> }> = [];

  constructor(private readonly opts: RtuBusSimOptions = {}) {}

  add(slave: ModbusSlave): void {
    if (this.slaves.has(slave.unitId)) throw new Error(`slave ${slave.unitId} already on this bus`);
    this.slaves.set(slave.unitId, slave);
  }

  /**
   * The next request frame (well formed, CRC checked) for which `match` holds, as it arrives:
   * for tests that wait for the host to send something instead of sleeping.
   */
  expectRequest(match: (frame: Buffer) => boolean, opts: ExpectOptions): Promise<Buffer> {
    const entry = { match, expectation: null as unknown as TimedExpectation<Buffer> };
    entry.expectation = new TimedExpectation<Buffer>(opts, () => {
      const i = this.expected.indexOf(entry);
      if (i >= 0) this.expected.splice(i, 1);
    });
    this.expected.push(entry);
    return entry.expectation.promise;
  }

  injectFault(fault: SimFault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  connect(toHost: ((bytes: Buffer) => void) | null): void {
    this.toHost = toHost;
    this.rx = Buffer.alloc(0);
  }

  fromHost(bytes: Buffer): void {
    this.rx = this.rx.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.rx, bytes]);
    this.parse();
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    if (this.rx.length > 0) {
      this.gapTimer = setTimeout(() => {
        this.stats.dropped_bytes += this.rx.length;
        this.rx = Buffer.alloc(0);
      }, this.opts.frameGapMs ?? 20);
    }
  }

  private parse(): void {
    for (;;) {
      const len = requestLength(this.rx);
      if (len === null || this.rx.length < len) return;
      if (len === -1) {
        // Unknown function: a real slave cannot frame it either; skip a byte and resync.
        this.dropByte();
        continue;
      }
      const frame = this.rx.subarray(0, len);
      if (!crcOk(frame)) {
        this.stats.bad_crc_requests += 1;
        this.dropByte();
        continue;
      }
      this.rx = Buffer.from(this.rx.subarray(len));
      this.stats.requests += 1;
      this.recent.push(Buffer.from(frame));
      if (this.recent.length > 64) this.recent.shift();
      for (const e of [...this.expected]) if (e.match(frame)) e.expectation.resolve(Buffer.from(frame));
      this.answer(Buffer.from(frame));
    }
  }

  private dropByte(): void {
    this.stats.dropped_bytes += 1;
    this.rx = Buffer.from(this.rx.subarray(1));
  }

  private answer(frame: Buffer): void {
    const unit = frame[0] as number;
    const slave = this.slaves.get(unit);
    if (!slave) return; // nobody at that address: silence, as on a real bus
    const req = parseRequest(frame);
    const fault = this.takeFault(unit);
    let reply: Buffer | null;
    if (fault?.kind === 'exception') {
      reply = exceptionReply(unit, req.fn, fault.code ?? 4);
    } else {
      const answer = slave.handle(req);
      reply = answer === null ? null : Buffer.isBuffer(answer) ? answer : exceptionReply(unit, req.fn, answer.exception);
    }
    if (reply === null) return;
    let delay = this.opts.replyDelayMs ?? 0;
    if (fault) {
      switch (fault.kind) {
        case 'bad_crc':
          reply = Buffer.from(reply);
          reply[reply.length - 1] = (reply[reply.length - 1] as number) ^ 0x5a;
          break;
        case 'no_reply':
          return;
        case 'truncated':
          reply = reply.subarray(0, Math.max(1, reply.length - 3));
          break;
        case 'garbage':
          reply = this.garbage(reply.length);
          break;
        case 'garbage_then_reply':
          reply = Buffer.concat([this.garbage(5), reply]);
          break;
        case 'delay':
          delay += fault.delayMs ?? 500;
          break;
        case 'disconnect':
          // The port closes while the host waits for this reply.
          this.opts.onDisconnect?.();
          return;
        case 'exception':
          break;
      }
    }
    const send = this.toHost;
    const out = reply;
    if (!send) return;
    if (delay > 0) setTimeout(() => this.toHost?.(out), delay);
    else send(out);
  }

  /** Line noise that never contains a valid frame start for the slaves we hold. */
  private garbage(n: number): Buffer {
    const rnd = this.opts.random ?? Math.random;
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      let b = Math.floor(rnd() * 256);
      while (this.slaves.has(b)) b = (b + 17) & 0xff;
      out[i] = b;
    }
    return out;
  }

  private takeFault(unit: number): SimFault | null {
    const i = this.faults.findIndex((f) => f.unit === undefined || f.unit === unit);
    if (i < 0) return null;
    const f = this.faults[i] as SimFault & { times: number };
    f.times -= 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    this.stats.faults_applied += 1;
    return f;
  }
}
