/**
 * Two processes taking over the same stale data-folder lock at once: only one may hold it. The
 * second taker is played inside the first one's read of the stale lock (node:fs mocked), so the
 * interleaving that lost the race is forced rather than hoped for.
 */
import { describe, it, expect, afterAll, vi } from 'vitest';
import path from 'node:path';
import type * as NodeFs from 'node:fs';
import { LOCK_FILE, ensureDataDir, lockDataDir } from '../../edge/data-dir.ts';
import { tempDir } from '../ledger/helpers.ts';

/** Called (once) right after the lock file is read: the other process's turn. */
const between: { fn: (() => void) | undefined } = { fn: undefined };

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  const readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => {
    const out = fs.readFileSync(...args);
    if (String(args[0]).endsWith(LOCK_FILE) && between.fn) {
      const fn = between.fn;
      between.fn = undefined;
      fn();
    }
    return out;
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

const { readFileSync: realRead, writeFileSync } = await vi.importActual<typeof NodeFs>('node:fs');

const t = tempDir('data-dir-race-');
afterAll(() => t.cleanup());

describe('the data folder lock, taken over by two at once', () => {
  it('a stale lock judged by both is removed by one: the other does not remove the lock the first just took', () => {
    const dir = path.join(t.dir, 'race');
    ensureDataDir(dir);
    const file = path.join(dir, LOCK_FILE);
    writeFileSync(file, 'garbage');
    let second: (() => void) | undefined;
    // the first taker has read the stale lock; now the second takes it over
    between.fn = () => {
      second = lockDataDir(dir);
    };
    let err: unknown;
    let first: (() => void) | undefined;
    try {
      first = lockDataDir(dir);
    } catch (e) {
      err = e;
    }
    expect(second).toBeTypeOf('function');
    expect(first).toBeUndefined();
    expect(err).toMatchObject({ code: 'DATA_DIR_LOCKED' });
    // the lock on disk is still the second's
    expect(realRead(file, 'utf8').split('\n')[0]).toBe(String(process.pid));
    second!();
  });

  it('a guard left by a process that died while taking over does not block the lock', () => {
    const dir = path.join(t.dir, 'guard');
    ensureDataDir(dir);
    const file = path.join(dir, LOCK_FILE);
    writeFileSync(file, 'garbage');
    writeFileSync(`${file}.takeover`, 'garbage');
    const release = lockDataDir(dir);
    expect(realRead(file, 'utf8').split('\n')[0]).toBe(String(process.pid));
    release();
    writeFileSync(`${file}.takeover`, `${process.pid}\n`);
    lockDataDir(dir)();
  });
});
