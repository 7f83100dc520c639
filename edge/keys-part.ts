/**
 * The keys as a part of the daemon: at start, keys left in the data folder are moved to the
 * keys folder (edge/keys.ts), and a keys folder or a backup of the face-template key that is
 * really inside the data folder is pointed out (`keysInDataFolder`), since it would carry the
 * keys along with the data again.
 */
import type { Logger } from './log.ts';
import type { Config } from './config/schema.ts';
import type { Part } from './parts.ts';
import { checkKeysReadable, keysDirOf, keysInDataFolder, migrateKeys } from './keys.ts';

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
    for (const w of keysInDataFolder(this.config)) this.log.warn({ field: w.field, path: w.path, real_path: w.real_path, keys_dir: dir }, `${w.en}; ${w.fix.en} / ${w.zh}；${w.fix.zh}`);
    this.log.info({ keys_dir: dir }, `keys read from ${dir}, apart from the data folder / 密钥与数据分开存放`);
  }

  stop(): void {}
}
