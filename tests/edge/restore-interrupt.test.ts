/**
 * An interrupted restore leaves nothing behind, and what an earlier one left cannot get into the
 * next: Ctrl-C / SIGTERM during the copy removes the partial copy (the CLI aborts the copy on the
 * signal), and a restore first removes a ledger.sqlite.restoring and its -wal/-shm/-journal left
 * by a restore that died (a power cut): SQLite would replay that WAL into the new copy.
 */
import { describe, it, expect, afterAll } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RestoreInterrupted, restoreCopy, restoreCopyInterruptible } from '../../edge/ledger/restore-copy.ts';
import { tempDir } from '../ledger/helpers.ts';
import { storeWithCopy, villagerName } from './restore-fixture.ts';

const t = tempDir('restore-interrupt-');
afterAll(() => t.cleanup());

const leftovers = (target: string): string[] => readdirSync(path.dirname(target)).filter((f) => f.includes('.restoring') || f.includes('before-restore'));

describe('an interrupted restore', () => {
  it('a signal during the copy stops it: RestoreInterrupted naming the signal, the partial copy removed, the ledger untouched', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'signal');
    const stop = new AbortController();
    let copying = false;
    const p = restoreCopyInterruptible(copy, target, new Date('2026-12-02T08:00:00Z'), {
      discardUnsent: true,
      signal: stop.signal,
      // the copy's bytes are counted past the first third: Ctrl-C as soon as the copy has begun
      progress: (done, total) => {
        if (done > total / 3 && !copying) {
          copying = true;
          stop.abort('SIGINT');
        }
      },
    });
    await expect(p).rejects.toBeInstanceOf(RestoreInterrupted);
    await expect(p).rejects.toMatchObject({ signal: 'SIGINT' });
    expect(copying).toBe(true);
    expect(leftovers(target)).toEqual([]);
    expect(villagerName(target, 'after')).toBe('乙');
  }, 60_000);

  it('without a signal it restores as restoreCopy does', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'async');
    const r = await restoreCopyInterruptible(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true, signal: new AbortController().signal });
    expect(villagerName(target, 'after')).toBeUndefined();
    expect(villagerName(r.kept[0]!, 'after')).toBe('乙');
  }, 60_000);

  it('a partial copy with a WAL left by a restore that died is removed first: its pages do not get into the restored ledger', async () => {
    const { target, copy } = await storeWithCopy(t.dir, 'stale');
    // the earlier restore's copy, opened in WAL mode, one committed write not yet checkpointed, then the power went
    const incoming = `${target}.restoring`;
    copyFileSync(copy, incoming);
    const stale = new Database(incoming);
    stale.pragma('journal_mode = WAL');
    stale.pragma('wal_autocheckpoint = 0');
    stale.prepare("UPDATE villagers SET name = 'FROM THE INTERRUPTED RESTORE' WHERE id = 'before'").run();
    for (const side of ['-wal', '-shm']) copyFileSync(`${incoming}${side}`, path.join(t.dir, `stale${side}`));
    stale.close();
    for (const side of ['-wal', '-shm']) copyFileSync(path.join(t.dir, `stale${side}`), `${incoming}${side}`);
    copyFileSync(copy, `${incoming}-journal`);

    const { kept } = restoreCopy(copy, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true });
    expect(villagerName(target, 'before')).toBe('甲');
    expect(leftovers(target)).toEqual(kept.map((k) => path.basename(k)));
  }, 60_000);
});
