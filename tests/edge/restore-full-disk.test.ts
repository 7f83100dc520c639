/**
 * A restore onto a disk without room, and any other failure of a restore: refused with a
 * bilingual DB_FULL (or the failure's own error), the ledger untouched, and no partial copy
 * (ledger.sqlite.restoring, its -wal/-shm/-journal) left to fill the disk. The full disk is
 * injected (statfsSync, writeSync), not mounted.
 */
import { describe, it, expect, afterAll, afterEach, vi } from 'vitest';
import { linkSync, readdirSync, statfsSync, writeSync } from 'node:fs';
import type * as NodeFs from 'node:fs';
import path from 'node:path';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { tempDir } from '../ledger/helpers.ts';
import { storeWithCopy, villagerName } from './restore-fixture.ts';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  return { ...fs, default: fs, statfsSync: vi.fn(fs.statfsSync), writeSync: vi.fn(fs.writeSync), linkSync: vi.fn(fs.linkSync) };
});
const real = await vi.importActual<typeof NodeFs>('node:fs');

const t = tempDir('restore-full-');
afterAll(() => t.cleanup());
afterEach(() => {
  vi.mocked(statfsSync).mockReset().mockImplementation(real.statfsSync);
  vi.mocked(writeSync).mockReset().mockImplementation(real.writeSync as typeof writeSync);
  vi.mocked(linkSync).mockReset().mockImplementation(real.linkSync);
});

/** The data folder holds the ledger and nothing a restore left. */
function untouched(target: string): void {
  expect(readdirSync(path.dirname(target)).filter((f) => f.includes('.restoring') || f.includes('before-restore'))).toEqual([]);
  expect(villagerName(target, 'after')).toBe('乙');
}

const enospc = (): never => {
  throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
};

describe('a restore onto a full disk', () => {
  it('the disk fills during the copy: DB_FULL in both languages, the partial copy removed, the ledger untouched', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'fills');
    vi.mocked(writeSync).mockImplementation(enospc);
    let err: unknown;
    try {
      restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'DB_FULL' });
    expect((err as Error).message).toMatch(/no room.*nothing was replaced/);
    expect((err as { zh?: string }).zh).toMatch(/磁盘空间不足.*账本未被替换/);
    vi.mocked(writeSync).mockImplementation(real.writeSync as typeof writeSync);
    untouched(target);
  }, 60_000);

  it('a disk without room for the copy is refused before anything is written (free space checked against the copy\'s size)', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'small');
    vi.mocked(statfsSync).mockImplementation(((p: string) => ({ ...real.statfsSync(p), bavail: 10, bsize: 4096 })) as typeof statfsSync);
    const writes = vi.mocked(writeSync).mock.calls.length;
    expect(() => restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true })).toThrow(expect.objectContaining({ code: 'DB_FULL', zh: expect.stringMatching(/剩余 0\.0 MB/) }));
    expect(vi.mocked(writeSync).mock.calls.length).toBe(writes);
    untouched(target);
  }, 60_000);

  it('any other failure after the copy (here: keeping the old ledger\'s name) removes the partial copy and leaves the ledger in place', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'fails');
    vi.mocked(linkSync).mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, link'), { code: 'EIO' });
    });
    expect(() => restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true })).toThrow(/EIO/);
    untouched(target);
  }, 60_000);
});
