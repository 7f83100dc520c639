/**
 * The store's alarms: conditions a maintainer or the village must see. `AlarmBoard` keeps them
 * in the ledger (edge/ledger/alarms.ts), one active row per (kind, subject): raising an active
 * alarm again only counts the repeat, so a scale that fails every second is one alarm, not
 * thousands. Each change (raised, cleared) is logged in Chinese and English and told to the
 * listeners (the MQTT publication and /metrics) once it is committed: a change written inside a
 * caller's transaction (the door override's, with its audit record) is announced after that
 * transaction has ended, and only if the ledger then holds it, never when it rolled back
 * (`whenCommitted`). A ledger that cannot be written (a full disk) must not silence the alarm
 * saying so: the change is still logged and told.
 * A maintainer acknowledges an alarm (who, when, a note; audited): it stays listed, marked as
 * acknowledged, until its condition clears; a new occurrence raises it again. An alarm whose
 * condition the store cannot see go away (CLEARED_BY_HAND) is cleared by a maintainer (audited).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import { inTransaction, type Db } from '../ledger/db.ts';
import { acknowledgeAlarm, activeAlarm, alarmById, clearAlarm, clearAlarmById, endedSince, handClearedSince, listActiveAlarms, raiseAlarm, recentAlarms, type AlarmRow, type AlarmSeverity, type EndedAlarm, type HandClearedAlarm, type UnlistedAlarms } from '../ledger/alarms.ts';
import { appendAudit } from '../ledger/audit.ts';
import { ALARM_HISTORY_DAYS, ALARM_HISTORY_GROUPS, ALARM_HISTORY_MAX, HAND_CLEARED_DAYS, HAND_CLEARED_MAX } from '../../cloud-sync/protocol/ops.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

export const ALARM_KINDS = ['lock_not_confirmed', 'scale_fault', 'camera_gone', 'disk_low', 'outbox_growing', 'clock_jump', 'clock_skew', 'job_failed', 'reconcile_mismatch', 'door_open', 'villager_id_taken', 'ledger_silent', 'idle_shelf_change'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** What each kind means, for the log and the admin page. */
export const ALARM_TEXT: Record<AlarmKind, { en: string; zh: string }> = {
  lock_not_confirmed: { en: 'lock not confirmed', zh: '门锁未确认' },
  scale_fault: { en: 'scale fault', zh: '秤故障' },
  camera_gone: { en: 'camera gone', zh: '摄像头断开' },
  disk_low: { en: 'disk nearly full', zh: '磁盘空间不足' },
  outbox_growing: { en: 'outbox growing', zh: '待同步记录积压' },
  clock_jump: { en: 'clock jump', zh: '系统时钟跳变' },
  clock_skew: { en: "store clock off from the village ledger's", zh: '本店时钟与村账本不一致' },
  job_failed: { en: 'scheduled job failed', zh: '定时任务失败' },
  reconcile_mismatch: { en: 'ledgers disagree', zh: '对账不一致' },
  door_open: { en: 'door held open', zh: '门长时间未关' },
  villager_id_taken: { en: 'villager id held by another village', zh: '村民编号已属别村' },
  ledger_silent: { en: 'the village ledger does not answer this store', zh: '村账本不应答本店' },
  idle_shelf_change: { en: 'shelf changed with nobody in the store', zh: '无人时货架重量变化' },
};

/**
 * Kinds a maintainer clears by hand: what only the village ledger can settle. `villager_id_taken`
 * clears by itself only when that villager leaves; the village may instead correct the other
 * village's record, which the store never hears of. `idle_shelf_change` clears by itself when the
 * weight comes back; goods that do not come back are settled only by the maintainer who has
 * looked (the camera, a count of the shelf). Every other kind is watched here, and
 * clears when its condition does (clearing one by hand would only hide a fault still there).
 */
export const CLEARED_BY_HAND: ReadonlySet<string> = new Set<AlarmKind>(['villager_id_taken', 'idle_shelf_change']);

export interface AlarmEvents {
  raised: [AlarmRow];
  acknowledged: [AlarmRow];
  cleared: [AlarmRow];
}

export interface RaiseOptions {
  /**
   * A new occurrence rather than the same condition seen again (a job's failed run, a clock
   * jump, a reconciliation that disagrees): it takes back an acknowledgement.
   */
  occurrence?: boolean;
  /**
   * The ledger's refusal is thrown, not held in memory as raised: for a caller that writes the
   * alarm inside its own transaction (with its audit record) and acts only once it commits.
   */
  strict?: boolean;
}

/** What `acknowledge` did: `acknowledged` false when it had been acknowledged already. */
export interface Acknowledgement { alarm: AlarmRow; acknowledged: boolean; auditId: number | null }

