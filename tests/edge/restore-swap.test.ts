/**
 * The end of a restore: there is a ledger.sqlite at every moment. The replaced ledger gets its
 * kept name by a hard link first, then the copy is renamed over the ledger in one step; a
 * power cut anywhere leaves either the old ledger or the restored one under the ledger's name.
 * The power cut is injected: renameSync fails where the process would have died.
 */
import { describe, it, expect, afterAll, afterEach, vi } from 'vitest';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import type * as NodeFs from 'node:fs';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { tempDir } from '../ledger/helpers.ts';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  return { ...fs, default: fs, renameSync: vi.fn(fs.renameSync) };
});

const real = await vi.importActual<typeof NodeFs>('node:fs');
const t = tempDir('restore-swap-');
afterAll(() => t.cleanup());
afterEach(() => vi.mocked(renameSync).mockReset().mockImplementation(real.renameSync));

/** A ledger with villager `before`, a copy of it, then villager `after` added: the copy lacks `after`. */
async function store(name: string): Promise<{ target: string; copy: string }> {
  const target = path.join(t.dir, name, 'ledger.sqlite');
  const db = openLedger(target);
  addVillager(db, { id: 'before', name: '甲', village: 'demo-village' });
  const copy = (await backupLedger(db, path.join(t.dir, `${name}-backups`), new Date('2026-12-01T02:30:00Z'))).file;
  addVillager(db, { id: 'after', name: '乙', village: 'demo-village' });
  closeLedger(db);
  return { target, copy };
}

const has = (file: string, id: string): boolean => {
  const db = openLedger(file);
  try {
    return getVillager(db, id) !== undefined;
  } finally {
    closeLedger(db);
  }
};

describe('the swap at the end of a restore', () => {
  it('a power cut right before the copy takes the ledger\'s name leaves the old ledger in place (and its kept name), never no ledger', async () => {
    const { target, copy } = await store('cut');
    vi.mocked(renameSync).mockImplementation((from, to) => {
      if (String(from).endsWith('.restoring')) throw new Error('power cut');
      return real.renameSync(from, to);
    });
    expect(() => restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true })).toThrow();
    expect(existsSync(target)).toBe(true);
    expect(has(target, 'after')).toBe(true);
  }, 60_000);

  it('the copy takes the ledger\'s name in one rename, with the old ledger already under its kept name', async () => {
    const { target, copy } = await store('whole');
    const seen: Array<{ from: string; to: string; targetThere: boolean; kept: string[] }> = [];
    vi.mocked(renameSync).mockImplementation((from, to) => {
      seen.push({ from: String(from), to: String(to), targetThere: existsSync(target), kept: readdirSync(path.dirname(target)).filter((f) => f.includes('before-restore')) });
      return real.renameSync(from, to);
    });
    const { kept } = restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true });
    // every rename in the restore happens with a ledger under the ledger's name
    expect(seen.every((s) => s.targetThere)).toBe(true);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ from: `${target}.restoring`, to: target });
    expect(last.kept).toContain(path.basename(kept[0]!));
    expect(has(target, 'after')).toBe(false);
    expect(has(kept[0]!, 'after')).toBe(true);
    expect(readdirSync(path.dirname(target)).filter((f) => f.includes('.restoring'))).toEqual([]);
  }, 60_000);

  it('two restores in the same second keep both replaced ledgers (the second under a name of its own)', async () => {
    const { target, copy } = await store('twice');
    const at = new Date('2026-12-02T08:00:00Z');
    const first = restoreCopy(copy, target, at, { discardUnsent: true }).kept[0]!;
    const second = restoreCopy(copy, target, at, { discardUnsent: true }).kept[0]!;
    expect(second).not.toBe(first);
    expect(has(first, 'after')).toBe(true);
    expect(has(second, 'after')).toBe(false);
  }, 60_000);
});
