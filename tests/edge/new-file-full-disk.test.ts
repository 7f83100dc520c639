/**
 * The files the daemon makes with an exclusive create (edge/new-file.ts): the face-template key
 * and the admin session key at first start, and the data folder's lock. A disk that fills up
 * refuses the write after the file is created (as write(2) does): the failure goes on to the
 * caller and no empty file is left, so the start after freeing space makes a whole key (an
 * empty one was refused as "0 bytes" at every start) and takes the lock.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import type * as Fs from 'node:fs';
import path from 'node:path';

/** Writes to files whose path contains this fail with ENOSPC; null: they succeed. */
const inject = vi.hoisted(() => ({ full: null as string | null, replaceWith: null as string | null }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  const full = (): never => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  };
  const hit = (file: unknown): boolean => inject.full !== null && typeof file !== 'number' && String(file).includes(inject.full);
  const fds = new Set<number>();
  const mocked = {
    ...fs,
    writeFileSync: ((target: Parameters<typeof fs.writeFileSync>[0], ...rest: unknown[]) => {
      if (typeof target === 'number' && fds.has(target)) {
        // another process takes the empty file for a stale lock meanwhile and puts its own there
        if (inject.replaceWith !== null && inject.full !== null) {
          fs.unlinkSync(inject.full);
          fs.writeFileSync(inject.full, inject.replaceWith);
        }
        full();
      }
      if (hit(target)) {
        // opened (with the caller's flag: 'wx' makes the file), then the write fails
        const fd = fs.openSync(target as string, (rest[1] as { flag?: string } | undefined)?.flag ?? 'w');
        fs.closeSync(fd);
        full();
      }
      return (fs.writeFileSync as (...a: unknown[]) => void)(target, ...rest);
    }) as typeof fs.writeFileSync,
    openSync: ((file: Parameters<typeof fs.openSync>[0], ...rest: unknown[]) => {
      const fd = (fs.openSync as (...a: unknown[]) => number)(file, ...rest);
      if (hit(file)) fds.add(fd);
      return fd;
    }) as typeof fs.openSync,
    closeSync: ((fd: number) => {
      fds.delete(fd);
      fs.closeSync(fd);
    }) as typeof fs.closeSync,
  };
  return { ...mocked, default: mocked };
});

const { existsSync, mkdirSync, readFileSync } = await import('node:fs');
const { loadOrCreateTemplateKey } = await import('../../edge/entry/templates.ts');
const { loadOrCreateSessionKey } = await import('../../edge/http/session-key.ts');
const { lockDataDir, LOCK_FILE } = await import('../../edge/data-dir.ts');
const { tempDir } = await import('../ledger/helpers.ts');
const { writeNewFile } = await import('../../edge/new-file.ts');

const t = tempDir('new-file-full-disk-');
afterAll(() => {
  inject.full = null;
  t.cleanup();
});

function failsWith(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  throw new Error('nothing was thrown');
}

describe('a full disk at a first start', () => {
  it('the face-template key: ENOSPC, no key file left; the next start makes a whole key', () => {
    const file = path.join(t.dir, 'a', 'keys', 'face-templates.key');
    inject.full = file;
    expect(failsWith(() => loadOrCreateTemplateKey(file))).toBe('ENOSPC');
    expect(existsSync(file)).toBe(false);
    inject.full = null;
    const key = loadOrCreateTemplateKey(file);
    expect(key.length).toBe(32);
    expect(readFileSync(file)).toEqual(key);
  });

  it('the admin session key: ENOSPC, no key file left; the next start makes a whole key', () => {
    const file = path.join(t.dir, 'b', 'keys', 'admin-session.key');
    inject.full = file;
    expect(failsWith(() => loadOrCreateSessionKey(file))).toBe('ENOSPC');
    expect(existsSync(file)).toBe(false);
    inject.full = null;
    expect(loadOrCreateSessionKey(file)).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(file).length).toBe(32);
  });

  it('the data folder lock: refused, no lock file left; the next start takes the lock', () => {
    const dir = path.join(t.dir, 'c');
    mkdirSync(dir);
    const file = path.join(dir, LOCK_FILE);
    inject.full = file;
    expect(() => lockDataDir(dir)).toThrow(/lock/);
    expect(existsSync(file)).toBe(false);
    inject.full = null;
    const release = lockDataDir(dir);
    expect(readFileSync(file, 'utf8')).toContain(String(process.pid));
    release();
    expect(existsSync(file)).toBe(false);
  });
});

describe('a full disk while another process takes the name', () => {
  it('removes only the file it made: one put under the name meanwhile stays', () => {
    const file = path.join(t.dir, 'raced.lock');
    inject.full = file;
    inject.replaceWith = 'pid 4242';
    try {
      expect(failsWith(() => writeNewFile(file, 'pid 1'))).toBe('ENOSPC');
    } finally {
      inject.full = null;
      inject.replaceWith = null;
    }
    expect(readFileSync(file, 'utf8')).toBe('pid 4242');
  });
});
