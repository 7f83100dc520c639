/**
 * The village ledger's retention job (node-cron, village time, and once at start so that a
 * ledger that was off at the scheduled time catches up): evidence photos kept longer than
 * `evidenceKeepDays` are purged (governance/evidence-retention.ts), and the stores' cleared,
 * acknowledged alarms older than `alarmKeepDays` are deleted from the history
 * (store-alarms.ts). Forms' request ids older than REQUEST_KEEP_DAYS are deleted too
 * (governance/request-ids.ts), whatever the other two keep. Each purge is logged on its own; one
 * failing does not stop the others, and a failed run is tried again at the next time.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { Logger } from '../../edge/log.ts';
import type { SqlDb } from './sql.ts';
import { purgeEvidence } from './governance/evidence-retention.ts';
import { purgeStoreAlarms } from './store-alarms.ts';
import { purgeRequestIds, REQUEST_KEEP_DAYS } from './governance/request-ids.ts';

export interface LedgerRetentionOptions {
  /** Days an evidence photo is kept after its upload; 0 keeps photos for ever. */
  evidenceKeepDays: number;
  /** Days a store's alarm stays in the history after it cleared (acknowledged ones; see purgeStoreAlarms); 0 for ever. */
  alarmKeepDays: number;
  /** When the purges run (cron, in `timezone`); 'off' only at start. */
  cron: string;
  timezone: string;
}

/**
 * Photos a year. Alarms a year too: the store itself keeps its cleared alarms 180 days
 * (`alarms.keep_days`); the village ledger is where the village and the town look back at a
 * store's upkeep over the seasons, a year of history at a few hundred bytes an occurrence.
 */
export const DEFAULT_LEDGER_RETENTION: LedgerRetentionOptions = { evidenceKeepDays: 365, alarmKeepDays: 365, cron: '15 3 * * *', timezone: 'Asia/Shanghai' };

/** A hundred years: far beyond any retention, and well inside what a Date can count back (±8.64e15 ms). */
export const MAX_KEEP_DAYS = 36_500;
const days = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= MAX_KEEP_DAYS;

/** The purges as a scheduled part of the ledger process: start() schedules them (and runs them once), stop() waits for a run under way. */
export class LedgerRetention {
  private task: ScheduledTask | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: { db: SqlDb; log: Logger; options: LedgerRetentionOptions; clock?: () => Date }) {}

  /** Refuses a period or schedule that would not work, naming the option. */
  static check(o: LedgerRetentionOptions): void {
    if (!days(o.evidenceKeepDays)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--evidence-keep-days must be a whole number of days from 0 to ${MAX_KEEP_DAYS} (0 keeps photos for ever), got ${o.evidenceKeepDays}`, { zh: `--evidence-keep-days 须为 0 到 ${MAX_KEEP_DAYS} 之间的整数天数（0 表示永久保存）` });
    if (!days(o.alarmKeepDays)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--alarm-keep-days must be a whole number of days from 0 to ${MAX_KEEP_DAYS} (0 keeps the stores' alarm history for ever), got ${o.alarmKeepDays}`, { zh: `--alarm-keep-days 须为 0 到 ${MAX_KEEP_DAYS} 之间的整数天数（0 表示门店告警记录永久保存）` });
    if (o.cron !== 'off' && !cron.validate(o.cron)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--evidence-purge-cron: ${JSON.stringify(o.cron)} is not a cron expression (e.g. "15 3 * * *") nor "off"`, { zh: `--evidence-purge-cron：${o.cron} 不是有效的 cron 表达式` });
    try {
      new Intl.DateTimeFormat('en', { timeZone: o.timezone });
    } catch {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${JSON.stringify(o.timezone)} is not an IANA time zone (e.g. Asia/Shanghai)`, { zh: `${o.timezone} 不是有效的时区名` });
    }
  }

  start(): void {
    const o = this.deps.options;
    LedgerRetention.check(o);
    // always scheduled: request ids are deleted whatever photos and alarms keep
    if (o.cron !== 'off') {
      this.task = cron.createTask(o.cron, () => this.runOnce(), { name: 'ledger_retention', noOverlap: true, timezone: o.timezone });
      void this.task.start();
    }
    void this.runOnce();
  }

  /** One run of the purges now (a run under way is joined, not doubled). Never rejects: a failure is logged. */
  runOnce(): Promise<void> {
    this.running ??= (async () => {
      const now = (this.deps.clock ?? (() => new Date()))();
      await this.evidence(now);
      await this.alarms(now);
      await this.requestIds(now);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async evidence(now: Date): Promise<void> {
    const keep = this.deps.options.evidenceKeepDays;
    if (keep === 0) return;
    try {
      const r = await purgeEvidence(this.deps.db, keep, now);
      this.deps.log.info({ job: 'evidence_purge', ...r, keep_days: keep }, `evidence photos older than ${keep} days: ${r.purged} purged / 超过保存期限的凭证照片已删除 ${r.purged} 张`);
    } catch (err) {
      this.deps.log.error({ job: 'evidence_purge', err }, 'the evidence photo purge failed; it runs again at its next time / 凭证照片定期删除失败，下次按时重试');
    }
  }

  private async alarms(now: Date): Promise<void> {
    const keep = this.deps.options.alarmKeepDays;
    if (keep === 0) return;
    try {
      const r = await purgeStoreAlarms(this.deps.db, keep, now);
      this.deps.log.info({ job: 'store_alarm_purge', ...r, keep_days: keep }, `stores' acknowledged alarms cleared more than ${keep} days ago: ${r.deleted} deleted / 已清除超过 ${keep} 天且已确认的门店告警记录已删除 ${r.deleted} 条`);
    } catch (err) {
      this.deps.log.error({ job: 'store_alarm_purge', err }, 'the purge of the stores\' alarm history failed; it runs again at its next time / 门店告警记录定期删除失败，下次按时重试');
    }
  }

  private async requestIds(now: Date): Promise<void> {
    try {
      const r = await purgeRequestIds(this.deps.db, REQUEST_KEEP_DAYS, now);
      this.deps.log.info({ job: 'request_id_purge', ...r, keep_days: REQUEST_KEEP_DAYS }, `forms' request ids older than ${REQUEST_KEEP_DAYS} days: ${r.deleted} deleted / 超过 ${REQUEST_KEEP_DAYS} 天的表单提交编号已删除 ${r.deleted} 条`);
    } catch (err) {
      this.deps.log.error({ job: 'request_id_purge', err }, 'the purge of forms\' request ids failed; it runs again at its next time / 表单提交编号定期删除失败，下次按时重试');
    }
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    await this.running;
  }
}
