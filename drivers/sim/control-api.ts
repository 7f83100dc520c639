/**
 * The control channel of the sim-hardware process: JSON lines over TCP on 127.0.0.1.
 * Request  `{"id":1,"op":"place","params":{"slot":"A1","count":2,"unit_g":330}}`
 * Response `{"id":1,"ok":true,"result":{…}}` or `{"id":1,"ok":false,"error":"…"}`.
 * One typed map from operation to params and result, shared by server and client, so the
 * two cannot drift apart (the habit of zigbee2mqtt's typed MQTT API).
 */
import type { SimDevicesState } from './devices.ts';
import type { SimFaultKind } from './rtu-bus.ts';
import type { ScalePhysics } from './scale-sim.ts';

/** A device's cable, as the daemon sees it: the RS-485 line of the lock, of the scales, or the scanner. */
export type SimDevice = 'lock' | 'scales' | 'scanner';

export interface SimScaleView {
  slot: string;
  unit_id: number;
  /** Load on the platform in grams (before zero/tare), noise-free. */
  load_g: number;
  /** Items by unit weight in grams → count. */
  items: Record<string, number>;
  settled: boolean;
}

export interface SimStateView {
  /** Relay coils, index = coil number (timed pulses evaluated at the time of the call). */
  coils: boolean[];
  lock_coil_on: boolean;
  /** Relay energised or the exit button cutting lock power. */
  lock_released: boolean;
  door_open: boolean;
  /** Epoch ms at which the lock coil's running timed pulse ends; null when none runs. */
  lock_pulse_until: number | null;
  scales: SimScaleView[];
  /** Which device cables have a host (driver) connected right now. */
  connected: Record<SimDevice, boolean>;
  /** Connections accepted since start, per device (a restarted daemon reconnects). */
  connections: Record<SimDevice, number>;
}

export interface SimFaultParams {
  device: 'lock' | 'scales';
  kind: SimFaultKind;
  unit?: number;
  /** Replies spoiled; omitted = 1, null = until clear_faults. */
  times?: number | null;
  delay_ms?: number;
  code?: number;
}

export interface SimControlApi {
  ping: { params: Record<string, never>; result: { pid: number; uptime_ms: number } };
  state: { params: Record<string, never>; result: SimStateView };
  place: { params: { slot: string; count: number; unit_g: number }; result: SimScaleView };
  take: { params: { slot: string; count: number; unit_g: number }; result: SimScaleView };
  set_load: { params: { slot: string; grams: number }; result: SimScaleView };
  press_exit: { params: { hold_ms?: number }; result: Record<string, never> };
  /** Opens the door if the lock lets it, or by force (a break-in). */
  open_door: { params: { force?: boolean }; result: { opened: boolean } };
  close_door: { params: Record<string, never>; result: Record<string, never> };
  /** A welded relay contact: the lock coil reads on whatever is commanded. */
  stuck_on: { params: { stuck: boolean }; result: Record<string, never> };
  /** A scanned code, sent with the reader's terminator. */
  scan: { params: { code: string; terminator?: '\r' | '\n' | '\r\n' }; result: { delivered: boolean } };
  /** Raw bytes from the scanner (noise, half lines), hex. */
  scan_raw: { params: { hex: string }; result: { delivered: boolean } };
  fault: { params: SimFaultParams; result: Record<string, never> };
  clear_faults: { params: { device?: 'lock' | 'scales' }; result: Record<string, never> };
  /** Pull a device's cable: its connection drops and new ones are refused until `plug`. */
  unplug: { params: { device: SimDevice }; result: Record<string, never> };
  plug: { params: { device: SimDevice }; result: Record<string, never> };
  /** Commands the relay board accepted, newest last (bounded). */
  relay_commands: { params: Record<string, never>; result: Array<{ at: number; kind: 'set' | 'pulse'; coil: number; value: number }> };
  /** Request frames seen on a line, hex, newest last (bounded). */
  recent_frames: { params: { device: 'lock' | 'scales' }; result: string[] };
  line_stats: { params: { device: 'lock' | 'scales' }; result: { requests: number; bad_crc_requests: number; dropped_bytes: number; faults_applied: number } };
  snapshot: { params: Record<string, never>; result: SimDevicesState };
  restore: { params: { state: SimDevicesState }; result: Record<string, never> };
  /** Physics of every scale from now on (settle time, noise, creep). */
  set_physics: { params: Partial<ScalePhysics>; result: ScalePhysics };
}

export type SimOp = keyof SimControlApi;

export const SIM_OPS: readonly SimOp[] = [
  'ping', 'state', 'place', 'take', 'set_load', 'press_exit', 'open_door', 'close_door', 'stuck_on', 'scan', 'scan_raw',
  'fault', 'clear_faults', 'unplug', 'plug', 'relay_commands', 'recent_frames', 'line_stats', 'snapshot', 'restore', 'set_physics',
];

export interface SimRequest {
  id: number;
  op: string;
  params?: unknown;
}

export type SimResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** URLs the sim-hardware process serves; the daemon's config needs only the first three. */
export interface SimHardwareUrls {
  lock: string;
  scales: string;
  scanner: string;
  control: string;
}
