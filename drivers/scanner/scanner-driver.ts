/**
 * The QR/barcode/card scanner on a serial port: lines in, `code` events out. A vanished
 * port is reopened with backoff, as for the Modbus buses.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { GuardedEmitter } from '../guarded-emitter.ts';
import { Backoff } from '../../lib/backoff.ts';
import type { ScannerConfig } from '../config.ts';
import { FaultLog } from '../modbus/fault-log.ts';
import { openByteStream } from '../transport/byte-stream.ts';
import type { SimNetwork } from '../transport/sim-network.ts';
import { ScanLineParser, type LineOutput, type LineRejectReason } from './line-parser.ts';

export type ScannerHealth = 'stopped' | 'connecting' | 'up' | 'degraded';

export interface ScannerEvents {
  code: [{ code: string; at: number }];
  rejected: [{ reason: LineRejectReason; length: number; at: number }];
  health: [{ health: ScannerHealth; reason?: string }];
}

export interface ScannerDriverOptions {
  config: ScannerConfig;
  logger: Logger;
  simNetwork?: SimNetwork;
}

export class ScannerDriver extends GuardedEmitter<ScannerEvents> {
  private readonly parser: ScanLineParser;
  private readonly faults: FaultLog;
  private stream: Duplex | null = null;
  private state: ScannerHealth = 'stopped';
  private lineTimer: NodeJS.Timeout | null = null;
  private readonly reconnect: Backoff;
  readonly counts = { codes: 0, rejected: 0, reconnects: 0 };

  private readonly onData = (chunk: Buffer): void => this.handle(chunk);
  private readonly onClose = (): void => this.lost('port closed');
  private readonly onError = (err: Error): void => this.log.debug({ err }, 'scanner port error');

  constructor(private readonly opts: ScannerDriverOptions) {
    super(opts.logger.child({ device: 'scanner' }));
    this.parser = new ScanLineParser(opts.config);
    this.faults = new FaultLog(this.log, 60_000);
    this.reconnect = new Backoff({ firstMs: opts.config.reconnect_initial_ms, maxMs: opts.config.reconnect_max_ms });
  }

  get health(): ScannerHealth {
    return this.state;
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.setHealth('connecting');
    await this.connect();
  }

  async stop(): Promise<void> {
    this.setHealth('stopped');
    this.reconnect.cancel();
    if (this.lineTimer) clearTimeout(this.lineTimer);
    this.lineTimer = null;
    await this.detach();
  }

  private async connect(): Promise<void> {
    let stream: Duplex;
    try {
      stream = await openByteStream(this.opts.config.transport, this.opts.simNetwork, this.opts.config.connect_timeout_ms);
    } catch (err) {
      this.faults.record('port_error', { url: this.opts.config.transport }, `cannot open scanner port: ${String(err)}`);
      this.scheduleReconnect(String(err));
      return;
    }
    if (this.state === 'stopped') {
      stream.destroy();
      return;
    }
    this.stream = stream;
    stream.on('data', this.onData);
    stream.on('close', this.onClose);
    stream.on('error', this.onError);
    this.reconnect.reset();
    this.faults.recovered({ url: this.opts.config.transport });
    this.setHealth('up');
  }

  private handle(chunk: Buffer): void {
    for (const out of this.parser.push(chunk)) this.emitLine(out);
    if (this.lineTimer) clearTimeout(this.lineTimer);
    this.lineTimer = null;
    if (this.parser.pending > 0) {
      this.lineTimer = setTimeout(() => {
        this.lineTimer = null;
        const out = this.parser.expire();
        if (out) this.emitLine(out);
      }, this.opts.config.line_timeout_ms);
    }
  }

  private emitLine(out: LineOutput): void {
    const at = Date.now();
    switch (out.kind) {
      case 'code':
        this.counts.codes += 1;
        this.fire('code', { code: out.code, at });
        break;
      case 'rejected':
        this.counts.rejected += 1;
        this.faults.record('rejected_line', { reason: out.reason, length: out.length }, 'scanner line rejected');
        this.fire('rejected', { reason: out.reason, length: out.length, at });
        break;
    }
  }

  private lost(reason: string): void {
    if (this.state === 'stopped') return;
    void this.detach();
    this.faults.record('port_error', { url: this.opts.config.transport }, `scanner port lost: ${reason}`);
    this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    if (this.state === 'stopped') return;
    this.setHealth('degraded', reason);
    this.reconnect.schedule(() => {
      this.counts.reconnects += 1;
      void this.connect();
    });
  }

  private async detach(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    if (!s) return;
    s.removeListener('data', this.onData);
    s.removeListener('close', this.onClose);
    s.removeListener('error', this.onError);
    s.on('error', () => undefined); // late errors from a stream we are done with
    await new Promise<void>((resolve) => {
      if (s.destroyed) return resolve();
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  private setHealth(health: ScannerHealth, reason?: string): void {
    if (this.state === health) return;
    this.state = health;
    this.fire('health', reason === undefined ? { health } : { health, reason });
  }
}
