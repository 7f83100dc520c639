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
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { tempDir } from '../ledger/helpers.ts';
import { storeWithCopy, villagerName } from './restore-fixture.ts';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  return { ...fs, default: fs, renameSync: vi.fn(fs.renameSync) };
});

const real = await vi.importActual<typeof NodeFs>('node:fs');
const t = tempDir('restore-swap-');
afterAll(() => t.cleanup());
afterEach(() => vi.mocked(renameSync).mockReset().mockImplementation(real.renameSync));

describe('the swap at the end of a restore', () => {
  it('a power cut right before the copy takes the ledger\'s name leaves the old ledger in place (and its kept name), never no ledger', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'cut');
    vi.mocked(renameSync).mockImplementation((from, to) => {
      if (String(from).endsWith('.restoring')) throw new Error('power cut');
      return real.renameSync(from, to);
    });
    expect(() => restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true })).toThrow();
    expect(existsSync(target)).toBe(true);
    expect(villagerName(target, 'after')).toBeDefined();
  }, 60_000);

  it('the copy takes the ledger\'s name in one rename, with the old ledger already under its kept name', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'whole');
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
    expect(villagerName(target, 'after')).toBeUndefined();
    expect(villagerName(kept[0]!, 'after')).toBeDefined();
    expect(readdirSync(path.dirname(target)).filter((f) => f.includes('.restoring'))).toEqual([]);
  }, 60_000);

  it('two restores in the same second keep both replaced ledgers (the second under a name of its own)', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'twice');
    const at = new Date('2026-12-02T08:00:00Z');
    const first = restoreCopy(copy, target, at, { discardUnsent: true }).kept[0]!;
    const second = restoreCopy(copy, target, at, { discardUnsent: true }).kept[0]!;
    expect(second).not.toBe(first);
    expect(villagerName(first, 'after')).toBeDefined();
    expect(villagerName(second, 'after')).toBeUndefined();
  }, 60_000);
});
