/**
 * Key files are written whole or not at all (edge/key-file.ts): a disk that fills up during
 * `keys migrate` or `ledger keygen` ends in a bilingual DB_FULL (exit 1) and leaves nothing
 * behind, so the run after freeing space does what was asked (no empty key taken for a second,
 * different key, nor refused as "exists").
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../edge/config/load.ts';
import { migrateKeys } from '../../edge/keys.ts';
import { writeKeyFile, type KeyFileIo } from '../../edge/key-file.ts';
import { makeSigningKey } from '../../edge/cli/ledger.ts';
import { EdgeError } from '../../edge/errors.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('key-file-');
afterAll(() => t.cleanup());

/** A disk with `room` bytes left: a write past it throws ENOSPC after writing what fits, as write(2) does. */
function fullDisk(room = 0): KeyFileIo {
  return {
    write: (fd, bytes) => {
      writeFileSync(fd, bytes.subarray(0, room));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    },
  };
}

function caught(fn: () => unknown): EdgeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EdgeError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('writing a key file', () => {
  it('a full disk: DB_FULL in both languages, neither the key nor a temporary file left', () => {
    const dir = path.join(t.dir, 'w');
    mkdirSync(dir);
    const err = caught(() => writeKeyFile(path.join(dir, 'k.key'), Buffer.alloc(32, 1), fullDisk(10)));
    expect(err.code).toBe('DB_FULL');
    expect(err.message).toContain('no room on the disk');
    expect(err.zh).toContain('磁盘已满');
    expect(readdirSync(dir)).toEqual([]);
    writeKeyFile(path.join(dir, 'k.key'), Buffer.alloc(32, 1));
    expect(readFileSync(path.join(dir, 'k.key'))).toEqual(Buffer.alloc(32, 1));
    expect(readdirSync(dir)).toEqual(['k.key']);
    // never over a key that is there
    expect(caught(() => writeKeyFile(path.join(dir, 'k.key'), Buffer.alloc(32, 2))).code).toBe('INVALID_ARGUMENT');
    expect(readFileSync(path.join(dir, 'k.key'))).toEqual(Buffer.alloc(32, 1));
  });

  it('keys migrate onto a full disk: DB_FULL, nothing in the keys folder, the key kept in the data folder; run again, it moves', () => {
    const data = path.join(t.dir, 'm', 'data');
    mkdirSync(path.join(data, 'keys'), { recursive: true });
    writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 3), { mode: 0o600 });
    const keysDir = path.join(t.dir, 'm', 'keys');
    const config = validateConfig({ data_dir: data, keys_dir: keysDir });
    const err = caught(() => migrateKeys(config, { env: {}, io: fullDisk() }));
    expect(err.code).toBe('DB_FULL');
    expect(err.forPeople()).toContain('磁盘已满');
    expect(existsSync(keysDir) ? readdirSync(keysDir) : []).toEqual([]);
    expect(readFileSync(path.join(data, 'keys', 'face-templates.key'))).toEqual(Buffer.alloc(32, 3));
    expect(migrateKeys(config, { env: {} }).map((m) => m.action)).toEqual(['moved']);
    expect(readFileSync(path.join(keysDir, 'face-templates.key'))).toEqual(Buffer.alloc(32, 3));
  });

  it('ledger keygen onto a full disk: DB_FULL, no empty key left; run again, it makes the key', () => {
    const dir = path.join(t.dir, 'g');
    mkdirSync(dir);
    const out = path.join(dir, 'ledger-key.pem');
    expect(caught(() => makeSigningKey(out, fullDisk(5))).code).toBe('DB_FULL');
    expect(readdirSync(dir)).toEqual([]);
    expect(makeSigningKey(out)).toContain('BEGIN PUBLIC KEY');
    expect(readFileSync(out, 'utf8')).toContain('BEGIN PRIVATE KEY');
  });
});
