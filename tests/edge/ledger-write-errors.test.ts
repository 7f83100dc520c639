/**
 * What a command says when the data folder refuses a write, injected where the ledger writes
 * files itself (the command's hold, the new ledger file): a full disk (ENOSPC, EDQUOT) is
 * DB_FULL (磁盘已满) as the docs say, not DB_IO, and leaves no empty hold file behind; a
 * read-only filesystem (EROFS) still lets the commands that only read answer, and a command
 * that writes is refused naming the folder.
 * (SQLite's own SQLITE_FULL is tested in tests/ledger/entries.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Fs from 'node:fs';
import path from 'node:path';
import { readdirSync } from 'node:fs';

/** The errno the next writes of the named kind fail with (null: they succeed). */
const inject = vi.hoisted(() => ({ hold: null as string | null, create: null as string | null }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  const fail = (code: string): never => {
    throw Object.assign(new Error(`${code}: injected`), { code });
  };
  const isHold = (file: unknown): boolean => typeof file !== 'number' && String(file).includes('store-edge.commands');
  // a full disk refuses the write, not the open: the file is made (empty), then its bytes fail, as write(2) does
  const atWrite = (code: string): boolean => code === 'ENOSPC' || code === 'EDQUOT';
  const holdFds = new Set<number>();
  const mocked = {
    ...fs,
    writeFileSync: ((target: Parameters<typeof fs.writeFileSync>[0], ...rest: unknown[]) => {
      if (inject.hold && typeof target === 'number' && holdFds.has(target)) fail(inject.hold);
      if (inject.hold && isHold(target)) {
        if (atWrite(inject.hold)) (fs.writeFileSync as (...a: unknown[]) => void)(target, '', rest[1]);
        fail(inject.hold);
      }
      return (fs.writeFileSync as (...a: unknown[]) => void)(target, ...rest);
    }) as typeof fs.writeFileSync,
    openSync: ((file: Parameters<typeof fs.openSync>[0], ...rest: unknown[]) => {
      if (inject.create && String(file).endsWith('.sqlite')) fail(inject.create);
      if (inject.hold && isHold(file) && !atWrite(inject.hold)) fail(inject.hold);
      const fd = (fs.openSync as (...a: unknown[]) => number)(file, ...rest);
      if (isHold(file)) holdFds.add(fd);
      return fd;
    }) as typeof fs.openSync,
    closeSync: ((fd: number) => {
      holdFds.delete(fd);
      fs.closeSync(fd);
    }) as typeof fs.closeSync,
  };
  return { ...mocked, default: mocked };
});

const { holdForCommand } = await import('../../edge/ledger-holds.ts');
const { openLedger, closeLedger } = await import('../../edge/ledger/db.ts');
const { readLedger, withLedger } = await import('../../edge/cli/context.ts');
const { addVillager, requireVillager } = await import('../../edge/ledger/villagers.ts');
const { EdgeError } = await import('../../edge/errors.ts');
const { tempDir } = await import('../ledger/helpers.ts');

const t = tempDir('ledger-write-errors-');
beforeAll(() => {
  const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
  addVillager(db, { id: 'zhang', name: '张三', village: '前进村' });
  closeLedger(db);
});
afterAll(() => {
  inject.hold = null;
  inject.create = null;
  t.cleanup();
});

function thrown(fn: () => unknown): InstanceType<typeof EdgeError> {
  try {
    fn();
  } catch (err) {
    if (err instanceof EdgeError) return err;
    throw err;
  }
  throw new Error('nothing was thrown');
}

describe('a full disk', () => {
  it.each(['ENOSPC', 'EDQUOT'])('%s while a command marks the ledger in use is DB_FULL, in both languages', (code) => {
    inject.hold = code;
    try {
      const err = thrown(() => holdForCommand(t.dir));
      expect(err.code).toBe('DB_FULL');
      expect(err.message).toContain(code);
      expect(err.message).toContain('disk is full');
      expect(err.forPeople()).toContain('磁盘已满');
      // the hold it had begun to write is taken back: no empty hold left behind
      expect(readdirSync(path.join(t.dir, 'store-edge.commands'))).toEqual([]);
      // a command (points award) stops there, before the ledger is opened
      expect(thrown(() => withLedger({ dataDir: t.dir }, () => 'written')).code).toBe('DB_FULL');
      expect(readdirSync(path.join(t.dir, 'store-edge.commands'))).toEqual([]);
    } finally {
      inject.hold = null;
    }
    // with room again, the command runs
    expect(withLedger({ dataDir: t.dir }, () => 'written')).toBe('written');
  });

  it('ENOSPC while the ledger file is made is DB_FULL', () => {
    inject.create = 'ENOSPC';
    try {
      const err = thrown(() => openLedger(path.join(t.dir, 'sub', 'new.sqlite')));
      expect(err.code).toBe('DB_FULL');
      expect(err.forPeople()).toContain('磁盘已满');
    } finally {
      inject.create = null;
    }
  });
});

describe('a read-only filesystem (EROFS)', () => {
  it('answers a read from the ledger, and refuses a write naming the folder', () => {
    inject.hold = 'EROFS';
    try {
      expect(readLedger({ dataDir: t.dir }, (db) => requireVillager(db, 'zhang').balance)).toBe(0);
      const err = thrown(() => withLedger({ dataDir: t.dir }, () => 'written'));
      expect(err.code).toBe('DB_IO');
      expect(err.message).toContain(`the data folder ${t.dir} cannot be written (EROFS`);
      expect(err.forPeople()).toContain('不可写');
    } finally {
      inject.hold = null;
    }
  });
});
