/**
 * The sim-hardware process: the relay board, the scale bus and the scanner, served the way
 * real hardware reaches the daemon, so the daemon needs nothing but transport URLs:
 * - each RS-485 line as RTU over TCP (`tcp://127.0.0.1:PORT`, like a serial device server),
 *   or behind a socat pseudo-terminal (`serial:///tmp/…/host`);
 * - the scanner the same way;
 * - a control channel (JSON lines over TCP, control-api.ts) to script it.
 * Its state outlives the daemon: a SIGKILLed daemon reconnects to the same boards, loads and
 * running relay pulses. Run it as a child process (spawn.ts) or in-process for unit tests.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { resolveDriversConfig, type DriversConfig } from '../config.ts';
import type { SimDevicePort } from '../transport/sim-network.ts';
import type { SimControlApi, SimDevice, SimHardwareUrls, SimOp, SimRequest, SimResponse, SimScaleView, SimStateView } from './control-api.ts';
import { SIM_OPS } from './control-api.ts';
import { buildSimDevices, type SimDevices, type SimDevicesState } from './devices.ts';
import { attachDeviceToSerial, createPtyPair } from './pty.ts';
import type { RtuBusSim, SimFaultKind } from './rtu-bus.ts';
import type { ScalePhysics } from './scale-sim.ts';
import { TcpDevicePort } from './tcp-port.ts';

export interface SimHardwareOptions {
  /**
   * Drivers config input (lock layout, register maps, scale list), as in the daemon's config.
   * Its transport URLs only say which devices share an RS-485 line (equal URLs = one line).
   */
  drivers?: unknown;
  /** Scale physics; tests shorten the settle time and remove creep. */
  physics?: Partial<ScalePhysics>;
  /** Seed of the scales' noise, so a run repeats. */
  seed?: number;
  /** Slave reply latency, ms (a real board answers within a few ms). */
  replyDelayMs?: number;
  /** How long the exit button cuts lock power, ms. */
  exitReleaseMs?: number;
  /** 'tcp' (default): RTU over TCP. 'pty': socat pseudo-terminals (serialport's real bindings). */
  transport?: 'tcp' | 'pty';
  /** Fixed TCP ports (0 or absent: any free port). The control channel is always TCP. */
  ports?: Partial<Record<'lock' | 'scales' | 'scanner' | 'control', number>>;
  /** Baud rate written into pty URLs. */
  baud?: number;
  /** State to start from (a snapshot taken earlier). */
  state?: SimDevicesState;
}

const HOST = '127.0.0.1';

interface Endpoint {
  tcp: TcpDevicePort | null;
  close: () => Promise<void>;
  url: string;
  /** pty only: whether the device end is attached. */
  attached: boolean;
}

export class SimHardwareServer {
  private devices: SimDevices | null = null;
  private config: DriversConfig | null = null;
  private readonly endpoints = new Map<SimDevice, Endpoint>();
  private control: Server | null = null;
  private readonly clients = new Set<Socket>();
  private startedAt = 0;
  private served: SimHardwareUrls | null = null;

  constructor(private readonly opts: SimHardwareOptions = {}) {}

  /** The simulated devices, for in-process tests that want to look closer than the control API. */
  get hardware(): SimDevices {
    if (!this.devices) throw new Error('sim hardware not started');
    return this.devices;
  }

  get urls(): SimHardwareUrls {
    if (!this.served) throw new Error('sim hardware not started');
    return this.served;
  }

