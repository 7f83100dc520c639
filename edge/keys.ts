/**
 * Keys apart from the data. By default the secret keys live in `<data_dir>/keys` (and the sync
 * key beside the ledger), so a copy of the data folder — a backup disk, a PC sent for repair —
 * decrypts every face template, signs as the store to the village ledger and forges admin
 * sessions. In a service install they live in a folder of their own (docs/operations.md, "Keys
 * apart from the data"):
 *
 * - `keys_dir` in the config, e.g. a root-owned `/etc/store-edge/keys` (0700, files 0600); or
 * - systemd's `$CREDENTIALS_DIRECTORY` (`LoadCredential=face-templates.key:/etc/store-edge/keys/…`):
 *   systemd reads the root-owned files and hands the service a private, read-only copy.
 *
 * Keys found at the old places are moved there at start when the folder is writable
 * (`migrateKeys`), or by `store-edge keys migrate --to DIR` (as root, the daemon stopped).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, statSync, unlinkSync, accessSync, constants, type Stats } from 'node:fs';
import path from 'node:path';
import type { Config } from './config/schema.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { keyWriteError, writeKeyFile, type KeyFileIo } from './key-file.ts';
import { loadTemplateKey, openDescriptor } from './entry/templates.ts';
import { closeLedger, openLedger, type Db } from './ledger/db.ts';
import { consentedTemplateRows } from './ledger/face-templates.ts';

export const KEY_NAMES = { faceTemplates: 'face-templates.key', syncStore: 'sync-store-key.pem', adminSession: 'admin-session.key' } as const;
export type KeyName = keyof typeof KEY_NAMES;

/** The default of entry.key_file: a key_file changed by hand is kept where it points. */
const DEFAULT_FACE_KEY_FILE = 'keys/face-templates.key';

/** The folder of the keys when they are apart from the data, or undefined (the data folder's). */
export function keysDirOf(config: Pick<Config, 'keys_dir'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (config.keys_dir) return config.keys_dir;
  const creds = env.CREDENTIALS_DIRECTORY;
  return creds && creds.length > 0 ? creds : undefined;
}

/** Where each key is read from, and where it was before the keys moved apart. */
export function keyPaths(config: Config, env: NodeJS.ProcessEnv = process.env): Record<KeyName, { file: string; legacy: string }> {
  const dir = keysDirOf(config, env);
  const legacy = {
    faceTemplates: path.resolve(config.data_dir, config.entry.key_file),
    syncStore: path.join(config.data_dir, KEY_NAMES.syncStore),
    adminSession: path.join(config.data_dir, 'keys', KEY_NAMES.adminSession),
  };
  const faceMoved = dir !== undefined && config.entry.key_file === DEFAULT_FACE_KEY_FILE;
  return {
    faceTemplates: { file: faceMoved ? path.join(dir, KEY_NAMES.faceTemplates) : legacy.faceTemplates, legacy: legacy.faceTemplates },
    syncStore: { file: dir ? path.join(dir, KEY_NAMES.syncStore) : legacy.syncStore, legacy: legacy.syncStore },
    adminSession: { file: dir ? path.join(dir, KEY_NAMES.adminSession) : legacy.adminSession, legacy: legacy.adminSession },
  };
}

/**
 * The config with the face-template key's path pointing into the keys folder, so every reader
 * of `entry.key_file` (the door, `faces enrol`, the backup job) finds it there.
 */
export function withKeysApart(config: Config, env: NodeJS.ProcessEnv = process.env): Config {
  const p = keyPaths(config, env).faceTemplates;
  // not moved yet (a CLI command before the daemon's first start with keys_dir): read it where it
  // is, never make a second key beside it
  const face = !existsSync(p.file) && existsSync(p.legacy) ? p.legacy : p.file;
  return face === path.resolve(config.data_dir, config.entry.key_file) ? config : { ...config, entry: { ...config.entry, key_file: face } };
}

/**
 * The face-template key for a CLI command (faces enroll, identify, present, learning --confirm),
 * read where the daemon reads it: keys_dir, else $CREDENTIALS_DIRECTORY, else the data folder
 * (`config` as `withKeysApart` left it). Never made here: only `store-edge start` makes a key. A
 * command that cannot see the daemon's key (a root shell has no $CREDENTIALS_DIRECTORY; keys
 * moved but keys_dir not set yet) would otherwise seal templates under a second key, and the
 * next start would refuse the two. Refused (exit 2) saying where it looked and how to point it at the key.
 */
