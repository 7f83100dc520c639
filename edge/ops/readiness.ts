/**
 * /readyz: can the store serve villagers now? One check per thing it depends on, each with
 * its reason, read from the health lines the parts report (edge/parts.ts) plus a read of the
 * ledger and the sync agent's connection. A check with no line at all is a thing this store
 * does not have (no camera configured, no sync): it does not hold readiness back. The infrared
 * lens (`entry.camera_ir`) is told apart from one not configured: configured, in use and without
 * a line yet, it has sent no frame, and without IR frames no face opens the door.
 */
import type { HealthReport } from '../parts.ts';
import type { Db } from '../ledger/db.ts';
import { pingLedger } from '../ledger/ops-queries.ts';

export interface ReadinessCheck {
  ok: boolean;
  /** What is wrong, or `not configured`. */
  reason?: string;
}

export interface Readiness {
  ready: boolean;
  phase: HealthReport['status'];
  checks: Record<'database' | 'models' | 'serial' | 'broker' | 'camera' | 'camera_ir', ReadinessCheck>;
}

export interface ReadinessSources {
  health: () => HealthReport;
  db: () => Db;
  /** Whether the sync agent is connected (absent: the store does not sync). */
  brokerConnected?: () => boolean;
  /**
   * The infrared lens: `off` (none configured), `unused` (configured, but never opened: face
   * entry is off, or the demo runs without a camera) or `on`.
   */
  ir?: 'off' | 'unused' | 'on';
}

/** The infrared lens's check: its health line, or why there is none. */
function irCheck(report: HealthReport, ir: ReadinessSources['ir']): ReadinessCheck {
  if (!ir || ir === 'off') return { ok: true, reason: 'not configured' };
  if (ir === 'unused') return { ok: true, reason: 'configured, not in use: face entry is off or there is no camera / 已配置，但未使用（刷脸进门未开启或没有摄像头）' };
  const line = report.parts.camera_ir;
  if (!line) return { ok: false, reason: 'camera_ir: no frame from the infrared lens yet / 红外摄像头尚未送来画面' };
  return fromLines(report, (n) => n === 'camera_ir');
}

function fromLines(report: HealthReport, match: (name: string) => boolean): ReadinessCheck {
  const lines = Object.entries(report.parts).filter(([name]) => match(name));
  if (lines.length === 0) return { ok: true, reason: 'not configured' };
  const bad = lines.filter(([, p]) => p.health !== 'ok');
  if (bad.length === 0) return { ok: true };
  return { ok: false, reason: bad.map(([name, p]) => `${name}: ${p.health}${p.detail ? ` (${p.detail})` : ''}`).join('; ') };
}

export function readiness(src: ReadinessSources): Readiness {
  const report = src.health();
  let database: ReadinessCheck;
  try {
    pingLedger(src.db());
    const fault = report.faults.find((f) => f.code.startsWith('DB_'));
    database = fault ? { ok: false, reason: `${fault.source}: ${fault.code} ${fault.detail}` } : { ok: true };
  } catch (err) {
    database = { ok: false, reason: (err as Error).message };
  }
  const checks: Readiness['checks'] = {
    database,
    models: fromLines(report, (n) => n === 'face engine'),
    serial: fromLines(report, (n) => n.startsWith('bus ') || n === 'lock' || n === 'scanner' || /^scale [^ ]+$/.test(n)),
    broker: src.brokerConnected ? (src.brokerConnected() ? { ok: true } : { ok: false, reason: 'not connected to the village broker / 未连接村级账本的消息服务器' }) : { ok: true, reason: 'not configured' },
    camera: fromLines(report, (n) => n === 'camera'),
    camera_ir: irCheck(report, src.ir),
  };
  const ready = report.status !== 'starting' && report.status !== 'stopping' && Object.values(checks).every((c) => c.ok);
  return { ready, phase: report.status, checks };
}
