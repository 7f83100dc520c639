/**
 * The retention of evidence photos (凭证照片): a photo kept longer than `keepDays` is purged —
 * its picture's bytes are emptied and `purged_at` set (schema v6 allows exactly that, once) —
 * while the row, its SHA-256, the claim, its ledger entry and the audit log stay. The purge is
 * itself a step of the audit log, for the photo and for each claim that named it: "photo
 * purged on DATE". A photo named by a claim still waiting for a decision (claimed, reported)
 * is kept until it is decided. Runs as a scheduled job of the ledger (node-cron, village time)
 * and once at start, so a ledger that was off at the scheduled time catches up.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { EdgeError, ErrorCode } from '../../../edge/errors.ts';
import type { Logger } from '../../../edge/log.ts';
import type { SqlDb } from '../sql.ts';
import { audit, localDate } from './rules.ts';

export interface RetentionOptions {
  /** Days a photo is kept after its upload; 0 keeps photos for ever. */
  keepDays: number;
  /** When the purge runs (cron, in `timezone`); 'off' only at start. */
  cron: string;
  timezone: string;
}
export const DEFAULT_RETENTION: RetentionOptions = { keepDays: 365, cron: '15 3 * * *', timezone: 'Asia/Shanghai' };

/** Photos purged per transaction: a large first purge never holds the ledger long. */
const BATCH = 50;

export interface PurgeResult { purged: number; claims: number; cutoff: string }

/** Purges the photos uploaded before `now - keepDays`; answers how many (and how many claims named them). */
export async function purgeEvidence(db: SqlDb, keepDays: number, now: Date): Promise<PurgeResult> {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000).toISOString();
  const out: PurgeResult = { purged: 0, claims: 0, cutoff };
  if (keepDays <= 0) return out;
  const on = localDate(now);
  for (;;) {
    const due = await db.query<{ id: string; village: string; created_at: string }>(
      `SELECT e.id, e.village, e.created_at FROM gov_evidence e
       WHERE e.purged_at IS NULL AND e.created_at < $1
         AND NOT EXISTS (SELECT 1 FROM gov_claims c WHERE c.evidence = 'photo:' || e.id AND c.status IN ('claimed', 'reported'))
       ORDER BY e.created_at LIMIT ${BATCH}`, [cutoff]);
    if (due.length === 0) return out;
    await db.transaction(async (tx) => {
      for (const p of due) {
        if ((await tx.run('UPDATE gov_evidence SET bytes = $1, purged_at = $2 WHERE id = $3 AND purged_at IS NULL', [Buffer.alloc(0), now.toISOString(), p.id])) === 0) continue;
        const note = { purged_on: on, uploaded_at: p.created_at, kept_days: keepDays, zh: `照片已于 ${on} 按保存期限删除`, message: `photo purged on ${on}` };
        await audit(tx, p.village, `evidence:${p.id}`, 'evidence.purge', 'system', note, now);
        const claims = await tx.query<{ id: string }>('SELECT id FROM gov_claims WHERE village = $1 AND evidence = $2', [p.village, `photo:${p.id}`]);
        for (const c of claims) await audit(tx, p.village, `claim:${c.id}`, 'evidence.purge', 'system', { evidence: `photo:${p.id}`, ...note }, now);
        out.purged++;
        out.claims += claims.length;
      }
    });
  }
}

/** The purge as a scheduled part of the ledger process: start() schedules it (and runs it once), stop() waits for a run under way. */
export class EvidenceRetention {
  private task: ScheduledTask | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: { db: SqlDb; log: Logger; options: RetentionOptions; clock?: () => Date }) {}

  /** Refuses a schedule node-cron would not understand, naming the option. */
  static check(o: RetentionOptions): void {
    if (!Number.isInteger(o.keepDays) || o.keepDays < 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--evidence-keep-days must be a whole number of days ≥ 0 (0 keeps photos for ever), got ${o.keepDays}`, { zh: '--evidence-keep-days 须为不小于 0 的整数天数（0 表示永久保存）' });
    if (o.cron !== 'off' && !cron.validate(o.cron)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--evidence-purge-cron: ${JSON.stringify(o.cron)} is not a cron expression (e.g. "15 3 * * *") nor "off"`, { zh: `--evidence-purge-cron：${o.cron} 不是有效的 cron 表达式` });
    try {
      new Intl.DateTimeFormat('en', { timeZone: o.timezone });
    } catch {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${JSON.stringify(o.timezone)} is not an IANA time zone (e.g. Asia/Shanghai)`, { zh: `${o.timezone} 不是有效的时区名` });
    }
  }

  start(): void {
    const o = this.deps.options;
    EvidenceRetention.check(o);
    if (o.keepDays === 0) return;
    if (o.cron !== 'off') {
      this.task = cron.createTask(o.cron, () => this.runOnce(), { name: 'evidence_purge', noOverlap: true, timezone: o.timezone });
      void this.task.start();
    }
    void this.runOnce();
  }

  /** One purge now (a run under way is joined, not doubled). Never rejects: a failure is logged. */
  runOnce(): Promise<void> {
    this.running ??= (async () => {
      const now = (this.deps.clock ?? (() => new Date()))();
      try {
        const r = await purgeEvidence(this.deps.db, this.deps.options.keepDays, now);
        this.deps.log.info({ job: 'evidence_purge', ...r, keep_days: this.deps.options.keepDays }, `evidence photos older than ${this.deps.options.keepDays} days: ${r.purged} purged / 超过保存期限的凭证照片已删除 ${r.purged} 张`);
      } catch (err) {
        this.deps.log.error({ job: 'evidence_purge', err }, 'the evidence photo purge failed; it runs again at its next time / 凭证照片定期删除失败，下次按时重试');
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    await this.running;
  }
}
