/**
 * `store-edge ledger backup --db FILE --out FILE`: an online copy of the village ledger's SQLite
 * file with SQLite's backup API (better-sqlite3 `.backup()`: the ledger may keep serving; the
 * copy is one consistent moment of it), checked before it gets its name: the copy is opened, its
 * `integrity_check` must say ok and it must still be a village ledger. Written as
 * `<out>.partial`, switched to a rollback journal (a file on its own, no `-wal` beside it), mode
 * 0600, flushed, then linked to `<out>`, which never overwrites a file (EEXIST). Whatever fails,
 * the partial copy is removed. A ledger on PostgreSQL is copied with pg_dump
 * (docs/operations-backups.md): `postgresBackupRefusal` says so.
 */
import { chmodSync, closeSync, constants as fsConstants, copyFileSync, existsSync, fsyncSync, linkSync, openSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EdgeError, ErrorCode, NO_ROOM } from '../../edge/errors.ts';
import { openSqliteReadOnly } from './sql.ts';
import { notAVillageLedger } from './foreign-db.ts';

export interface LedgerBackup {
  file: string;
  bytes: number;
  /** The copy's `PRAGMA integrity_check`: always 'ok' for a copy that got its name. */
  integrity: 'ok';
  villages: number;
  stores: number;
}

const bad = (en: string, zh: string): EdgeError => new EdgeError(ErrorCode.INVALID_ARGUMENT, en, { zh });

/** With DATABASE_URL set this command copies nothing: PostgreSQL's own tool does (bad input, exit 2). */
export function postgresBackupRefusal(): EdgeError {
  return bad('DATABASE_URL is set: the village ledger is on PostgreSQL, which this command does not copy. Back it up with pg_dump, e.g. pg_dump --format=custom --file=village-ledger-$(date -u +%Y%m%dT%H%M%SZ).dump "$DATABASE_URL", and restore with pg_restore (docs/operations-backups.md, "Backing up the village ledger")',
    '已设置 DATABASE_URL：村账本在 PostgreSQL 上，本命令不复制它。请用 pg_dump 备份，例如 pg_dump --format=custom --file=village-ledger-$(date -u +%Y%m%dT%H%M%SZ).dump "$DATABASE_URL"，用 pg_restore 恢复（见 docs/operations-backups.md「备份村账本」）');
}

/** `out` as a new file: not there, its folder there and writable (checked again when it is linked). */
export function backupOutOption(out: string, db: string): string {
  const file = path.resolve(out);
  if (existsSync(file)) throw bad(`--out ${out}: ${file} exists; refusing to overwrite it (give a new file name)`, `--out ${out}：${file} 已存在，不覆盖（请给出新的文件名）`);
  if (file === path.resolve(db)) throw bad(`--out ${out} is the ledger itself (--db)`, `--out ${out} 就是村账本本身（--db）`);
  const dir = path.dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw bad(`--out ${out}: the folder ${dir} does not exist`, `--out ${out}：文件夹 ${dir} 不存在`);
  return file;
}

/** Copies the village ledger `db` (a SQLite file that exists and is a village ledger: checked by the caller) to `out`. */
export async function backupLedger(db: string, out: string): Promise<LedgerBackup> {
  // A name of this run's own: removing it never removes a file someone else named, nor the copy
  // of a second run at the same time. Made first, empty and 0600, so the copy is never readable by others.
  const partial = `${out}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const clean = (): void => {
    for (const f of [partial, `${partial}-journal`, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  };
  try {
    closeSync(openSync(partial, 'wx', 0o600));
  } catch (err) {
    throw failure(err, out, 'copying the ledger', '复制村账本');
  }
  const src = new Database(db, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 5000');
    await src.backup(partial);
  } catch (err) {
    clean();
    throw failure(err, out, 'copying the ledger', '复制村账本');
  } finally {
    src.close();
  }
  try {
    const copy = new Database(partial, { fileMustExist: true });
    let integrity: string;
    try {
      copy.pragma('journal_mode = DELETE');
      integrity = (copy.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    } finally {
      copy.close();
    }
    if (integrity !== 'ok') throw new EdgeError(ErrorCode.DB_CORRUPT, `the copy failed its integrity check (${integrity}); nothing was written to ${out}. Check the ledger itself: sqlite3 ${db} 'PRAGMA integrity_check'`, { zh: `副本未通过完整性检查（${integrity}），未写入 ${out}。请检查村账本本身` });
    const ro = openSqliteReadOnly(partial);
    let counts: { villages: number; stores: number };
    try {
      const why = await notAVillageLedger(ro);
      if (why) throw new EdgeError(ErrorCode.DB_CORRUPT, `the copy is not a village ledger (${why.en}); nothing was written to ${out}`, { zh: `副本不是村账本（${why.zh}），未写入 ${out}` });
      const [v] = await ro.query<{ n: number }>('SELECT COUNT(*) AS n FROM villages');
      const [s] = await ro.query<{ n: number }>('SELECT COUNT(*) AS n FROM stores');
      counts = { villages: Number(v?.n ?? 0), stores: Number(s?.n ?? 0) };
    } finally {
      await ro.close();
    }
    chmodSync(partial, 0o600);
    const fd = openSync(partial, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(partial, out); // never over a file that appeared meanwhile
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw bad(`--out ${out} exists; refusing to overwrite it`, `--out ${out} 已存在，不覆盖`);
      // FAT/exFAT (a USB stick) has no hard links: copied instead, still never over a file
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      try {
        copyFileSync(partial, out, fsConstants.COPYFILE_EXCL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw bad(`--out ${out} exists; refusing to overwrite it`, `--out ${out} 已存在，不覆盖`);
        rmSync(out, { force: true }); // what this copy began, never an earlier file (EXCL)
        throw e;
      }
      const outFd = openSync(out, 'r');
      try {
        fsyncSync(outFd);
      } finally {
        closeSync(outFd);
      }
    }
    rmSync(partial, { force: true });
    const dir = openSync(path.dirname(out), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return { file: out, bytes: statSync(out).size, integrity: 'ok', ...counts };
  } catch (err) {
    clean();
    throw err instanceof EdgeError ? err : failure(err, out, 'checking the copy', '检查副本');
  }
}

/** A failure of the copy (exit 1): a full disk said as such, anything else with its code. */
function failure(err: unknown, out: string, en: string, zh: string): EdgeError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (NO_ROOM.has(code) || /SQLITE_FULL/.test(code)) return new EdgeError(ErrorCode.DB_FULL, `no room on the disk of ${out} while ${en}; nothing was written. Free space, or give --out on another disk`, { zh: `${zh}时 ${out} 所在磁盘空间不足，未写入任何文件。请释放空间，或把 --out 指向其他磁盘`, cause: err });
  return new EdgeError(ErrorCode.DB_IO, `${en} to ${out} failed (${code || (err as Error).message}); nothing was written`, { zh: `${zh}到 ${out} 失败（${code || (err as Error).message}），未写入任何文件`, cause: err });
}
