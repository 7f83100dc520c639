/**
 * The doctor's hardware checks: each serial device is asked for a register through the same
 * drivers the daemon uses (the lock's relay coil, each scale's weight), the scanner's port is
 * opened, the camera is looked for, and the broker is connected to once.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import net from 'node:net';
import { pino } from 'pino';
import { ModbusBus, ScannerDriver, type DriversConfig } from '../../drivers/index.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import type { Config } from '../config/schema.ts';

/** One line of the doctor's table. */
export interface DoctorRow {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  /** What to do, for a failure or a warning. */
  fix?: string;
}

const quiet = pino({ level: 'silent' });
/** How long the scanner's port must stay open to count as present. */
const SCANNER_SETTLE_MS = 500;
const errText = (err: unknown): string => (err as Error)?.message ?? String(err);

/** Ask every device configured on the RS-485 lines and open the scanner's port. */
export async function checkSerial(d: DriversConfig): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  const modbus = { ...d.modbus, reconnect_initial_ms: 60_000, reconnect_max_ms: 60_000 };
  const buses = new Map<string, ModbusBus>();
  const bus = async (url: string): Promise<ModbusBus> => {
    let b = buses.get(url);
    if (!b) {
      b = new ModbusBus({ url, config: modbus, logger: quiet });
      buses.set(url, b);
      await b.start();
    }
    return b;
  };
  const unplugged = (what: string, url: string): string =>
    `check the cable and power of ${what} on ${url}, that the port exists and that this user is in the dialout group / 检查${what}的线缆和电源、串口是否存在、用户是否在 dialout 组`;
  try {
    const lockBus = await bus(d.lock.transport);
    const lockName = `lock (unit ${d.lock.unit_id} on ${d.lock.transport})`;
    try {
      await lockBus.readBits('coils', d.lock.unit_id, d.lock.coil, 1, 'control');
      rows.push({ check: lockName, status: 'ok', detail: 'relay coil read / 已读取继电器线圈' });
    } catch (err) {
      rows.push({ check: lockName, status: 'fail', detail: errText(err), fix: unplugged('the relay board 门锁继电器板', d.lock.transport) });
    }
    const scalesBus = await bus(d.scales.transport);
    for (const s of d.scales.list) {
      const name = `scale ${s.slot} (unit ${s.unit_id} on ${d.scales.transport})`;
      try {
        await scalesBus.readRegisters(s.unit_id, d.scales.registers.weight_register, 2, 'poll');
        rows.push({ check: name, status: 'ok', detail: 'weight register read / 已读取重量寄存器' });
      } catch (err) {
        rows.push({ check: name, status: 'fail', detail: errText(err), fix: unplugged(`the load-cell module of slot ${s.slot} 货位称重模块`, d.scales.transport) });
      }
    }
  } finally {
    for (const b of buses.values()) await b.stop();
  }
  if (d.scanner.enabled) {
    const scanner = new ScannerDriver({ config: { ...d.scanner, reconnect_initial_ms: 60_000, reconnect_max_ms: 60_000 }, logger: quiet });
    try {
      await scanner.start();
      // a port that opens and drops at once (a USB adapter with a loose device) is not up
      if (scanner.health === 'up') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, SCANNER_SETTLE_MS);
          scanner.once('health', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const up = scanner.health === 'up';
      rows.push({ check: `scanner (${d.scanner.transport})`, status: up ? 'ok' : 'fail', detail: up ? 'port open / 串口已打开' : `port cannot be opened / 串口无法打开`, ...(up ? {} : { fix: unplugged('the scanner 扫码器', d.scanner.transport) }) });
    } finally {
      await scanner.stop();
    }
  } else {
    rows.push({ check: 'scanner', status: 'skip', detail: 'not fitted (drivers.scanner.enabled: false) / 未配置' });
  }
  return rows;
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (err: string | null): void => {
      sock.destroy();
      resolve(err);
    };
    sock.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    sock.once('connect', () => done(null));
    sock.once('error', (e) => done(e.message));
  });
}

export async function checkCamera(c: Config): Promise<DoctorRow> {
  if (!c.entry.face_enabled) return { check: 'camera', status: 'skip', detail: 'face recognition is off (entry.face_enabled) / 未启用刷脸' };
  const cam = c.entry.camera;
  if (cam.kind === 'v4l2') {
    try {
      accessSync(cam.device, constants.R_OK);
      return { check: `camera (${cam.device})`, status: 'ok', detail: 'device present and readable / 设备存在且可读' };
    } catch (err) {
      const missing = !existsSync(cam.device);
      return { check: `camera (${cam.device})`, status: 'fail', detail: missing ? 'no such device / 设备不存在' : errText(err), fix: missing ? 'plug the camera in (USB), or set entry.camera.device / 插上摄像头或修改 entry.camera.device' : 'add the service user to the video group / 将服务用户加入 video 组' };
    }
  }
  if (cam.kind === 'rtsp') {
    const u = new URL(cam.url);
    const err = await tcpReachable(u.hostname, Number(u.port || 554), 3000);
    return err === null
      ? { check: `camera (${u.host})`, status: 'ok', detail: 'RTSP port answers / RTSP 端口可达' }
      : { check: `camera (${u.host})`, status: 'fail', detail: err, fix: 'check the camera\'s power, network and address (entry.camera.url) / 检查摄像头电源、网络和地址' };
  }
  return existsSync(cam.path) ? { check: 'camera (files)', status: 'ok', detail: cam.path } : { check: 'camera (files)', status: 'fail', detail: `no such file or folder: ${cam.path}`, fix: 'set entry.camera.path / 修改 entry.camera.path' };
}

export async function checkBroker(c: Config, timeoutMs = 5000): Promise<DoctorRow> {
  const s = c.sync;
  if (!s.enabled) return { check: 'broker', status: 'skip', detail: 'sync is off (sync.enabled) / 未启用同步' };
  const name = `broker (${s.broker_url})`;
  // a client id of its own: the store's would take over the daemon's session
  const mqtt = new SyncMqtt({ url: s.broker_url, clientId: `store-edge-doctor-${process.pid}`, username: s.username, password: s.password, caFile: s.ca_file, certFile: s.cert_file, keyFile: s.key_file, persistentSession: false, reconnectMs: 60_000 });
  try {
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      mqtt.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      mqtt.start([]);
    });
    return ok
      ? { check: name, status: 'ok', detail: 'connected / 已连接' }
      : { check: name, status: 'fail', detail: `no connection within ${timeoutMs} ms / 连接超时`, fix: 'check the network, sync.broker_url and the credentials; the store keeps working offline meanwhile / 检查网络、地址和账号；断网期间门店照常离线运行' };
  } catch (err) {
    return { check: name, status: 'fail', detail: errText(err), fix: 'check sync.ca_file, cert_file and key_file / 检查 TLS 文件' };
  } finally {
    await mqtt.stop();
  }
}
