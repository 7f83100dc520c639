/** The store's scheduled jobs: the nightly backup and the retention purge (reconcile.ts and auto-zero.ts beside). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../ledger/db.ts';
import { backupKeyFile, backupLedger, pruneCopies } from '../ledger/backup.ts';
import { applyRetention } from '../ledger/retention.ts';
import { purgeClearedAlarms } from '../ledger/alarms.ts';
import { sweepPhotosWithoutConsent } from '../entry/face-photos.ts';
import type { JobsConfig } from './config.ts';
import type { Job } from './runner.ts';
import type { Clock } from '../ledger/time.ts';

export interface StoreJobsDeps {
  config: JobsConfig;
  dataDir: string;
  /** The face-template key (data_dir/keys/face-templates.key by default). */
  keyFile: string;
  /**
   * The store's sync signing key (edge/keys.ts keyPaths' syncStore): copied beside the face key,
   * since a store restored without it signs with a new key the village ledger refuses.
   */
  syncKeyFile?: string;
  db: () => Db;
  /** entry.photo_dir (relative to dataDir): the retention job deletes there the kept photos of villagers without face consent (absent: not swept). */
  photoDir?: string;
  /** Cleared alarms older than this many days are deleted by the retention job (absent: alarms are off). */
  alarmsKeepDays?: number;
  /**
   * The daemon's clock (a simulated or offset one in the scenario runner and tests), on which
   * what retention measures was recorded (alarms cleared, door decisions, villagers leaving):
   * ages are counted on it, not on the system's clock the schedule runs by. Absent: the run's time.
   */
  clock?: Clock;
}

/** A folder of the config: absolute, or relative to the data folder. */
export function underDataDir(dataDir: string, p: string): string {
  return path.resolve(dataDir, p);
}

export function backupJob(d: StoreJobsDeps): Job {
  const dir = underDataDir(d.dataDir, d.config.backup.dir);
  const keyDir = underDataDir(d.dataDir, d.config.backup.key_dir);
  return {
    name: 'backup',
    cron: d.config.backup.cron,
    async run(now) {
      const copy = await backupLedger(d.db(), dir, now);
      // templates without their key are useless, and a store without its sync key signs as a
      // stranger: the keys go to their own folder, never into the copy
      const key = existsSync(d.keyFile) ? backupKeyFile(d.keyFile, keyDir) : null;
      const syncKey = d.syncKeyFile && existsSync(d.syncKeyFile) ? backupKeyFile(d.syncKeyFile, keyDir) : null;
      const pruned = pruneCopies(dir, d.config.backup.keep_days, now);
      return `${copy.file} (${copy.bytes} bytes, integrity ok), key ${key ?? 'none yet'}, sync key ${syncKey ?? 'none'}, ${pruned.length} old copies deleted`;
    },
  };
}

export function retentionJob(d: StoreJobsDeps): Job {
  const r = d.config.retention;
  return {
    name: 'retention',
    cron: r.cron,
    run(scheduled) {
      const now = d.clock ? d.clock() : scheduled;
      const res = applyRetention(d.db(), { entryEventsDays: r.entry_events_days, leftVillagerTemplatesDays: r.left_villager_templates_days }, now);
      const alarms = d.alarmsKeepDays === undefined ? 0 : purgeClearedAlarms(d.db(), new Date(now.getTime() - d.alarmsKeepDays * 86_400_000).toISOString());
      // after the ledger's transaction, as a withdrawal does: the consent is gone first, so a photo left by a crash here goes at the next run
      const photos = d.photoDir === undefined ? null : sweepPhotosWithoutConsent(d.db(), d.dataDir, { photo_dir: d.photoDir }, () => now);
      return `deleted ${res.entryEvents} door decisions, ${res.templatesWithoutConsent} templates without consent, ${res.templatesOfLeft} templates of villagers who left, ${res.pendingTemplates} pending face templates expired or without consent, ${alarms} cleared alarms${photos === null ? '' : `, ${photos} enrolment photos of villagers without face consent`}`;
    },
  };
}

export function storeJobs(d: StoreJobsDeps): Job[] {
  return [backupJob(d), retentionJob(d)];
}
