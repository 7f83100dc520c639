/** The scheduled jobs' slice of the config: when each runs, and what it keeps. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import cron from 'node-cron';
import { EdgeError, ErrorCode } from '../errors.ts';

function Section<T extends Record<string, TSchema>>(props: T, description: string) {
  return Type.Object(props, { additionalProperties: false, default: {}, description });
}

const Cron = (dflt: string, what: string) =>
  Type.String({ minLength: 1, maxLength: 100, default: dflt, description: `When ${what} runs: a cron expression (minute hour day month weekday, optionally seconds first) in jobs.timezone; "off" disables it` });

export const JobsConfigSchema = Section({
  enabled: Type.Boolean({ default: true, description: 'Run the scheduled jobs (backup, retention, reconciliation, scale auto-zero) in the daemon' }),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "The store's IANA time zone, e.g. Asia/Shanghai: the jobs' times, and every time the admin pages and the board show; default: the system's" })),
  backup: Section({
    cron: Cron('30 2 * * *', 'the online backup of the ledger'),
    dir: Type.String({ minLength: 1, default: 'backups', description: 'Folder of the ledger copies (absolute, or relative to data_dir)' }),
    key_dir: Type.String({ minLength: 1, default: 'backup-keys', description: 'Folder the face-template key and the store\'s sync signing key are copied to (absolute, or relative to data_dir), kept apart from the copies: a copy of the ledger alone does not decrypt the templates nor sign as the store. store-edge restore --keys FOLDER puts them back where the daemon reads them. With the keys apart (keys_dir), a folder inside data_dir (also through a symbolic link) is warned at start and by store-edge doctor. Mode 0700' }),
    keep_days: Type.Integer({ minimum: 1, maximum: 3650, default: 14, description: 'Copies this many days old or older are deleted after each verified new copy; the newest copy is always kept' }),
  }, 'Nightly online backup of the ledger (SQLite backup API), each copy verified with PRAGMA integrity_check'),
  retention: Section({
    cron: Cron('15 3 * * *', 'the retention purge'),
    entry_events_days: Type.Integer({ minimum: 1, maximum: 3650, default: 180, description: 'Door decisions (entry_events) older than this many days are deleted' }),
    left_villager_templates_days: Type.Integer({ minimum: 0, maximum: 3650, default: 30, description: "Face templates, kept enrolment photos and the face consent of a villager who left the village are deleted this many days after the status changed (audited face.retention); templates and kept photos of a villager without face consent are deleted at every run" }),
  }, 'Purge of old door decisions and of face data no longer allowed'),
  reconcile: Section({
    cron: Cron('45 3 * * *', 'the reconciliation with the village ledger (only with sync.enabled)'),
    window_hours: Type.Integer({ minimum: 1, maximum: 48, default: 48, description: "Hours of the store's entries and sessions compared with the village ledger's at each run, ending at the run (or at the oldest row the ledger has not acknowledged yet, which cannot match); the village ledger answers at most 48 hours, beginning at most 7 days ago" }),
    timeout_s: Type.Integer({ minimum: 1, maximum: 3600, default: 120, description: "Seconds to wait for the village ledger's answer; no answer fails the run (job_failed alarm)" }),
  }, "Daily comparison of the store's totals per villager (entries, points, points redeemed, sessions) with the village ledger's; a difference raises the reconcile_mismatch alarm naming the villagers"),
  auto_zero: Section({
    cron: Cron('0 3 * * *', 'the scale auto-zero'),
    empty_for_min: Type.Integer({ minimum: 0, maximum: 10_000, default: 60, description: 'Minutes the store must have been empty (no session open, none closed since) before the scales are zeroed' }),
    max_offset_g: Type.Integer({ minimum: 1, maximum: 100_000, default: 100, description: 'An empty slot (stock 0) reading more than this many grams is not zeroed: something may lie on it; it is logged for a maintainer' }),
    min_offset_g: Type.Integer({ minimum: 0, maximum: 100_000, default: 2, description: 'A slot reading within this many grams of 0 is left alone (already at zero)' }),
  }, 'Nightly zero of the shelf scales while the store is empty: only slots that are healthy, stable and empty according to the stock'),
}, 'Scheduled jobs (node-cron), in the store\'s time zone');

export type JobsConfig = Static<typeof JobsConfigSchema>;

/** Refuse a time zone Intl does not know, naming the key. */
export function checkTimezone(timezone: string | undefined): void {
  if (timezone === undefined) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `jobs.timezone: ${JSON.stringify(timezone)} is not an IANA time zone (e.g. Asia/Shanghai)`, { zh: `jobs.timezone：${timezone} 不是有效的时区名（如 Asia/Shanghai）` });
  }
}

/** Refuse an expression node-cron would not understand (nor "off"), naming the job's key. */
export function checkCron(job: string, expr: string): void {
  if (expr !== 'off' && !cron.validate(expr)) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `jobs.${job}.cron: ${JSON.stringify(expr)} is not a cron expression (e.g. "30 2 * * *") nor "off"`, { zh: `jobs.${job}.cron：${expr} 不是有效的 cron 表达式（如 "30 2 * * *"），也不是 "off"` });
  }
}

/**
 * The schedule as the config states it, checked when the config is loaded: a typo would
 * otherwise leave the daemon running without any job (no backup, no retention purge).
 */
export function checkJobsConfig(jobs: JobsConfig): void {
  checkTimezone(jobs.timezone);
  for (const name of ['backup', 'retention', 'reconcile', 'auto_zero'] as const) checkCron(name, jobs[name].cron);
}
