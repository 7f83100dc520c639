/**
 * The store's alarms: conditions a maintainer or the village must see. `AlarmBoard` keeps them
 * in the ledger (edge/ledger/alarms.ts), one active row per (kind, subject): raising an active
 * alarm again only counts the repeat, so a scale that fails every second is one alarm, not
 * thousands. Each change (raised, cleared) is logged in Chinese and English and told to the
 * listeners (the MQTT publication and /metrics). A ledger that cannot be written (a full disk)
 * must not silence the alarm saying so: the change is still logged and told.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { Db } from '../ledger/db.ts';
import { activeAlarm, clearAlarm, listActiveAlarms, raiseAlarm, recentAlarms, type AlarmRow, type AlarmSeverity } from '../ledger/alarms.ts';

export const ALARM_KINDS = ['lock_not_confirmed', 'scale_fault', 'camera_gone', 'disk_low', 'outbox_growing', 'clock_jump', 'job_failed', 'reconcile_mismatch'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** What each kind means, for the log and the admin page. */
export const ALARM_TEXT: Record<AlarmKind, { en: string; zh: string }> = {
  lock_not_confirmed: { en: 'lock not confirmed', zh: '门锁未确认' },
  scale_fault: { en: 'scale fault', zh: '秤故障' },
  camera_gone: { en: 'camera gone', zh: '摄像头断开' },
  disk_low: { en: 'disk nearly full', zh: '磁盘空间不足' },
  outbox_growing: { en: 'outbox growing', zh: '待同步记录积压' },
  clock_jump: { en: 'clock jump', zh: '系统时钟跳变' },
  job_failed: { en: 'scheduled job failed', zh: '定时任务失败' },
  reconcile_mismatch: { en: 'ledgers disagree', zh: '对账不一致' },
};

export interface AlarmEvents {
  raised: [AlarmRow];
  cleared: [AlarmRow];
}

export class AlarmBoard extends EventEmitter<AlarmEvents> {
  /** Alarms raised since start, by kind (for /metrics). */
  readonly raisedCount = new Map<AlarmKind, number>();
  /** Kept in memory too: what the ledger could not store is still active. */
  private readonly unstored = new Map<string, AlarmRow>();

  constructor(private readonly db: () => Db, private readonly log: Logger, private readonly now: () => Date = () => new Date()) {
    super();
  }

  raise(kind: AlarmKind, subject: string, detail: string, severity: AlarmSeverity = 'warning'): AlarmRow {
    const at = this.now().toISOString();
    let row: AlarmRow;
    let fresh: boolean;
    try {
      ({ row, fresh } = raiseAlarm(this.db(), { kind, subject, severity, detail }, at));
    } catch (err) {
      const key = `${kind}\u0000${subject}`;
      const old = this.unstored.get(key);
      fresh = old === undefined;
      row = { id: 0, kind, subject, severity, detail, raised_at: old?.raised_at ?? at, last_seen_at: at, seen: (old?.seen ?? 0) + 1, cleared_at: null, cleared_by: null };
      this.unstored.set(key, row);
      if (fresh) this.log.error({ err, kind }, 'cannot store the alarm in the ledger / 无法在账本中记录告警');
    }
    if (fresh) {
      this.raisedCount.set(kind, (this.raisedCount.get(kind) ?? 0) + 1);
      const t = ALARM_TEXT[kind];
      this.log[severity === 'critical' ? 'error' : 'warn']({ event: 'alarm_raised', alarm: { id: row.id, kind, subject, severity, detail } }, `alarm: ${t.en}${subject ? ` (${subject})` : ''} / 告警：${t.zh}: ${detail}`);
      this.emitSafe('raised', row);
    }
    return row;
  }

  /** The condition is gone. `by`: 'resolved' (seen gone), or who cleared it. */
  clear(kind: AlarmKind, subject: string, by = 'resolved'): AlarmRow | undefined {
    const at = this.now().toISOString();
    let row: AlarmRow | undefined;
    const key = `${kind}\u0000${subject}`;
    const mem = this.unstored.get(key);
    if (mem) {
      this.unstored.delete(key);
      row = { ...mem, cleared_at: at, cleared_by: by };
    }
    try {
      row = clearAlarm(this.db(), kind, subject, at, by) ?? row;
    } catch (err) {
      this.log.error({ err, kind }, 'cannot clear the alarm in the ledger / 无法在账本中清除告警');
    }
    if (!row) return undefined;
    const t = ALARM_TEXT[kind];
    this.log.info({ event: 'alarm_cleared', alarm: { id: row.id, kind, subject, by } }, `alarm cleared: ${t.en}${subject ? ` (${subject})` : ''} / 告警已解除：${t.zh}`);
    this.emitSafe('cleared', row);
    return row;
  }

  /** Raise or clear (kind, subject) as `active` says. */
  set(kind: AlarmKind, subject: string, active: boolean, detail: string, severity: AlarmSeverity = 'warning'): void {
    if (active) this.raise(kind, subject, detail, severity);
    else if (this.isActive(kind, subject)) this.clear(kind, subject);
  }

  isActive(kind: AlarmKind, subject: string): boolean {
    if (this.unstored.has(`${kind}\u0000${subject}`)) return true;
    try {
      return activeAlarm(this.db(), kind, subject) !== undefined;
    } catch {
      return false;
    }
  }

  /** Active alarms, oldest first (the ledger's, and any it could not store). */
  active(): AlarmRow[] {
    let rows: AlarmRow[] = [];
    try {
      rows = listActiveAlarms(this.db());
    } catch {
      // the ledger is closed or unreadable: what memory holds is all there is
    }
    return [...rows, ...this.unstored.values()];
  }

  /** The latest alarms, active or cleared (older than alarm `beforeId` when given). */
  recent(limit: number, beforeId?: number): AlarmRow[] {
    return recentAlarms(this.db(), limit, beforeId);
  }

  private emitSafe<K extends keyof AlarmEvents>(e: K, row: AlarmRow): void {
    try {
      (this.emit as (e: K, r: AlarmRow) => boolean)(e, row);
    } catch (err) {
      this.log.error({ err, event: e }, 'alarm listener failed / 告警处理失败');
    }
  }
}
