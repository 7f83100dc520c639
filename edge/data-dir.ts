/**
 * The data folder as the first part of the daemon: it exists, it is ours alone (a lock file
 * holding the pid), and its secrets are not readable by other users.
 *
 * Two daemons on one folder would both "resume" the same open session and settle it twice,
 * so a second daemon is refused before it opens the ledger.
 *
 * The lock is hand-written rather than taken from proper-lockfile: that library judges a lock
 * stale by its age (a paused process loses it) and does not record who holds it, while we need
 * the holder's pid for the maintainer. An exclusive create plus a check of the holder is all
 * that is needed on one machine (a stale lock is removed under a guard file, so that two takers
 * cannot both remove it and both take it). After a power cut the pid in a left-over lock may belong to
 * any process of the new boot, so the lock also records the boot id and the holder's start time
 * (/proc), and a holder from another boot, started at another time, or (a lock without them)
 * not a node process is no holder.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './log.ts';
import type { Part } from './parts.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { writeNewFile } from './new-file.ts';

export const LOCK_FILE = 'store-edge.lock';

/** Lock files this process holds: a lock naming our own pid that is not here is stale (pid reuse). */
const heldHere = new Set<string>();

/** What a lock file says of its holder: `pid`, then the boot id and the process start time when known. */
export interface LockHolder {
  pid: number;
  boot?: string;
  start?: string;
  /** 'restore': a restore holds the folder (CLI commands on the ledger are refused meanwhile, edge/ledger-holds.ts). */
  purpose?: 'restore';
}

