/**
 * Creating a small file that must not already be there (flag 'wx': a hold, a lock, a key made
 * at first start), whole or not at all. `writeFileSync(file, data, { flag: 'wx' })` creates the
 * file before it writes: a write that fails (a full disk, ENOSPC or EDQUOT) left an empty file,
 * which the next attempt then took for a key of 0 bytes (CONFIG_INVALID at every start) or for
 * a lock or hold. Here the file is created, written and closed; when the write or the close
 * fails, the file this call created is removed before the error goes on, and only that file (the
 * same device and inode), never one another process put under the name meanwhile. A file that was there
 * already (EEXIST) is another's and is left alone.
 */
import { closeSync, fstatSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

export function writeNewFile(file: string, data: string | Buffer, mode = 0o600): void {
  const fd = openSync(file, 'wx', mode);
  // which file this call made: by the time a write fails, another process may have taken the
  // empty file for a stale lock, removed it and made its own under the same name
  let made: { dev: number; ino: number } | undefined;
  try {
    made = fstatSync(fd);
  } catch {
    made = undefined; // unknown: then nothing is removed
  }
  let failed: unknown;
  try {
    writeFileSync(fd, data);
  } catch (err) {
    failed = err;
  }
  try {
    closeSync(fd);
  } catch (err) {
    failed ??= err;
  }
  if (failed === undefined) return;
  try {
    const now = statSync(file);
    if (made && now.dev === made.dev && now.ino === made.ino) unlinkSync(file);
  } catch {
    // removed meanwhile: nothing left to take back
  }
  throw failed;
}
