/**
 * The scheduled jobs as one daemon part. node-cron says when; this runner makes each run
 * safe: never two runs of a job at once, every run's duration and outcome logged, counted and
 * kept in the ledger (job_runs), and a failing run turns the job's health line to `degraded`
 * (shown by /healthz and the admin page) without touching the rest of the daemon.
 *
 * The ledger keeps, per job, the run the schedule expects next. A daemon that starts after
 * that moment (the PC was off over the night) runs the job at once.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.ts';
import type { HealthBoard, Part } from '../parts.ts';
import type { Db } from '../ledger/db.ts';
import { getJobRun, recordJobEnd, recordJobStart, setNextDue } from '../ledger/job-runs.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { checkCron, checkTimezone } from './config.ts';

export interface Job {
  name: string;
  /** A cron expression, or 'off'. */
  cron: string;
  /** Does the work; resolves to a one-line summary for the log and the ledger. */
  run(now: Date): Promise<string> | string;
}

export type JobOutcome = 'ok' | 'failed' | 'skipped';
export type RunReason = 'scheduled' | 'missed' | 'manual';

export interface JobStats {
  outcomes: Record<JobOutcome, number>;
  lastDurationMs: number | null;
  lastOutcome: JobOutcome | null;
}

export interface JobRunnerOptions {
  jobs: readonly Job[];
  timezone?: string;
  db: () => Db;
  health: HealthBoard;
  log: Logger;
  now?: () => Date;
  /** Told of every run's end (metrics). */
  onOutcome?: (job: string, outcome: JobOutcome, durationMs: number, detail?: string) => void;
}

/** Refuse a time zone or an expression node-cron would not understand, naming the key. */
export function checkSchedule(jobs: readonly Job[], timezone: string | undefined): void {
  checkTimezone(timezone);
  for (const j of jobs) checkCron(j.name, j.cron);
}

export class JobRunner implements Part {
  readonly name = 'jobs';
  readonly critical = false;
  private readonly tasks = new Map<string, ScheduledTask>();
  private readonly running = new Map<string, Promise<JobOutcome>>();
  private readonly stats = new Map<string, JobStats>();
  private readonly now: () => Date;

  constructor(private readonly opts: JobRunnerOptions) {
    this.now = opts.now ?? (() => new Date());
    for (const j of opts.jobs) this.stats.set(j.name, { outcomes: { ok: 0, failed: 0, skipped: 0 }, lastDurationMs: null, lastOutcome: null });
  }

  start(): void {
    checkSchedule(this.opts.jobs, this.opts.timezone);
    const now = this.now();
    for (const job of this.opts.jobs) {
      if (job.cron === 'off') {
        this.persist(() => setNextDue(this.opts.db(), job.name, null));
        continue;
      }
      // no node-cron noOverlap: it would drop a tick unseen; run() skips it and counts it
      const task = cron.createTask(job.cron, () => this.run(job.name, 'scheduled'), { name: job.name, ...(this.opts.timezone ? { timezone: this.opts.timezone } : {}) });
      this.tasks.set(job.name, task);
      const due = this.persist(() => getJobRun(this.opts.db(), job.name))?.next_due_at;
      void task.start();
      // ok before a missed run starts: a run that fails at once must leave the line degraded
      this.opts.health.set(`job ${job.name}`, 'ok');
      if (due && Date.parse(due) <= now.getTime()) {
        this.opts.log.warn({ job: job.name, due }, `job ${job.name} missed its run at ${due}; running it now / 任务错过了计划时间，现在补做`);
        void this.run(job.name, 'missed');
      } else {
        this.persist(() => setNextDue(this.opts.db(), job.name, this.nextRun(job.name)));
      }
    }
  }

  /** Stop scheduling and wait for the runs under way (the ledger closes after this part). */
  async stop(): Promise<void> {
    for (const t of this.tasks.values()) await t.destroy();
    this.tasks.clear();
    await Promise.all(this.running.values());
  }

  /** Per-job counts and the last run, for /metrics. */
  snapshot(): ReadonlyMap<string, JobStats> {
    return this.stats;
  }

  /** When the job runs next (ISO), or null when it is off. */
  nextRun(job: string): string | null {
    return this.tasks.get(job)?.getNextRun()?.toISOString() ?? null;
  }

  /** Resolves when no run is under way. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  /** Run `job` now unless a run of it is under way (then `skipped`). Never rejects. */
  run(jobName: string, reason: RunReason = 'manual'): Promise<JobOutcome> {
    const job = this.opts.jobs.find((j) => j.name === jobName);
    if (!job) return Promise.reject(new EdgeError(ErrorCode.INVALID_ARGUMENT, `no job named ${jobName}`, { zh: `没有名为 ${jobName} 的任务` }));
    if (this.running.has(jobName)) {
      this.opts.log.warn({ job: jobName, reason }, `job ${jobName} is still running; this run is skipped / 任务仍在运行，本次跳过`);
      this.count(jobName, 'skipped', 0);
      return Promise.resolve('skipped');
    }
    const p = this.execute(job, reason).finally(() => this.running.delete(jobName));
    this.running.set(jobName, p);
    return p;
  }

  private async execute(job: Job, reason: RunReason): Promise<JobOutcome> {
    const log = this.opts.log;
    const startedAt = this.now();
    const t0 = performance.now();
    // the schedule's next run as known now: stop() may destroy the task before this run ends
    const nextDueAtStart = this.nextRun(job.name);
    this.persist(() => recordJobStart(this.opts.db(), job.name, startedAt.toISOString()));
    let outcome: 'ok' | 'failed';
    let detail: string;
    try {
      detail = await job.run(startedAt);
      outcome = 'ok';
    } catch (err) {
      outcome = 'failed';
      detail = (err as Error).message ?? String(err);
      log.error({ err, job: job.name, reason }, `job ${job.name} failed / 定时任务失败: ${detail}`);
    }
    const durationMs = performance.now() - t0;
    if (outcome === 'ok') {
      log.info({ job: job.name, reason, durationMs: Math.round(durationMs), detail }, `job ${job.name} done / 定时任务完成: ${detail}`);
      this.opts.health.set(`job ${job.name}`, 'ok');
    } else {
      this.opts.health.set(`job ${job.name}`, 'degraded', `last run failed at ${startedAt.toISOString()} / 上次运行失败: ${detail}`);
    }
    this.persist(() => recordJobEnd(this.opts.db(), job.name, { at: this.now().toISOString(), outcome, detail, durationMs, nextDueAt: this.nextRun(job.name) ?? nextDueAtStart }));
    this.count(job.name, outcome, durationMs, detail);
    return outcome;
  }

  private count(job: string, outcome: JobOutcome, durationMs: number, detail?: string): void {
    const s = this.stats.get(job)!;
    s.outcomes[outcome]++;
    s.lastOutcome = outcome;
    if (outcome !== 'skipped') s.lastDurationMs = durationMs;
    this.opts.onOutcome?.(job, outcome, durationMs, detail);
  }

  /** Keeping the record must not stop a job nor the daemon (a full disk): log and go on. */
  private persist<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.opts.log.error({ err }, 'cannot record the job run in the ledger / 无法在账本中记录任务运行');
      return undefined;
    }
  }
}
