/** The scheduled jobs' slice of the config: when each runs, and what it keeps. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

function Section<T extends Record<string, TSchema>>(props: T, description: string) {
  return Type.Object(props, { additionalProperties: false, default: {}, description });
}

const Cron = (dflt: string, what: string) =>
  Type.String({ minLength: 1, maxLength: 100, default: dflt, description: `When ${what} runs: a cron expression (minute hour day month weekday, optionally seconds first) in jobs.timezone; "off" disables it` });

export const JobsConfigSchema = Section({
  enabled: Type.Boolean({ default: true, description: 'Run the scheduled jobs (backup, retention) in the daemon' }),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "The store's IANA time zone for the jobs' times, e.g. Asia/Shanghai; default: the system's" })),
  backup: Section({
    cron: Cron('30 2 * * *', 'the online backup of the ledger'),
    dir: Type.String({ minLength: 1, default: 'backups', description: 'Folder of the ledger copies (absolute, or relative to data_dir)' }),
    key_dir: Type.String({ minLength: 1, default: 'backup-keys', description: 'Folder the face-template key is copied to (absolute, or relative to data_dir), kept apart from the copies: a copy of the ledger alone does not decrypt the templates. Mode 0700' }),
    keep_days: Type.Integer({ minimum: 1, maximum: 3650, default: 14, description: 'Copies this many days old or older are deleted after each verified new copy; the newest copy is always kept' }),
  }, 'Nightly online backup of the ledger (SQLite backup API), each copy verified with PRAGMA integrity_check'),
  retention: Section({
    cron: Cron('15 3 * * *', 'the retention purge'),
    entry_events_days: Type.Integer({ minimum: 1, maximum: 3650, default: 180, description: 'Door decisions (entry_events) older than this many days are deleted' }),
    left_villager_templates_days: Type.Integer({ minimum: 0, maximum: 3650, default: 30, description: "Face templates of a villager who left the village are deleted this many days after the status changed; templates of a villager without face consent are deleted at every run" }),
  }, 'Purge of old door decisions and of face data no longer allowed'),
}, 'Scheduled jobs (node-cron), in the store\'s time zone');

export type JobsConfig = Static<typeof JobsConfigSchema>;