/** What `clearByHand` did: `cleared` false when it had cleared already. */
export interface HandClearing { alarm: AlarmRow; cleared: boolean; auditId: number | null }

export class AlarmBoard extends EventEmitter<AlarmEvents> {
  /** Alarms raised since start, by kind (for /metrics). */
  readonly raisedCount = new Map<AlarmKind, number>();
  /** Kept in memory too: what the ledger could not store is still active. */
  private readonly unstored = new Map<string, AlarmRow>();
  /** The active alarms as last told to the listeners: id → acknowledged_at (see noticeLedgerChanges). */
  private told: Map<number, string | null> | undefined;
  /** Changes written inside a caller's transaction, announced once it has ended (whenCommitted). */
  private readonly uncommitted: Array<{ landed: (db: Db) => boolean; tell: () => void }> = [];

  constructor(private readonly db: () => Db, private readonly log: Logger, private readonly now: () => Date = () => new Date()) {
    super();
  }

  raise(kind: AlarmKind, subject: string, detail: string, severity: AlarmSeverity = 'warning', opts: RaiseOptions = {}): AlarmRow {
    const at = this.now().toISOString();
    let row: AlarmRow;
    let fresh: boolean;
    let reraised = false;
    const key = `${kind}\u0000${subject}`;
    try {
      ({ row, fresh, reraised } = raiseAlarm(this.db(), { kind, subject, severity, detail, ...(opts.occurrence ? { occurrence: true } : {}) }, at));
      // raised already while the ledger could not store it: now stored, the same alarm, not a new one
      if (this.unstored.delete(key)) fresh = false;
    } catch (err) {
      if (opts.strict) throw err;
      const old = this.unstored.get(key);
      fresh = old === undefined;
      row = { id: 0, kind, subject, severity, detail, raised_at: old?.raised_at ?? at, last_seen_at: at, seen: (old?.seen ?? 0) + 1, cleared_at: null, cleared_by: null, acknowledged_at: null, acknowledged_by: null, ack_note: null };
      this.unstored.set(key, row);
      if (fresh) this.log.error({ err, kind }, 'cannot store the alarm in the ledger / 无法在账本中记录告警');
    }
    if (fresh || reraised) {
      const told = row;
      const tell = (): void => {
        this.raisedCount.set(kind, (this.raisedCount.get(kind) ?? 0) + 1);
        const t = ALARM_TEXT[kind];
        const again = reraised ? { en: ' again (its acknowledgement is taken back)', zh: '（再次发生，之前的确认已撤销）' } : { en: '', zh: '' };
        this.log[severity === 'critical' ? 'error' : 'warn']({ event: 'alarm_raised', alarm: { id: told.id, kind, subject, severity, detail, reraised } }, `alarm${again.en}: ${t.en}${subject ? ` (${subject})` : ''} / 告警${again.zh}：${t.zh}: ${detail}`);
        this.emitSafe('raised', told);
      };
      // held in memory only (id 0): nothing to commit
      if (told.id === 0) tell();
      else this.whenCommitted((db) => {
        const r = alarmById(db, told.id);
        return r !== undefined && r.kind === kind && r.subject === subject && r.raised_at === told.raised_at && r.seen >= told.seen;
      }, tell);
    }
    return row;
  }