  async start(): Promise<SimHardwareUrls> {
    if (this.served) return this.served;
    const config = resolveDriversConfig(this.opts.drivers ?? {});
    this.config = config;
    const devices = buildSimDevices({
      config,
      ...(this.opts.physics ? { physics: this.opts.physics } : {}),
      ...(this.opts.seed !== undefined ? { seed: this.opts.seed } : {}),
      ...(this.opts.replyDelayMs !== undefined ? { replyDelayMs: this.opts.replyDelayMs } : {}),
      ...(this.opts.exitReleaseMs !== undefined ? { exitReleaseMs: this.opts.exitReleaseMs } : {}),
      onDisconnect: (lineKey) => {
        for (const d of ['lock', 'scales'] as const) if (this.lineKey(d) === lineKey) this.endpoints.get(d)?.tcp?.drop();
      },
    });
    this.devices = devices;
    if (this.opts.state) devices.restore(this.opts.state);
    this.startedAt = Date.now();

    const lock = await this.serve(devices.lines.get(devices.lockLine) as RtuBusSim, 'lock');
    this.endpoints.set('lock', lock);
    // The scales share the lock's line (and URL) when the config says so, as on a real store.
    const scalesKey = devices.scalesLine ?? devices.lockLine;
    const scales = scalesKey === devices.lockLine ? lock : await this.serve(devices.lines.get(scalesKey) as RtuBusSim, 'scales');
    this.endpoints.set('scales', scales);
    const scanner = await this.serve(devices.scanner, 'scanner');
    this.endpoints.set('scanner', scanner);

    const control = createServer((socket) => this.acceptControl(socket));
    this.control = control;
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(this.opts.ports?.control ?? 0, HOST, () => resolve());
    });
    const addr = control.address();
    if (addr === null || typeof addr === 'string') throw new Error('control channel has no address');
    this.served = { lock: lock.url, scales: scales.url, scanner: scanner.url, control: `tcp://${HOST}:${addr.port}` };
    return this.served;
  }

  async stop(): Promise<void> {
    for (const s of this.clients) s.destroy();
    this.clients.clear();
    const control = this.control;
    this.control = null;
    if (control) await new Promise<void>((r) => control.close(() => r()));
    const closed = new Set<Endpoint>();
    for (const ep of this.endpoints.values()) {
      if (closed.has(ep)) continue;
      closed.add(ep);
      await ep.close();
    }
    this.endpoints.clear();
    this.served = null;
  }

  // ---- endpoints ----

  private async serve(device: SimDevicePort, name: SimDevice): Promise<Endpoint> {
    if (this.opts.transport === 'pty') {
      const baud = this.opts.baud ?? 115_200;
      const pair = await createPtyPair();
      const attached = await attachDeviceToSerial(device, pair.devicePath, baud);
      const ep: Endpoint = {
        tcp: null,
        url: `serial://${pair.hostPath}?baud=${baud}`,
        attached: true,
        close: async () => {
          await attached.close();
          await pair.close();
        },
      };
      return ep;
    }
    const tcp = new TcpDevicePort(device, HOST, this.opts.ports?.[name] ?? 0);
    const url = await tcp.start();
    return { tcp, url, attached: true, close: () => tcp.stop() };
  }

  private lineKey(device: 'lock' | 'scales'): string {
    const d = this.hardware;
    return device === 'lock' ? d.lockLine : (d.scalesLine ?? d.lockLine);
  }

  private line(device: 'lock' | 'scales'): RtuBusSim {
    return this.hardware.lines.get(this.lineKey(device)) as RtuBusSim;
  }

  // ---- control channel ----

  private acceptControl(socket: Socket): void {
    this.clients.add(socket);
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const text = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (text) socket.write(JSON.stringify(this.answer(text)) + '\n');
      }
      if (pending.length > 1_000_000) socket.destroy(); // not a control client
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.clients.delete(socket));
  }

  private answer(text: string): SimResponse {
    let req: SimRequest;
    try {
      req = JSON.parse(text) as SimRequest;
    } catch {
      return { id: -1, ok: false, error: 'request is not JSON' };
    }
    const id = typeof req?.id === 'number' ? req.id : -1;
    if (!SIM_OPS.includes(req.op as SimOp)) return { id, ok: false, error: `unknown op ${String(req.op)}` };
    try {
      return { id, ok: true, result: this.handle(req.op as SimOp, (req.params ?? {}) as Record<string, unknown>) };
    } catch (err) {
      return { id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** One control operation; also callable directly in-process. */
  handle<K extends SimOp>(op: K, params: SimControlApi[K]['params']): SimControlApi[K]['result'];
  handle(op: SimOp, p: Record<string, unknown>): unknown {
    const hw = this.hardware;
    switch (op) {
      case 'ping':
        return { pid: process.pid, uptime_ms: Date.now() - this.startedAt };
      case 'state':
        return this.state();
      case 'place':
      case 'take': {
        const slot = str(p, 'slot');
        const count = int(p, 'count', 0);
        const unit = num(p, 'unit_g', 0.001);
        if (op === 'place') hw.scale(slot).place(count, unit);
        else hw.scale(slot).take(count, unit);
        return this.scaleView(slot);
      }
      case 'set_load': {
        const slot = str(p, 'slot');
        hw.scale(slot).setLoad(num(p, 'grams', -1e7));
        return this.scaleView(slot);
      }
      case 'press_exit':
        hw.relay.pressExit(p.hold_ms === undefined ? undefined : int(p, 'hold_ms', 1));
        return {};
      case 'open_door':
        return { opened: hw.relay.openDoor({ force: p.force === true }) };
      case 'close_door':
        hw.relay.closeDoor();
        return {};
      case 'stuck_on':
        hw.relay.setStuckOn(p.stuck === true);
        return {};
      case 'scan': {
        const terminator = p.terminator === undefined ? '\r' : p.terminator;
        if (terminator !== '\r' && terminator !== '\n' && terminator !== '\r\n') throw new Error('terminator must be \\r, \\n or \\r\\n');
        return { delivered: hw.scanner.scan(str(p, 'code'), terminator) };
      }
      case 'scan_raw':
        return { delivered: hw.scanner.raw(Buffer.from(str(p, 'hex').replace(/\s+/g, ''), 'hex')) };
      case 'fault': {
        const device = rtuDevice(p);
        const times = p.times === null ? Infinity : p.times === undefined ? 1 : int(p, 'times', 1);
        this.line(device).injectFault({
          kind: faultKind(p),
          times,
          ...(p.unit !== undefined ? { unit: int(p, 'unit', 0) } : {}),
          ...(p.delay_ms !== undefined ? { delayMs: int(p, 'delay_ms', 0) } : {}),
          ...(p.code !== undefined ? { code: int(p, 'code', 1) } : {}),
        });
        return {};
      }
      case 'clear_faults':
        for (const d of p.device === undefined ? (['lock', 'scales'] as const) : [rtuDevice(p)]) this.line(d).clearFaults();
        return {};
      case 'unplug':
      case 'plug': {
        const ep = this.endpoints.get(device(p));
        if (!ep?.tcp) throw new Error('unplug/plug needs the tcp transport');
        if (op === 'unplug') ep.tcp.unplug();
        else ep.tcp.plug();
        return {};
      }
      case 'relay_commands':
        return [...hw.relay.commands];
      case 'recent_frames':
        return this.line(rtuDevice(p)).recent.map((f) => f.toString('hex'));
      case 'line_stats':
        return { ...this.line(rtuDevice(p)).stats };
      case 'snapshot':
        return hw.snapshot();
      case 'restore':
        hw.restore(p.state as SimDevicesState);
        return {};
      case 'set_physics': {
        for (const k of ['noiseG', 'settleMs', 'creepGPerMin', 'creepMaxG', 'decimals'] as const) if (p[k] !== undefined) hw.physics[k] = num(p, k, 0);
        return { ...hw.physics };
      }
    }
  }

  private scaleView(slot: string): SimScaleView {
    const sim = this.hardware.scale(slot);
    const s = sim.snapshot();
    return { slot, unit_id: sim.unitId, load_g: s.load_g, items: { ...s.items }, settled: sim.settled() };
  }

  private state(): SimStateView {
    const hw = this.hardware;
    const relay = hw.relay.snapshot();
    const lockCoil = this.config?.lock.coil ?? 0;
    const coils = relay.coils.map((_, i) => hw.relay.coil(i));
    const ep = (d: SimDevice) => this.endpoints.get(d);
    const connected = (d: SimDevice): boolean => {
      const e = ep(d);
      return e?.tcp ? e.tcp.connected : (e?.attached ?? false);
    };
    return {
      coils,
      lock_coil_on: coils[lockCoil] ?? false,
      lock_released: hw.relay.lockReleased(),
      door_open: hw.relay.doorOpen,
      lock_pulse_until: relay.pulse_until[lockCoil] ?? null,
      scales: [...hw.scales.keys()].map((slot) => this.scaleView(slot)),
      connected: { lock: connected('lock'), scales: connected('scales'), scanner: connected('scanner') },
      connections: { lock: ep('lock')?.tcp?.connections ?? 0, scales: ep('scales')?.tcp?.connections ?? 0, scanner: ep('scanner')?.tcp?.connections ?? 0 },
    };
  }
}

// ---- parameter checks: the control channel is a boundary too ----

function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== 'string' || v.length === 0) throw new Error(`${key} must be a non-empty string`);
  return v;
}

function num(p: Record<string, unknown>, key: string, min: number): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${key} must be a number ≥ ${min}`);
  return v;
}

function int(p: Record<string, unknown>, key: string, min: number): number {
  const v = num(p, key, min);
  if (!Number.isInteger(v)) throw new Error(`${key} must be an integer`);
  return v;
}

const FAULT_KINDS: readonly SimFaultKind[] = ['bad_crc', 'no_reply', 'truncated', 'garbage', 'garbage_then_reply', 'delay', 'exception', 'disconnect'];

function faultKind(p: Record<string, unknown>): SimFaultKind {
  const k = str(p, 'kind') as SimFaultKind;
  if (!FAULT_KINDS.includes(k)) throw new Error(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  return k;
}

function device(p: Record<string, unknown>): SimDevice {
  const d = p.device;
  if (d !== 'lock' && d !== 'scales' && d !== 'scanner') throw new Error('device must be lock, scales or scanner');
  return d;
}

function rtuDevice(p: Record<string, unknown>): 'lock' | 'scales' {
  const d = device(p);
  if (d === 'scanner') throw new Error('the scanner is not on an RS-485 line');
  return d;
}
