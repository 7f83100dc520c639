/**
 * `store-edge keys migrate --to DIR --yes`: move the secret keys out of the data folder
 * (edge/keys.ts), for a service install that reads them from a root-owned folder or through
 * systemd's LoadCredential=. Run as root with the daemon stopped: it takes the data folder's
 * lock, so it refuses while a daemon runs. Without --yes it only says what it would move.
 */
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EdgeError, ErrorCode } from '../errors.ts';
import { lockDataDir } from '../data-dir.ts';
import { KEY_NAMES, migrateKeys, reallyInsideData } from '../keys.ts';
import { unwritable } from './ledger-options.ts';
import { configFrom, existingLedger, print, withCommon, type CommonOptions } from './context.ts';

/** statfs magic numbers of Linux's kernel file systems, which hold no files of ours (linux/magic.h). */
const KERNEL_FS: ReadonlySet<number> = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0x62656570, // configfs
  0xcafe4a11, // bpf
  0x6165676c, // pstore
  0xde5e81e4, // efivarfs
  0x1cd1, // devpts
]);

/**
 * `--to`: a folder outside the data folder (keys moved within it are not apart from the data),
 * where both really are (a symbolic link on either side), that is or can be made there and
 * written by this user; otherwise exit 2 naming the flag.
 */
function keysDirOption(flag: string, value: string, dataDir: string): string {
  const dir = path.resolve(value);
  const inside = reallyInsideData(dir, dataDir);
  if (inside) {
    const { real, data } = inside;
    const [via, viaZh] = inside.linked ? [`points through a symbolic link to ${real}, which `, `经符号链接实际指向 ${real}，`] : ['', ''];
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${flag} ${value} ${via}is inside the data folder ${data}: keys moved there are still in every copy of it; give a folder outside it, e.g. /etc/store-edge/keys`, {
      zh: `${flag} ${value} ${viaZh}在数据目录 ${data} 之内：移到那里的密钥仍会随数据目录的每份副本流出；请给出数据目录之外的文件夹，例如 /etc/store-edge/keys`, details: { field: flag, path: dir, real_path: real },
    });
  }
  // the folder, or the nearest one above it that is there (it is made below that one)
  let at = dir;
  while (!existsSync(at)) at = path.dirname(at);
  if (!statSync(at).isDirectory()) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${flag} ${value}: ${at} is not a folder; give the keys folder, e.g. /etc/store-edge/keys`, {
      zh: `${flag} ${value}：${at} 不是文件夹；请给出密钥文件夹，例如 /etc/store-edge/keys`, details: { field: flag, path: at },
    });
  }
  // a kernel file system (/proc, /sys, …) answers to mkdir without ever making a folder, so a
  // recursive mkdir under /proc spun for ever: named here, before anything is tried
  if (KERNEL_FS.has(statfsSync(at).type)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${flag} ${value}: ${at} is a kernel file system (/proc, /sys), which cannot hold files; give the keys folder, e.g. /etc/store-edge/keys`, {
      zh: `${flag} ${value}：${at} 属于内核虚拟文件系统（/proc、/sys），不能存放文件；请给出密钥文件夹，例如 /etc/store-edge/keys`, details: { field: flag, path: at },
    });
  }
  try {
    accessSync(at, constants.W_OK);
  } catch (err) {
    throw unwritable(flag, value, at, (err as NodeJS.ErrnoException).code ?? 'EACCES');
  }
  return dir;
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('the secret keys, apart from the data folder / 密钥管理');
  withCommon(
    keys.command('migrate')
      .description('move the keys out of the data folder into DIR (the daemon must be stopped) / 将密钥移出数据目录')
      .requiredOption('--to <dir>', 'the keys folder, e.g. /etc/store-edge/keys / 密钥目录')
      .option('--yes', 'confirm: the keys are moved, and removed from the data folder / 确认移动'),
    { json: true },
  ).action((opts: CommonOptions & { to: string; yes?: boolean }) => {
    const base = configFrom(opts);
    const config = { ...base, keys_dir: path.resolve(opts.to) };
    // the store's folder, not a mistyped one made anew: its keys are what is moved
    existingLedger(config);
    keysDirOption('--to', opts.to, config.data_dir);
    const release = lockDataDir(config.data_dir);
    try {
      // no $CREDENTIALS_DIRECTORY here: the folder given is the one to fill
      const moves = migrateKeys(config, { env: {}, dryRun: !opts.yes });
      const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
      const ownerText = uid === 0 ? 'root' : uid === undefined ? 'this user' : `uid ${uid}`;
      const lines = moves.map((m) => `${m.action === 'moved' ? (opts.yes ? '已移动 moved' : '将移动 would move') : (opts.yes ? '已删除重复 removed duplicate' : '将删除重复 would remove duplicate')} ${m.from} → ${m.to}`);
      const tail = moves.length === 0
        ? `数据目录中没有需要移动的密钥 / no key left in the data folder (${Object.values(KEY_NAMES).join(', ')})`
        : opts.yes
          ? `完成。这些密钥文件属于当前用户（${ownerText}）：守护进程的运行用户必须能读取它们。root 所有的密钥请在服务单元中加入 LoadCredential=（由 systemd 读取后交给服务），例如 LoadCredential=${KEY_NAMES.faceTemplates}:${path.join(config.keys_dir, KEY_NAMES.faceTemplates)}；若改用配置 keys_dir: ${config.keys_dir}，须先把文件所有者改为服务用户：chown -R store-edge: ${config.keys_dir} / done. These key files belong to the user who ran this (${ownerText}): the daemon's user must be able to read them. For root-owned keys add LoadCredential= lines to the unit (systemd reads them and hands them to the service), e.g. LoadCredential=${KEY_NAMES.faceTemplates}:${path.join(config.keys_dir, KEY_NAMES.faceTemplates)}; to use keys_dir: ${config.keys_dir} in the config instead, first make the service user their owner: chown -R store-edge: ${config.keys_dir} (docs/operations.md)`
          : '确认请加 --yes / add --yes to move them';
      print(opts, { keys_dir: config.keys_dir, moved: opts.yes === true, moves }, [...lines, tail].join('\n'));
    } finally {
      release();
    }
  });
}