  /**
   * A maintainer acknowledges the active alarm `id` (`by`: the account; `note`: what is being
   * done), written with its audit record in one transaction. The first acknowledgement stands;
   * a cleared alarm, or one that is not there, is refused.
   */
  acknowledge(id: number, by: string, note: string | null): Acknowledgement {
    const at = this.now().toISOString();
    const r = inTransaction(this.db(), 'acknowledging an alarm', () => {
      const res = acknowledgeAlarm(this.db(), id, by, note, at);
      if (!res) throw new EdgeError(ErrorCode.NOT_FOUND, `no alarm ${id}`, { zh: `没有编号为 ${id} 的告警`, details: { field: 'id' } });
      if (res.cleared) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `alarm ${id} has cleared already; there is nothing to acknowledge`, { zh: `告警 ${id} 已经解除，无需确认`, details: { field: 'id', status: 409, error: 'ALARM_CLEARED' } });
      if (!res.acknowledged) return { ...res, auditId: null };
      const auditId = appendAudit(this.db(), {
        actor: by,
        action: 'alarm.acknowledge',
        target: `${res.row.kind}${res.row.subject ? ` ${res.row.subject}` : ''} #${id}`,
        before: { acknowledged_at: null },
        after: { acknowledged_at: at, note },
      }, () => new Date(at)); // the board's time, as on the alarm (not the system clock)
      return { ...res, auditId };
    });
    if (r.acknowledged) {
      this.whenCommitted((db) => alarmById(db, id)?.acknowledged_at === at, () => {
        const t = ALARM_TEXT[r.row.kind as AlarmKind] ?? { en: r.row.kind, zh: r.row.kind };
        this.log.info({ event: 'alarm_acknowledged', alarm: { id, kind: r.row.kind, subject: r.row.subject, by, note } }, `alarm acknowledged by ${by}: ${t.en}${r.row.subject ? ` (${r.row.subject})` : ''} / 告警已由 ${by} 确认：${t.zh}`);
        this.emitSafe('acknowledged', r.row);
      });
    }
    return { alarm: r.row, acknowledged: r.acknowledged, auditId: r.auditId };
  }

  /**
   * A maintainer clears the alarm `id` (`by`: the account; `note`: why), written with its audit
   * record in one transaction; only a kind in CLEARED_BY_HAND. A cleared alarm stays cleared
   * (`cleared` false, not audited again); the same condition reported again raises a new one.
   */
  clearByHand(id: number, by: string, note: string | null): HandClearing {
    const at = this.now().toISOString();
    const r = inTransaction(this.db(), 'clearing an alarm', () => {
      const before = alarmById(this.db(), id);
      if (!before) throw new EdgeError(ErrorCode.NOT_FOUND, `no alarm ${id}`, { zh: `没有编号为 ${id} 的告警`, details: { field: 'id' } });
      if (!CLEARED_BY_HAND.has(before.kind)) {
        const t = ALARM_TEXT[before.kind as AlarmKind] ?? { en: before.kind, zh: before.kind };
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `alarm ${id} (${t.en}) clears by itself once its condition is gone; it cannot be cleared by hand: acknowledge it instead`, { zh: `告警 ${id}（${t.zh}）在故障排除后会自动解除，不能手动解除；请改为确认`, details: { field: 'id', status: 409, error: 'ALARM_NOT_CLEARABLE' } });
      }
      const res = clearAlarmById(this.db(), id, at, by)!;
      if (!res.cleared) return { ...res, auditId: null };
      const auditId = appendAudit(this.db(), {
        actor: by,
        action: 'alarm.clear',
        target: `${res.row.kind}${res.row.subject ? ` ${res.row.subject}` : ''} #${id}`,
        before: { cleared_at: null },
        after: { cleared_at: at, cleared_by: by, note },
      }, () => new Date(at));
      return { ...res, auditId };
    });
    if (r.cleared) {
      this.whenCommitted((db) => alarmById(db, id)?.cleared_at === at, () => {
        const t = ALARM_TEXT[r.row.kind as AlarmKind];
        this.log.info({ event: 'alarm_cleared', alarm: { id, kind: r.row.kind, subject: r.row.subject, by, note } }, `alarm cleared by ${by}: ${t.en}${r.row.subject ? ` (${r.row.subject})` : ''} / 告警已由 ${by} 解除：${t.zh}`);
        this.emitSafe('cleared', r.row);
      });
    }
    return { alarm: r.row, cleared: r.cleared, auditId: r.auditId };
  }

  /**
   * The condition is gone. `by`: 'resolved' (seen gone), or who cleared it. `strict`: the
   * ledger's refusal is thrown (the alarm stays active), as for `raise`.
   */
  clear(kind: AlarmKind, subject: string, by = 'resolved', opts: { strict?: boolean } = {}): AlarmRow | undefined {
    const at = this.now().toISOString();
    let stored: AlarmRow | undefined;
    try {
      stored = clearAlarm(this.db(), kind, subject, at, by);
    } catch (err) {
      if (opts.strict) throw err;
      this.log.error({ err, kind }, 'cannot clear the alarm in the ledger / 无法在账本中清除告警');
    }
    const key = `${kind}\u0000${subject}`;
    const mem = this.unstored.get(key);
    if (mem) this.unstored.delete(key);
    const row = stored ?? (mem ? { ...mem, cleared_at: at, cleared_by: by } : undefined);
    if (!row) return undefined;
    const tell = (): void => {
      const t = ALARM_TEXT[kind];
      this.log.info({ event: 'alarm_cleared', alarm: { id: row.id, kind, subject, by } }, `alarm cleared: ${t.en}${subject ? ` (${subject})` : ''} / 告警已解除：${t.zh}`);
      this.emitSafe('cleared', row);
    };
    if (!stored) tell(); // held in memory only: nothing to commit
    else this.whenCommitted((db) => alarmById(db, stored.id)?.cleared_at === at, tell);
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

  /**
   * Tell the listeners what another process (`store-edge alarms`) changed in the ledger since the
   * last call: an active alarm acknowledged, or cleared. The first call only takes note.
   */
  noticeLedgerChanges(): void {
    const now = listActiveAlarms(this.db());
    const told = this.told;
    this.told = new Map(now.map((a) => [a.id, a.acknowledged_at]));
    if (!told) return;
    const active = new Set(now.map((a) => a.id));
    for (const [id] of told) {
      if (active.has(id)) continue;
      const row = alarmById(this.db(), id);
      if (row?.cleared_at) this.emitSafe('cleared', row, false);
    }
    for (const a of now) {
      if (told.has(a.id) && told.get(a.id) === null && a.acknowledged_at !== null) this.emitSafe('acknowledged', a, false);
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

  /** The alarms cleared by hand in the last `days` (at most `max`, newest first), for the village; none when the ledger cannot be read. */
  clearedByHand(days = HAND_CLEARED_DAYS, max = HAND_CLEARED_MAX): HandClearedAlarm[] {
    try {
      return handClearedSince(this.db(), new Date(this.now().getTime() - days * 86_400_000).toISOString(), max);
    } catch {
      return [];
    }
  }

  /**
   * The alarms that ended in the last `days` (cleared by themselves or by hand) for the village:
   * the newest `max` in full, the rest counted (edge/ledger/alarms.ts `endedSince`); `since`: where
   * the window starts. Nothing when the ledger cannot be read.
   */
  ended(days = ALARM_HISTORY_DAYS, max = ALARM_HISTORY_MAX, groups = ALARM_HISTORY_GROUPS): { since: string; listed: EndedAlarm[]; unlisted: { count: number; groups: UnlistedAlarms[] } } {
    const since = new Date(this.now().getTime() - days * 86_400_000).toISOString();
    try {
      return { since, ...endedSince(this.db(), since, max, groups) };
    } catch {
      return { since, listed: [], unlisted: { count: 0, groups: [] } };
    }
  }

  /** The latest alarms, active or cleared (older than alarm `beforeId` when given). */
  recent(limit: number, beforeId?: number): AlarmRow[] {
    return recentAlarms(this.db(), limit, beforeId);
  }

  /**
   * Announces a change once it is committed. A write that was its own commit (no transaction
   * open around it) is announced at once. One written inside a caller's transaction is announced
   * once that transaction has ended (better-sqlite3's transactions end before control returns to
   * the event loop), and only if the ledger then holds it (`landed`): a rollback or a failed
   * commit leaves nothing to announce. A ledger that cannot be read then is announced: the write
   * did not fail, and an alarm must not be silenced by a doubt.
   */
  private whenCommitted(landed: (db: Db) => boolean, tell: () => void): void {
    let open = false;
    try {
      open = this.db().inTransaction;
    } catch {
      // no ledger to ask: the write just made was its own
    }
    if (!open) return tell();
    this.uncommitted.push({ landed, tell });
    if (this.uncommitted.length === 1) queueMicrotask(() => this.tellCommitted());
  }

  private tellCommitted(): void {
    let db: Db | undefined;
    try {
      db = this.db();
      // still inside a transaction (one begun by hand, across an await): look again later
      if (db.inTransaction) return void setImmediate(() => this.tellCommitted());
    } catch {
      db = undefined;
    }
    for (const c of this.uncommitted.splice(0)) {
      let landed = true;
      try {
        if (db) landed = c.landed(db);
      } catch {
        landed = true;
      }
      if (landed) c.tell();
      else this.log.debug({ event: 'alarm_not_committed' }, 'an alarm change was rolled back with its transaction: not announced / 告警变更随事务回滚，不予通告');
    }
  }

  private emitSafe<K extends keyof AlarmEvents>(e: K, row: AlarmRow, noteTold = true): void {
    // what is told here is not told again by noticeLedgerChanges
    if (noteTold && this.told && row.id !== 0) {
      if (e === 'cleared') this.told.delete(row.id);
      else this.told.set(row.id, row.acknowledged_at);
    }
    try {
      (this.emit as (e: K, r: AlarmRow) => boolean)(e, row);
    } catch (err) {
      this.log.error({ err, event: e }, 'alarm listener failed / 告警处理失败');
    }
  }
}

/**
 * The sync agent's `villagerIdTaken` (an ack's `foreign`, for rows it acknowledges now, never an
 * ack published again): a villager registered here under an id the village ledger holds in
 * another village. The ledger keeps the registration, but that
 * villager's points never count there (another village's person has the id), so the
 * maintainer must register them again under another id. One alarm per villager.
 */
export function villagerIdTakenAlarm(board: AlarmBoard): (villagerIds: string[]) => void {
  return (villagerIds) => {
    for (const id of villagerIds) {
      // each row named is an occurrence: it takes back an acknowledgement (a cleared alarm is raised anew)
      board.raise('villager_id_taken', `villager ${id}`, `villager ${id}, registered at this store, has an id the village ledger holds in another village: their points will not count at the village ledger; register them again under another id / 本店登记的村民 ${id} 的编号在村账本中属于别村，其积分不会计入村账本，请换一个编号重新登记`, 'warning', { occurrence: true });
    }
  };
}
