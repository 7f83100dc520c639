/**
 * The keys as a part of the daemon: at start, keys left in the data folder are moved to the
 * keys folder (edge/keys.ts), and a backup of the face-template key kept inside the data folder
 * is pointed out, since it would carry the key along with the data again.
 */
import path from 'node:path';
import type { Logger } from './log.ts';
import type { Config } from './config/schema.ts';
import type { Part } from './parts.ts';
import { checkKeysReadable, isInside, keysDirOf, migrateKeys } from './keys.ts';

export class KeysPart implements Part {
  readonly name = 'keys';
  readonly critical = true;

  constructor(private readonly config: Config, private readonly log: Logger) {}

  start(): void {
    const dir = keysDirOf(this.config);
    if (!dir) return;
    checkKeysReadable(this.config);
    for (const m of migrateKeys(this.config)) {
      this.log.warn({ key: m.key, from: m.from, to: m.to, action: m.action }, m.action === 'moved'
        ? `key moved out of the data folder / 密钥已移出数据目录: ${m.from} → ${m.to}`
        : `key removed from the data folder, the keys folder has the same / 已删除数据目录中的重复密钥: ${m.from}`);
    }
    const keyBackups = path.resolve(this.config.data_dir, this.config.jobs.backup.key_dir);
    if (isInside(keyBackups, this.config.data_dir)) {
      this.log.warn({ key_dir: keyBackups, keys_dir: dir }, `the face-template key's backups go to ${keyBackups}, inside the data folder: a copy of the data folder would carry the key again; set jobs.backup.key_dir to another medium / 人脸模板密钥的备份位于数据目录内，请将 jobs.backup.key_dir 设到其他介质`);
    }
    this.log.info({ keys_dir: dir }, `keys read from ${dir}, apart from the data folder / 密钥与数据分开存放`);
  }

  stop(): void {}
}