function readProc(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

const bootId = (): string | undefined => readProc('/proc/sys/kernel/random/boot_id')?.trim() || undefined;

/** The process's start time in clock ticks after boot (field 22 of /proc/<pid>/stat), when /proc has it. */
function startTimeOf(pid: number | 'self'): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** Whether the process runs node (the daemon runs as `node …/store-edge.mjs`); true without /proc. */
function runsNode(pid: number): boolean {
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  if (cmdline === undefined) return true;
  return cmdline.split('\0').some((arg) => /(^|\/)(node|nodejs|store-edge(\.mjs)?)$/.test(arg));
}

/** This process as a lock file names it; `purpose` on a fourth line (older programs read three). */
export function lockText(purpose?: 'restore'): string {
  return [String(process.pid), bootId() ?? '', startTimeOf('self') ?? '', ...(purpose ? [purpose] : [])].join('\n') + '\n';
}

export function parseLock(text: string): LockHolder | undefined {
  const [pidText, boot, start, purpose] = text.split('\n').map((l) => l.trim());
  const pid = Number(pidText);
  if (!/^\d+$/.test(pidText ?? '') || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, ...(boot ? { boot } : {}), ...(start ? { start } : {}), ...(purpose === 'restore' ? { purpose } : {}) };
}

/**
 * Whether the lock's holder still runs: the pid is alive, in this boot, and is the same process
 * (its start time), or, for a lock that records no start time, a node process.
 */
export function holderAlive(h: LockHolder): boolean {
  if (!alive(h.pid)) return false;
  const boot = bootId();
  if (h.boot && boot && h.boot !== boot) return false;
  if (h.start) {
    const start = startTimeOf(h.pid);
    return start === undefined || start === h.start;
  }
  return runsNode(h.pid);
}

/** The holder of the data folder's lock if it still runs (doctor: "running"). */
export function lockHolder(dir: string): LockHolder | undefined {
  const text = readProc(path.join(dir, LOCK_FILE));
  const h = text === undefined ? undefined : parseLock(text);
  return h && holderAlive(h) ? h : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ioError(err: unknown, what: string, zh: string, file: string): EdgeError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return new EdgeError(ErrorCode.DB_IO, `${what} ${file} (${code}): ${(err as Error).message}`, { zh: `${zh} ${file}（${code}）`, cause: err, details: { path: file } });
}

/**
 * Create `dir` (0700) or explain in both languages why it cannot be created. A file where the
 * folder should be is a wrong path given (exit 2), not a failure of the disk.
 */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    // a file where the folder should be (mkdir's EEXIST): a mistyped --data-dir / data_dir, bad input
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the data folder ${dir} is a file, not a folder: check --data-dir / data_dir`, {
        zh: `数据文件夹 ${dir} 是一个文件，不是文件夹：请检查 --data-dir / data_dir`,
        cause: err,
        details: { field: 'data_dir', path: dir },
      });
    }
    throw ioError(err, 'cannot create the data folder', '无法创建数据文件夹', dir);
  }
}

/**
 * Remove the lock file `file` if it still says `stale`. Another process may have judged the same
 * lock stale, removed it and taken the lock meanwhile: removing the file blindly would remove
 * that live lock and let both run. So the check and the removal happen under a guard file taken
 * with an exclusive create (held for microseconds; one left by a process that died while holding
 * it is removed, as a stale lock is).
 */
function removeStale(file: string, stale: string): void {
  const guard = `${file}.takeover`;
  try {
    writeNewFile(guard, lockText());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, 'cannot write the lock file', '无法写入锁文件', guard);
    // another process is taking over right now (try again), or one died doing it (its guard goes)
    const h = parseLock(readProc(guard) ?? '');
    // (this function runs synchronously to its end: a guard naming our own pid is an earlier process's)
    if (!h || h.pid === process.pid || !holderAlive(h)) unlinkQuietly(guard);
    return;
  }
  try {
    if (readProc(file) === stale) unlinkQuietly(file);
  } finally {
    unlinkQuietly(guard);
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, 'cannot remove the stale lock file', '无法删除过期的锁文件', file);
  }
}

/**
 * Take the data folder's lock for this process, or refuse naming the pid that holds it.
 * `purpose` 'restore' is written into the lock: CLI commands read it (edge/ledger-holds.ts).
 * Returns the release function.
 */
export function lockDataDir(dir: string, purpose?: 'restore'): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeNewFile(file, lockText(purpose)); // a write that fails (a full disk) leaves no empty lock behind
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        try {
          if (parseLock(readFileSync(file, 'utf8'))?.pid === process.pid) unlinkSync(file);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, 'cannot write the lock file', '无法写入锁文件', file);
    }
    let holder: LockHolder | undefined;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
      holder = parseLock(text);
    } catch {
      // removed meanwhile by its holder: try again
      continue;
    }
    const pid = holder?.pid;
    const ours = pid === process.pid && heldHere.has(file);
    if (holder && pid !== undefined && (ours || (pid !== process.pid && holderAlive(holder)))) {
      if (holder.purpose === 'restore') {
        throw new EdgeError(ErrorCode.DATA_DIR_LOCKED, `the data folder ${dir} is being restored from a backup (store-edge restore, pid ${pid}); wait until it has finished`, {
          zh: `数据文件夹 ${dir} 正在从备份恢复（store-edge restore，pid ${pid}），请等恢复完成`,
          details: { pid, path: dir, restore: true },
        });
      }
      throw new EdgeError(ErrorCode.DATA_DIR_LOCKED, `the data folder ${dir} is in use by another store-edge daemon (pid ${pid}); stop it first, or use another --data-dir`, {
        zh: `数据文件夹 ${dir} 正被另一个门店守护进程使用（pid ${pid}），请先停止它，或换一个 --data-dir`,
        details: { pid, path: dir },
      });
    }
    // a holder that died (power cut, SIGKILL), a pid now another process's, or a file that is not a pid: stale
    removeStale(file, text);
  }
  throw new EdgeError(ErrorCode.DATA_DIR_LOCKED, `the lock file ${file} keeps changing; is another daemon starting?`, { zh: `锁文件 ${file} 不断变化，是否有另一个守护进程正在启动？`, details: { path: dir } });
}

/** Bits that let group or others read a secret. */
const OPEN_BITS = 0o077;

type ModeFix = { path: string; from: string; to: string };

/** Sets `p` to mode `to` when group or others may read it, noting the change in `fixed`. */
function tighten(p: string, to: number, fixed: ModeFix[]): void {
  const mode = statSync(p).mode & 0o777;
  if ((mode & OPEN_BITS) === 0) return;
  chmodSync(p, to);
  fixed.push({ path: p, from: mode.toString(8), to: to.toString(8) });
}

/**
 * Tighten `keys/` (0700) and the files in it (0600), creating `keys/` 0700 when absent so that
 * whoever writes a key next writes it into a closed folder. Returns what was changed.
 */
export function secureKeysDir(dir: string): ModeFix[] {
  const keys = path.join(dir, 'keys');
  const fixed: ModeFix[] = [];
  try {
    if (!existsSync(keys)) mkdirSync(keys, { mode: 0o700 });
    tighten(keys, 0o700, fixed);
    for (const name of readdirSync(keys)) {
      const p = path.join(keys, name);
      if (statSync(p).isFile()) tighten(p, 0o600, fixed);
    }
  } catch (err) {
    throw ioError(err, 'cannot secure the key folder', '无法收紧密钥文件夹的权限', keys);
  }
  return fixed;
}

/**
 * Tighten each key file that exists (0600), wherever it is: the store's sync key lies beside
 * the ledger, not in `keys/`, and a keys folder apart holds the rest. Returns what was changed.
 */
export function secureKeyFiles(files: readonly string[]): ModeFix[] {
  const fixed: ModeFix[] = [];
  for (const p of new Set(files)) {
    try {
      if (existsSync(p) && statSync(p).isFile()) tighten(p, 0o600, fixed);
    } catch (err) {
      // a read-only credentials folder (systemd) is closed already; anything else is a fault
      if ((err as NodeJS.ErrnoException).code === 'EROFS') continue;
      throw ioError(err, 'cannot secure the key file', '无法收紧密钥文件的权限', p);
    }
  }
  return fixed;
}

/** The data folder as a part: created, locked, its keys closed; the lock released at stop. */
export class DataDirPart implements Part {
  readonly name = 'data_dir';
  readonly critical = true;
  private release: (() => void) | undefined;

  /** `keyFiles`: every place a key may be (edge/keys.ts keyPaths), tightened at start with the rest. */
  constructor(private readonly dir: string, private readonly log: Logger, private readonly keyFiles: readonly string[] = []) {}

  start(): void {
    ensureDataDir(this.dir);
    this.release = lockDataDir(this.dir);
    for (const f of [...secureKeysDir(this.dir), ...secureKeyFiles(this.keyFiles)]) {
      this.log.warn({ file: f.path, from: f.from, to: f.to }, `file mode tightened / 已收紧文件权限: ${f.path} ${f.from} → ${f.to}`);
    }
  }

  stop(): void {
    this.release?.();
    this.release = undefined;
  }
}
