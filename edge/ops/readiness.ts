/**
 * /readyz: can the store serve villagers now? One check per thing it depends on, each with
 * its reason, read from the health lines the parts report (edge/parts.ts) plus a read of the
 * ledger and the sync agent's connection. A check with no line at all is a thing this store
 * does not have (no camera configured, no sync): it does not hold readiness back.
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
  checks: Record<'database' | 'models' | 'serial' | 'broker' | 'camera', ReadinessCheck>;
}

export interface ReadinessSources {
  health: () => HealthReport;
  db: () => Db;
  /** Whether the sync agent is connected (absent: the store does not sync). */
  brokerConnected?: () => boolean;
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
  };
  const ready = report.status !== 'starting' && report.status !== 'stopping' && Object.values(checks).every((c) => c.ok);
  return { ready, phase: report.status, checks };
}
