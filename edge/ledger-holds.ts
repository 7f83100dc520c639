/**
 * A restore and the CLI commands that open the ledger exclude each other; the daemon and those
 * commands run side by side, as before.
 *
 * A restore moves the ledger aside and puts a copy in its place: whatever a command writes into
 * the old file after the restore's check of unsent rows would be lost with it. So each command
 * that opens the ledger (edge/cli/context.ts withLedger, the faces commands) holds the folder
 * for the command (a shared hold: many commands and the daemon at once), and a restore holds it
 * alone (the data folder's lock, marked 'restore', edge/data-dir.ts).
 *
 * A hold is a file in `data_dir/store-edge.commands/` naming the process (as the lock does). Each
 * side writes its own mark first and looks for the other's after: a command that sees a restore's
 * lock takes its hold back and is refused; a restore that sees a command's hold releases its lock
 * and is refused. Of a command and a restore starting at once, at least one sees the other (both
 * may be refused; neither writes). Holds of processes that no longer run are stale and removed.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { lockDataDir, lockHolder, lockText, holderAlive, parseLock } from './data-dir.ts';
import { EdgeError, ErrorCode, NO_ROOM, NOT_WRITABLE } from './errors.ts';
import { writeNewFile } from './new-file.ts';

export const HOLDS_DIR = 'store-edge.commands';

let seq = 0;

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}

function restoreRunning(dir: string, pid: number): EdgeError {
  return new EdgeError(ErrorCode.DATA_DIR_LOCKED, `the ledger in ${dir} is being restored from a backup (store-edge restore, pid ${pid}); nothing was done: run the command again once the restore has finished`, {
    zh: `${dir} 中的账本正在从备份恢复（store-edge restore，pid ${pid}），本次操作未执行：请等恢复完成后再运行`,
    details: { pid, path: dir, restore: true },
  });
}

/**
 * Hold the data folder's ledger for a CLI command, or refuse (DATA_DIR_LOCKED, bilingual) while a
 * restore runs. Returns the release function.
 */
export function holdForCommand(dir: string): () => void {
  const holds = path.join(dir, HOLDS_DIR);
  const file = path.join(holds, `${process.pid}-${++seq}`);
  try {
    mkdirSync(holds, { recursive: true, mode: 0o700 });
    writeNewFile(file, lockText()); // a write that fails (a full disk) leaves no empty hold behind
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (NO_ROOM.has(code)) {
      throw new EdgeError(ErrorCode.DB_FULL, `the disk is full: cannot mark the ledger in use at ${file} (${code}); nothing was done: free some space and run the command again`, { zh: `磁盘已满，无法在 ${file} 标记账本正在使用（${code}），本次操作未执行：请腾出空间后再运行`, cause: err, details: { path: file } });
    }
    if (NOT_WRITABLE.has(code)) {
      throw new EdgeError(ErrorCode.DB_IO, `the data folder ${dir} cannot be written (${code}: read-only, or not this user's), so the ledger cannot be marked in use at ${file}; nothing was done. Commands that only read (balance, lists) still answer from it`, {
        zh: `数据目录 ${dir} 不可写（${code}：只读，或不属于当前用户），无法标记账本正在使用，本次操作未执行；只读的命令（余额、列表）仍可使用`,
        cause: err,
        details: { path: file },
      });
    }
    throw new EdgeError(ErrorCode.DB_IO, `cannot mark the ledger in use at ${file} (${code}): ${(err as Error).message}`, { zh: `无法在 ${file} 标记账本正在使用（${code}）`, cause: err, details: { path: file } });
  }
  const h = lockHolder(dir);
  if (h?.purpose === 'restore') {
    unlinkQuietly(file);
    throw restoreRunning(dir, h.pid);
  }
  return () => unlinkQuietly(file);
}

/**
 * Take the data folder's lock for a restore: refused while the daemon runs (edge/data-dir.ts) or
 * while a CLI command holds the ledger (DATA_DIR_LOCKED, naming its pid). Returns the release function.
 */
export function lockForRestore(dir: string): () => void {
  const release = lockDataDir(dir, 'restore');
  const holds = path.join(dir, HOLDS_DIR);
  let names: string[] = [];
  try {
    names = readdirSync(holds);
  } catch {
    // no command has held this folder yet
  }
  for (const name of names) {
    const file = path.join(holds, name);
    let h;
    try {
      h = parseLock(readFileSync(file, 'utf8'));
    } catch {
      continue; // released meanwhile
    }
    if (h && holderAlive(h)) {
      release();
      throw new EdgeError(ErrorCode.DATA_DIR_LOCKED, `the ledger in ${dir} is in use by a store-edge command (pid ${h.pid}); nothing was replaced: wait until it has finished, then restore`, {
        zh: `${dir} 中的账本正被一个 store-edge 命令使用（pid ${h.pid}），账本未被替换：请等它结束后再恢复`,
        details: { pid: h.pid, path: dir },
      });
    }
    unlinkQuietly(file); // its process no longer runs
  }
  return release;
}