export function commandTemplateKey(config: Config, env: NodeJS.ProcessEnv = process.env): Buffer {
  const file = path.resolve(config.data_dir, config.entry.key_file);
  const key = loadTemplateKey(file);
  if (key) return key;
  const creds = env.CREDENTIALS_DIRECTORY;
  const looked = [
    `keys_dir in the config: ${config.keys_dir ?? 'not set'}`,
    `$CREDENTIALS_DIRECTORY: ${creds ? creds : 'not set in this shell'}`,
    `the data folder: ${path.join(config.data_dir, 'keys')}`,
  ];
  const zhLooked = [
    `配置中的 keys_dir：${config.keys_dir ?? '未设置'}`,
    `$CREDENTIALS_DIRECTORY：${creds ? creds : '本终端未设置'}`,
    `数据目录：${path.join(config.data_dir, 'keys')}`,
  ];
  throw new EdgeError(ErrorCode.CONFIG_INVALID, `no face-template key at ${file}; looked where the daemon looks (${looked.join('; ')}). A command never makes a key (a second one would seal templates the store cannot open): point it at the store's key. Keys handed over by systemd (LoadCredential=): run it as CREDENTIALS_DIRECTORY=/etc/store-edge/keys store-edge … (the folder those lines name); keys moved with keys migrate --to DIR: add keys_dir: DIR to the config and give it with --config; a store that has never started: run store-edge start once (docs/operations.md, "Keys apart from the data")`, {
    zh: `找不到人脸模板密钥 ${file}；已按守护进程的方式查找（${zhLooked.join('；')}）。命令不会新建密钥（另一把密钥加密的模板门店无法读取）：请让命令找到门店的密钥。由 systemd 交给服务的密钥（LoadCredential=）：以 CREDENTIALS_DIRECTORY=/etc/store-edge/keys store-edge … 运行（即这些行指向的文件夹）；用 keys migrate --to 目录 移走的密钥：在配置中加入 keys_dir: 目录，并用 --config 指定该配置；从未启动过的门店：先运行一次 store-edge start`,
    details: { field: 'keys_dir', path: file },
  });
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether both paths exist and are one file (same device and inode). */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export interface KeyMove { key: KeyName; from: string; to: string; action: 'moved' | 'removed_duplicate' }

/**
 * Move keys from their old places in the data folder to the keys folder: copied (0600, whole or
 * not at all: ./key-file.ts), read back and compared, then removed from the data folder. A key
 * that is in both places alike is removed from the data folder; two different keys stop
 * everything (the refusal says which one to keep). `dryRun` only says what would happen.
 */
export function migrateKeys(config: Config, opts: { env?: NodeJS.ProcessEnv; dryRun?: boolean; io?: KeyFileIo } = {}): KeyMove[] {
  const dir = keysDirOf(config, opts.env);
  if (!dir) return [];
  const moves: KeyMove[] = [];
  let madeDir = false;
  for (const [key, p] of Object.entries(keyPaths(config, opts.env)) as Array<[KeyName, { file: string; legacy: string }]>) {
    if (p.file === p.legacy || !existsSync(p.legacy)) continue;
    // the keys folder may name the data folder's own keys through another path (a symlink, a
    // bind mount): then the two are one file, with nothing to move and nothing to remove
    if (sameFile(p.file, p.legacy)) continue;
    const old = readFileSync(p.legacy);
    if (existsSync(p.file)) {
      if (!readFileSync(p.file).equals(old)) {
        const which = whichToKeep(key, config.data_dir, { legacy: p.legacy, file: p.file }, old, readFileSync(p.file));
        throw new EdgeError(ErrorCode.CONFIG_INVALID, `two different ${KEY_NAMES[key]}: ${p.legacy} in the data folder and ${p.file} in the keys folder; ${which.en}`, {
          zh: `数据目录中的 ${p.legacy} 与密钥目录中的 ${p.file} 是两把不同的密钥：${which.zh}`, details: { key, from: p.legacy, to: p.file, ...which.details },
        });
      }
      if (!opts.dryRun) unlinkSync(p.legacy);
      moves.push({ key, from: p.legacy, to: p.file, action: 'removed_duplicate' });
      continue;
    }
    if (!opts.dryRun) {
      if (!existsSync(dir)) {
        try {
          makeFolders(dir);
        } catch (err) {
          throw keyWriteError(p.file, err);
        }
        madeDir = true;
      }
      if (!writable(dir)) {
        throw new EdgeError(ErrorCode.CONFIG_INVALID, `${KEY_NAMES[key]} is still in the data folder (${p.legacy}) but the keys folder ${dir} is read-only (systemd credentials): stop the service and run, as root, store-edge keys migrate --to /etc/store-edge/keys, then add LoadCredential=${KEY_NAMES[key]}:/etc/store-edge/keys/${KEY_NAMES[key]} to the unit`, {
          zh: `密钥 ${KEY_NAMES[key]} 仍在数据目录中，而密钥目录 ${dir} 只读：请停止服务，以 root 运行 store-edge keys migrate --to /etc/store-edge/keys，并在服务单元中加入 LoadCredential=`, details: { key, from: p.legacy, to: p.file },
        });
      }
      chmodSync(dir, statSync(dir).mode & 0o700);
      // whole or not at all: a key cut short (a full disk) would read as a second, different key
      try {
        writeKeyFile(p.file, old, opts.io);
      } catch (err) {
        if (madeDir && readdirSync(dir).length === 0) rmdirSync(dir);
        throw err instanceof EdgeError && err.code === ErrorCode.DB_FULL && moves.length > 0
          ? new EdgeError(err.code, `${err.message}; the keys moved before it stay moved, run it again to move the rest`, { zh: `${err.zh ?? ''}；此前已移动的密钥保持不变，再次运行即可移动其余密钥`, cause: err, details: err.details })
          : err;
      }
      if (!readFileSync(p.file).equals(old)) throw new EdgeError(ErrorCode.DB_IO, `the copy of ${p.legacy} at ${p.file} does not read back the same; nothing was removed`, { zh: `密钥复制校验失败，原文件未删除：${p.legacy}` });
      unlinkSync(p.legacy);
    }
    moves.push({ key, from: p.legacy, to: p.file, action: 'moved' });
  }
  return moves;
}

/** How many of the stored templates (the first 50) each key opens; undefined when the ledger cannot be read. */
function templatesOpened(dataDir: string, keys: readonly Buffer[]): { checked: number; opened: number[] } | undefined {
  const file = path.join(dataDir, 'ledger.sqlite');
  if (!existsSync(file)) return undefined;
  let db: Db | undefined;
  try {
    db = openLedger(file, { readonly: true, migrate: false });
    const rows = consentedTemplateRows(db).slice(0, 50);
    const opens = (k: Buffer): number => rows.filter((r) => {
      try {
        openDescriptor(k, r.villager_id, r);
        return true;
      } catch {
        return false;
      }
    }).length;
    return { checked: rows.length, opened: keys.map(opens) };
  } catch {
    return undefined;
  } finally {
    if (db) closeLedger(db);
  }
}

/**
 * What a maintainer needs to choose between two different keys. For the face-template key the
 * stored templates tell: the one that opens them is the store's (the other sealed nothing, or
 * sealed what was enrolled meanwhile).
 */
function whichToKeep(key: KeyName, dataDir: string, at: { legacy: string; file: string }, legacy: Buffer, moved: Buffer): { en: string; zh: string; details?: Record<string, unknown> } {
  const again = 'then start the store again (or run store-edge keys migrate again): it moves the one left';
  const zhAgain = '然后重新启动门店（或再次运行 store-edge keys migrate），留下的密钥会被移走';
  if (key === 'adminSession') return { en: `either may go: delete ${at.legacy}; the other only signs everyone out of the admin page; ${again}`, zh: `任删一把即可（另一把只会让管理页面的登录全部失效）：删除 ${at.legacy}；${zhAgain}` };
  if (key === 'syncStore') return { en: `keep the one whose public key the village ledger holds for this store (rows the other signs are refused as forged), copy the other away and delete it; ${again}`, zh: `请保留村账本为本店登记了公钥的那一把（另一把签名的数据会被村账本拒收），另一把先另存再删除；${zhAgain}` };
  const r = templatesOpened(dataDir, [legacy, moved]);
  if (!r) return { en: `the ledger could not be read to tell which one opens the face templates: keep the one in use when the templates were enrolled (the backup job keeps a copy in jobs.backup.key_dir), copy the other away and delete it; ${again}`, zh: `无法读取账本来判断哪把能解密人脸模板：请保留录入模板时使用的那一把（备份任务在 jobs.backup.key_dir 中留有副本），另一把先另存再删除；${zhAgain}` };
  const [inData = 0, inKeys = 0] = r.opened;
  const details = { templates_checked: r.checked, opened_by_data_folder_key: inData, opened_by_keys_folder_key: inKeys };
  const counts = `of ${r.checked} stored templates checked, the data folder's opens ${inData}, the keys folder's ${inKeys}`;
  const zhCounts = `检查了 ${r.checked} 个已存模板：数据目录中的密钥能解密 ${inData} 个，密钥目录中的 ${inKeys} 个`;
  if (r.checked === 0) return { en: `no face template is stored yet, so neither sealed anything: delete either, e.g. ${at.legacy}; ${again}`, zh: `尚未保存人脸模板，两把都未加密过任何数据：任删一把，例如 ${at.legacy}；${zhAgain}`, details };
  if (inData > 0 && inKeys === 0) return { en: `${counts}: keep ${at.legacy}, copy ${at.file} away and delete it; ${again}`, zh: `${zhCounts}：请保留 ${at.legacy}，把 ${at.file} 另存后删除；${zhAgain}`, details };
  if (inKeys > 0 && inData === 0) return { en: `${counts}: keep ${at.file}, copy ${at.legacy} away and delete it; ${again}`, zh: `${zhCounts}：请保留 ${at.file}，把 ${at.legacy} 另存后删除；${zhAgain}`, details };
  if (inData === 0) return { en: `${counts}: neither is the store's key; delete neither and bring back the one in use when the templates were enrolled (the backup job keeps a copy in jobs.backup.key_dir)`, zh: `${zhCounts}：两把都不是门店的密钥；请都不要删除，并找回录入模板时使用的密钥（备份任务在 jobs.backup.key_dir 中留有副本）`, details };
  return { en: `${counts}: templates were sealed under both; delete neither: keep the one that opens more in its place, copy the other away, and enrol again the villagers whose templates it cannot open`, zh: `${zhCounts}：两把都加密过模板；请都不要删除：保留能解密较多的一把，另一把另存，并为无法解密的村民重新录入人脸`, details };
}

/** The access error's code when this process cannot do `mode` on `p` (undefined: it can, or `p` is not there). */
function denied(p: string, mode: number): string | undefined {
  try {
    accessSync(p, mode);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? code : undefined;
  }
}

function ownerOf(p: string): string {
  try {
    const s = statSync(p);
    return `owner uid ${s.uid}, mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}`;
  } catch {
    return 'owner unknown';
  }
}

/**
 * The keys folder and every key in it must be readable by the user the daemon runs as. Keys
 * moved by `keys migrate` as root are root's (0700/0600): read through `keys_dir` by the service
 * user, they would stop the start with a bare EACCES. Refused here instead (CONFIG_INVALID),
 * naming the file, its owner and the two ways out.
 */
export function checkKeysReadable(config: Config, env: NodeJS.ProcessEnv = process.env): void {
  const dir = keysDirOf(config, env);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const user = uid === undefined ? "the daemon's user" : `the daemon's user, uid ${uid}`;
  const zhUser = uid === undefined ? '守护进程的运行用户' : `守护进程的运行用户（uid ${uid}）`;
  const refuse = (what: string, zhWhat: string, p: string, credential: string): never => {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${what} ${p} cannot be read by ${user} (${ownerOf(p)}): the keys must be readable by the user the daemon runs as. Either keep them root-owned and hand them over with systemd's ${credential} (remove keys_dir from the config), or make that user their owner: chown -R store-edge: ${dir ?? path.dirname(p)} (folder 0700, files 0600); see docs/operations.md, "Keys apart from the data"`, {
      zh: `${zhWhat} ${p} 无法被${zhUser}读取（${ownerOf(p)}）：密钥必须能被守护进程的运行用户读取。可保持 root 所有并用 systemd 的 ${credential} 交给服务（并从配置中删除 keys_dir），或把文件所有者改为该用户：chown -R store-edge: ${dir ?? path.dirname(p)}（文件夹 0700，文件 0600）；见 docs/operations.md「Keys apart from the data」`,
      details: { field: 'keys_dir', path: p },
    });
  };
  if (dir && existsSync(dir) && denied(dir, constants.R_OK | constants.X_OK)) refuse('the keys folder', '密钥文件夹', dir, `LoadCredential=NAME:${path.join(dir, 'NAME')} lines (NAME: ${Object.values(KEY_NAMES).join(', ')})`);
  for (const [key, p] of Object.entries(keyPaths(config, env)) as Array<[KeyName, { file: string }]>) {
    if (existsSync(p.file) && denied(p.file, constants.R_OK)) refuse('the key file', '密钥文件', p.file, `LoadCredential=${KEY_NAMES[key]}:${p.file}`);
  }
}

