/**
 * Typed client of the sim-hardware control channel (control-api.ts), for tests and the
 * scenario runner. One TCP connection; requests carry ids, so calls may overlap.
 */
import { createConnection, type Socket } from 'node:net';
import { parseTransportUrl } from '../transport/url.ts';
import type { SimControlApi, SimFaultParams, SimOp, SimResponse } from './control-api.ts';

export interface SimHardwareClientOptions {
  /** `tcp://127.0.0.1:PORT` from the server's urls.control. */
  url: string;
  /**
   * A call without an answer this long fails (default 30 s). The server answers at once and a
   * closed channel fails every pending call at once, so this only catches a sim process alive
   * but stuck; it must not fire when a loaded machine leaves the process unscheduled for a
   * while (5 s did, in a scenario's `place`, on the 2-core machine at load 10).
   */
  timeoutMs?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class SimHardwareClient {
  private socket: Socket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered = '';
  private readonly onData = (chunk: string): void => this.receive(chunk);
  private readonly onClose = (): void => this.failAll(new Error('sim hardware control channel closed'));

  constructor(private readonly opts: SimHardwareClientOptions) {}

  async start(): Promise<void> {
    if (this.socket) return;
    const spec = parseTransportUrl(this.opts.url);
    if (spec.kind !== 'tcp') throw new Error(`control URL must be tcp://: ${this.opts.url}`);
    const socket = createConnection({ host: spec.host, port: spec.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.removeAllListeners('error');
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => undefined); // 'close' follows and fails the pending calls
    this.socket = socket;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.removeListener('data', this.onData);
    socket.removeListener('close', this.onClose);
    this.failAll(new Error('sim hardware client stopped'));
    await new Promise<void>((r) => socket.end(() => r()));
    socket.destroy();
  }

  call<K extends SimOp>(op: K, params: SimControlApi[K]['params']): Promise<SimControlApi[K]['result']> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('sim hardware client not started'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`sim hardware: ${op} got no answer`));
      }, this.opts.timeoutMs ?? 30_000);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      socket.write(JSON.stringify({ id, op, params }) + '\n');
    });
  }

  // ---- the store's vocabulary ----

  state() {
    return this.call('state', {});
  }
  /** Puts `count` items of `unitG` grams on the scale of `slot`. */
  place(slot: string, count: number, unitG: number) {
    return this.call('place', { slot, count, unit_g: unitG });
  }
  take(slot: string, count: number, unitG: number) {
    return this.call('take', { slot, count, unit_g: unitG });
  }
  setLoad(slot: string, grams: number) {
    return this.call('set_load', { slot, grams });
  }
  pressExit(holdMs?: number) {
    return this.call('press_exit', holdMs === undefined ? {} : { hold_ms: holdMs });
  }
  /** Opens the door if the lock lets it (or by force); resolves whether it opened. */
  async openDoor(force = false): Promise<boolean> {
    return (await this.call('open_door', { force })).opened;
  }
  async closeDoor(): Promise<void> {
    await this.call('close_door', {});
  }
  async setStuckOn(stuck: boolean): Promise<void> {
    await this.call('stuck_on', { stuck });
  }
  /** Sends a scanned line; resolves whether a host had the scanner port open. */
  async scan(code: string, terminator?: '\r' | '\n' | '\r\n'): Promise<boolean> {
    return (await this.call('scan', terminator === undefined ? { code } : { code, terminator })).delivered;
  }
  async scanRaw(bytes: Buffer): Promise<boolean> {
    return (await this.call('scan_raw', { hex: bytes.toString('hex') })).delivered;
  }
  async injectFault(fault: SimFaultParams): Promise<void> {
    await this.call('fault', fault);
  }
  async clearFaults(device?: 'lock' | 'scales'): Promise<void> {
    await this.call('clear_faults', device === undefined ? {} : { device });
  }
  async unplug(device: 'lock' | 'scales' | 'scanner'): Promise<void> {
    await this.call('unplug', { device });
  }
  async plug(device: 'lock' | 'scales' | 'scanner'): Promise<void> {
    await this.call('plug', { device });
  }
  relayCommands() {
    return this.call('relay_commands', {});
  }
  recentFrames(device: 'lock' | 'scales') {
    return this.call('recent_frames', { device });
  }
  lineStats(device: 'lock' | 'scales') {
    return this.call('line_stats', { device });
  }
  snapshot() {
    return this.call('snapshot', {});
  }
  async restore(state: SimControlApi['restore']['params']['state']): Promise<void> {
    await this.call('restore', { state });
  }
  setPhysics(physics: SimControlApi['set_physics']['params']) {
    return this.call('set_physics', physics);
  }

  // ---- wire ----

  private receive(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      let res: SimResponse;
      try {
        res = JSON.parse(line) as SimResponse;
      } catch {
        continue;
      }
      const p = this.pending.get(res.id);
      if (!p) continue;
      this.pending.delete(res.id);
      clearTimeout(p.timer);
      if (res.ok) p.resolve(res.result);
      else p.reject(new Error(`sim hardware: ${res.error}`));
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
