/**
 * The key that signs the admin page's session cookie: 32 random bytes in
 * `<data_dir>/keys/admin-session.key`, created owner-only (0600) at first start and kept, so a
 * restart does not sign everyone out. Deleting the file signs every session out.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EdgeError, ErrorCode } from '../errors.ts';
import { writeNewFile } from '../new-file.ts';

const KEY_BYTES = 32;

export const sessionKeyFile = (dataDir: string): string => path.join(dataDir, 'keys', 'admin-session.key');

/** The key as hex (64 characters, what @fastify/session takes as its secret). */
export function loadOrCreateSessionKey(file: string): string {
  try {
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) {
      throw new EdgeError(ErrorCode.CONFIG_INVALID, `admin session key ${file} has ${key.length} bytes, expected ${KEY_BYTES}; delete it to make a new one (everyone signs in again)`, { zh: `管理页面会话密钥文件 ${file} 已损坏；删除后重启会生成新密钥（所有人需重新登录）` });
    }
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return key.toString('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // a key another process wrote meanwhile is read, never overwritten; a write that fails
    // (a full disk) leaves no empty key, which would be refused at every start after
    writeNewFile(file, randomBytes(KEY_BYTES));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return loadOrCreateSessionKey(file);
}