/**
 * `p` as the filesystem will see it: the symbolic links of its existing part resolved (a link to
 * a folder not made yet by where it points), the part not there yet as written. A path and the
 * data folder compared lexically miss a link from one into the other.
 */
export function realPathOf(p: string): string {
  let at = path.resolve(p);
  const rest: string[] = [];
  for (let hops = 0; !existsSync(at);) {
    const link = lstatOrNone(at);
    // a dangling link is followed (at most 40 in a row, as the kernel does); what is below it is made there
    if (link?.isSymbolicLink() && hops++ < 40) {
      at = path.resolve(path.dirname(at), readlinkSync(at));
      continue;
    }
    rest.unshift(path.basename(at));
    at = path.dirname(at);
  }
  return path.join(realpathSync(at), ...rest);
}

/** `p`'s own entry, or undefined when there is none (ENOENT; ENOTDIR below a file). */
function lstatOrNone(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Where `p` really is when that is inside the data folder (a symbolic link on either side
 * resolved: `realPathOf`), else undefined. `linked`: a link took `p` there; `data`: the data
 * folder as written, with its real place when a link moved it. For `keys migrate --to` and the
 * start-up and doctor warnings, which say it the same way.
 */
export function reallyInsideData(p: string, dataDir: string): { real: string; linked: boolean; data: string } | undefined {
  const [real, realData] = [realPathOf(p), realPathOf(dataDir)];
  if (!isInside(real, realData)) return undefined;
  return { real, linked: real !== path.resolve(p), data: realData === path.resolve(dataDir) ? dataDir : `${dataDir} (${realData})` };
}

/** A key folder that lies inside the data folder, where it really is (`realPathOf`), with what to say and do. */
export interface KeysInDataFolder { field: 'keys_dir' | 'jobs.backup.key_dir'; path: string; real_path: string; en: string; zh: string; fix: { en: string; zh: string } }

/**
 * Where keys kept apart (keys_dir, $CREDENTIALS_DIRECTORY) are still in the data folder, which
 * every backup and every PC sent for repair carries: the keys folder itself, or the backup of the
 * face-template key (`jobs.backup.key_dir`). Both compared where they really are, so a symbolic
 * link does not hide it. Empty when the keys are in the data folder by default (nothing was
 * kept apart). A misconfiguration that still works: warned about (the daemon's start, `store-edge
 * doctor`), never refused.
 */
export function keysInDataFolder(config: Config, env: NodeJS.ProcessEnv = process.env): KeysInDataFolder[] {
  const dir = keysDirOf(config, env);
  if (!dir) return [];
  const found: KeysInDataFolder[] = [];
  const check = (field: KeysInDataFolder['field'], p: string, what: { en: string; zh: string }, fix: { en: string; zh: string }): void => {
    const inside = reallyInsideData(p, config.data_dir);
    if (!inside) return;
    const { real, data } = inside;
    const [via, viaZh] = inside.linked ? [` points through a symbolic link to ${real}, which`, `经符号链接实际指向 ${real}，`] : ['', ''];
    found.push({ field, path: p, real_path: real, en: `${what.en} (${field} ${p})${via} is inside the data folder ${data}: every copy of the data folder carries ${field === 'keys_dir' ? 'the keys' : 'the key'} again`, zh: `${what.zh}（${field} ${p}）${viaZh}位于数据目录 ${data} 之内：数据目录的每份副本都会再次带走${field === 'keys_dir' ? '这些密钥' : '该密钥'}`, fix });
  };
  check('keys_dir', dir, { en: 'the keys folder', zh: '密钥文件夹' }, {
    en: `stop the store, move the keys in it (${Object.values(KEY_NAMES).join(', ')}) to a folder outside the data folder, e.g. /etc/store-edge/keys, and set keys_dir to that folder (docs/operations.md, "Keys apart from the data")`,
    zh: `请停止门店，把其中的密钥（${Object.values(KEY_NAMES).join('、')}）移到数据目录之外的文件夹（例如 /etc/store-edge/keys），并把 keys_dir 设为该文件夹`,
  });
  check('jobs.backup.key_dir', path.resolve(config.data_dir, config.jobs.backup.key_dir), { en: "the face-template key's backups", zh: '人脸模板密钥的备份' }, {
    en: 'set jobs.backup.key_dir to another medium than the data folder and the ledger copies',
    zh: '请将 jobs.backup.key_dir 设到数据目录和账本备份之外的其他介质',
  });
  return found;
}

/** True when `file` lies inside `dir` (a key backup inside the data folder defeats keeping keys apart). */
export function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdirSync never returns under /proc (the
 * kernel answers ENOENT to every level and it tries again), so a keys_dir there would hang the
 * start; here the first level that cannot be made throws.
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; !existsSync(at); at = path.dirname(at)) missing.unshift(at);
  for (const d of missing) mkdirSync(d, { mode: 0o700 });
}

