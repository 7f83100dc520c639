/**
 * Writing a secret key file so that it is either there whole or not there at all. A key written
 * in place and cut short (a full disk, a power cut) leaves an empty or partial file that later
 * reads as "a key exists": `ledger keygen` then refuses to overwrite it, and `keys migrate` calls
 * it a second, different key and asks which one to delete. So the bytes go to a temporary file in
 * the same folder (0600), flushed to disk, then linked to the key's name (never over a key there);
 * on any failure the temporary file is removed and nothing is left behind.
 */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { EdgeError, ErrorCode, NO_ROOM } from './errors.ts';

/** The one write of the key's bytes, replaceable in tests (a disk that fills up). */
export interface KeyFileIo { write(fd: number, bytes: Buffer): void }
const nodeIo: KeyFileIo = { write: (fd, bytes) => writeFileSync(fd, bytes) };

/** Filesystems without hard links (vfat on a USB stick) refuse link(): rename, after a look for a key there. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK']);

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems cannot open or flush a folder; the file itself is flushed
  }
}

/** The error a key write ended in, for a maintainer: a full disk is DB_FULL (exit 1). */
export function keyWriteError(file: string, err: unknown): unknown {
  if (err instanceof EdgeError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  if (NO_ROOM.has(code)) {
    return new EdgeError(ErrorCode.DB_FULL, `no room on the disk for the key ${file} (${code}): nothing was written there; free some space and run the command again`, {
      zh: `磁盘已满，无法写入密钥 ${file}（${code}）：没有留下任何文件；请腾出空间后重新运行该命令`, cause: err, details: { path: file },
    });
  }
  return new EdgeError(ErrorCode.DB_IO, `cannot write the key ${file} (${code}): ${(err as Error).message}; nothing was written there`, {
    zh: `无法写入密钥 ${file}（${code}）：没有留下任何文件`, cause: err, details: { path: file },
  });
}

/**
 * Write `bytes` as the new key file `file` (0600): whole or not at all, never over an existing
 * file (EEXIST, as an EdgeError INVALID_ARGUMENT). Errors come as EdgeErrors (keyWriteError).
 */
export function writeKeyFile(file: string, bytes: Buffer, io: KeyFileIo = nodeIo): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  let made = false;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    made = true;
    io.write(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    try {
      linkSync(tmp, file);
      unlinkSync(tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!NO_LINK.has(code) || existsSync(file)) throw err;
      renameSync(tmp, file);
    }
    made = false;
    fsyncDir(dir);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    if (made) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
    // link() found a key there (the temporary name is random and new)
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file} exists; refusing to overwrite a key`, { zh: `${file} 已存在，不覆盖密钥`, details: { path: file } });
    }
    throw keyWriteError(file, err);
  }
}
