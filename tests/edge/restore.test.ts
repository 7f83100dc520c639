/**
 * `store-edge restore` beyond the basics of tests/edge/backup.test.ts: what the restore must not
 * lose or leave behind, and how it refuses bad input.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { backupLedger, verifyCopy } from '../../edge/ledger/backup.ts';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { addVillager, getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { countOutbox, markOutboxAcked, highestOutboxSeq } from '../../edge/ledger/outbox.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('restore-');
afterAll(() => t.cleanup());

function cli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', dataDir], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('store-edge restore, bad input', () => {
  it('a folder given instead of a copy is bad input: exit 2, bilingual, naming it; the ledger is untouched', async () => {
    const dataDir = path.join(t.dir, 'store-dir');
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    await backupLedger(db, path.join(dataDir, 'backups'), new Date('2026-12-01T02:30:00Z'));
    closeLedger(db);
    const folder = path.join(dataDir, 'backups');
    mkdirSync(folder, { recursive: true });
    const r = await cli(dataDir, 'restore', folder, '--yes');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(folder);
    expect(r.stderr).toContain('INVALID_ARGUMENT');
    expect(r.stderr).toMatch(/不是备份文件/);
    expect(r.stderr).toMatch(/not a backup file/);
    expect(existsSync(path.join(dataDir, 'ledger.sqlite'))).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.includes('before-restore'))).toEqual([]);
  }, 60_000);

  it('without --yes it refuses (exit 2, bilingual, naming --yes) and changes nothing: unlike keys migrate, whose run without --yes is a dry run printing its plan (exit 0, tests/edge/keys.test.ts), as docs/cli.md says', async () => {
    const dataDir = path.join(t.dir, 'store-no-yes');
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    const copy = (await backupLedger(db, path.join(dataDir, 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    addVillager(db, { id: 'V9', name: '后加', village: 'v1', isMaintainer: false });
    closeLedger(db);
    const r = await cli(dataDir, 'restore', copy);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).toContain('确认请加 --yes');
    expect(r.stderr).toContain('add --yes to confirm');
    expect(readdirSync(dataDir).filter((f) => f.includes('before-restore'))).toEqual([]);
    const after = openLedger(path.join(dataDir, 'ledger.sqlite'));
    try {
      expect(getVillager(after, 'V9')?.name).toBe('后加');
    } finally {
      closeLedger(after);
    }
  }, 60_000);

  it('a data folder that is a file is bad input, even with --fresh: exit 2, bilingual, naming it', async () => {
    const src = openLedger(path.join(t.dir, 'store-src', 'ledger.sqlite'));
    const copy = (await backupLedger(src, path.join(t.dir, 'store-src', 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    closeLedger(src);
    const notDir = path.join(t.dir, 'a-file');
    writeFileSync(notDir, 'x');
    const r = await cli(notDir, 'restore', copy, '--yes', '--fresh');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(notDir);
    expect(r.stderr).toContain('不是文件夹');
    expect(r.stderr).toContain('is a file, not a folder');
  }, 60_000);
});

describe('store-edge restore into a data folder without a ledger (a PC installed afresh)', () => {
  it('is refused (exit 2, naming the path) pointing to --fresh, not to a first start; with --fresh the copy is restored', async () => {
    const src = openLedger(path.join(t.dir, 'old-pc', 'ledger.sqlite'));
    addVillager(src, { id: 'v-old-pc', name: '张三', village: 'qianjin' });
    const copy = (await backupLedger(src, path.join(t.dir, 'old-pc', 'backups'), new Date('2026-12-01T18:30:00Z'))).file;
    closeLedger(src);
    const fresh = path.join(t.dir, 'new-pc-data');
    const r = await cli(fresh, 'restore', copy, '--yes');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(path.join(fresh, 'ledger.sqlite'));
    expect(r.stderr).toContain('--fresh');
    expect(r.stderr).toMatch(/新装|new PC/);
    expect(r.stderr).not.toMatch(/made by its first start/);
    expect(existsSync(path.join(fresh, 'ledger.sqlite'))).toBe(false);
    const ok = await cli(fresh, 'restore', copy, '--yes', '--fresh');
    expect(ok.code, ok.stderr).toBe(0);
    const db = openLedger(path.join(fresh, 'ledger.sqlite'));
    expect(getVillager(db, 'v-old-pc')?.name).toBe('张三');
    closeLedger(db);
  }, 60_000);
});

/** Bytes 18 and 19 of a SQLite file: 2 and 2 in WAL mode, 1 and 1 with a rollback journal. */
function journalBytes(file: string): number[] {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    return [b[18]!, b[19]!];
  } finally {
    closeSync(fd);
  }
}

describe('a backup copy on its own', () => {
  it('is written without WAL (it opens read-only on a read-only medium without -wal/-shm beside it), and the backup, the check and the restore leave no -wal/-shm behind', async () => {
    const dataDir = path.join(t.dir, 'store-wal');
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    const backups = path.join(t.dir, 'usb', 'backups');
    const copy = (await backupLedger(db, backups, new Date('2026-12-01T02:30:00Z'))).file;
    closeLedger(db);
    expect(journalBytes(copy)).toEqual([1, 1]);
    expect(readdirSync(backups)).toEqual([path.basename(copy)]);
    verifyCopy(copy);
    restoreCopy(copy, path.join(dataDir, 'ledger.sqlite'), new Date('2026-12-02T08:00:00Z'));
    expect(readdirSync(backups)).toEqual([path.basename(copy)]);
    const restored = openLedger(path.join(dataDir, 'ledger.sqlite'));
    expect(restored.pragma('journal_mode', { simple: true })).toBe('wal');
    closeLedger(restored);
  }, 60_000);
});

describe('a restore over rows the village ledger never received', () => {
  /** A store ledger, a copy of it, then a sale and a new villager written while offline (unsent). */
  async function storeWithUnsent(name: string): Promise<{ dataDir: string; file: string; copy: string }> {
    const dataDir = path.join(t.dir, name);
    const file = path.join(dataDir, 'ledger.sqlite');
    const db = openLedger(file);
    addVillager(db, { id: 'zhang', name: '张三', village: 'qianjin' });
    applyEntry(db, { id: 'award-1', villagerId: 'zhang', kind: 'award', points: 50, reason: '打扫村道', origin: 'cli' }, { creditFloor: 0 });
    const copy = (await backupLedger(db, path.join(dataDir, 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    applyEntry(db, { id: 'sess-1', villagerId: 'zhang', kind: 'redemption', points: -7, reason: '超市兑换 / store purchase', origin: 'store' }, { creditFloor: 0 });
    addVillager(db, { id: 'late', name: '晚到', village: 'qianjin' });
    closeLedger(db);
    return { dataDir, file, copy };
  }

  it('is refused, naming the rows, bilingual; nothing is replaced; --discard-unsent restores and says what was discarded', async () => {
    const { dataDir, file, copy } = await storeWithUnsent('store-unsent');
    let err: unknown;
    try {
      restoreCopy(copy, file, new Date('2026-12-02T08:00:00Z'));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { unsent: 2 } });
    expect((err as Error).message).toContain('--discard-unsent');
    expect((err as { zh: string }).zh).toContain('尚未发送到村账本');
    expect(readdirSync(dataDir).filter((f) => f.includes('before-restore') || f.includes('.restoring'))).toEqual([]);
    const still = openLedger(file);
    expect(getVillager(still, 'zhang')?.balance).toBe(43);
    expect(countOutbox(still).pending).toBe(4);
    closeLedger(still);

    const r = restoreCopy(copy, file, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true });
    expect(r.unsent).toMatchObject({ read: true, rows: [{ topic: 'entry' }, { topic: 'villager' }] });
    const restored = openLedger(file);
    expect(getVillager(restored, 'zhang')?.balance).toBe(50);
    closeLedger(restored);
  }, 60_000);

  it('rows sent and acknowledged since the copy do not stop it', async () => {
    const { file, copy } = await storeWithUnsent('store-sent');
    const db = openLedger(file);
    markOutboxAcked(db, highestOutboxSeq(db), '2026-12-02T07:00:00.000Z');
    closeLedger(db);
    expect(restoreCopy(copy, file, new Date('2026-12-02T08:00:00Z')).unsent).toEqual({ read: true, rows: [] });
  }, 60_000);

  it('an unsent row whose text matches an older row of the copy, already acknowledged, still stops it', async () => {
    // A villager blocked and let back in before the copy (both acknowledged), blocked again and
    // let back in offline after it: the copy holds an earlier row of the same text, which the
    // restored store will not send again, so the village ledger would keep the villager blocked.
    const dataDir = path.join(t.dir, 'store-same-text');
    const file = path.join(dataDir, 'ledger.sqlite');
    const db = openLedger(file);
    addVillager(db, { id: 'zhao', name: '赵六', village: 'qianjin' });
    setVillagerStatus(db, 'zhao', 'blocked');
    setVillagerStatus(db, 'zhao', 'active');
    markOutboxAcked(db, highestOutboxSeq(db), '2026-12-01T01:00:00.000Z');
    const copy = (await backupLedger(db, path.join(dataDir, 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    setVillagerStatus(db, 'zhao', 'blocked');
    markOutboxAcked(db, highestOutboxSeq(db), '2026-12-01T09:00:00.000Z');
    setVillagerStatus(db, 'zhao', 'active');
    const unblock = highestOutboxSeq(db);
    closeLedger(db);
    expect(() => restoreCopy(copy, file, new Date('2026-12-02T08:00:00Z'))).toThrow(expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      details: expect.objectContaining({ unsent: 1, rows: [{ seq: unblock, topic: 'villager' }] }),
    }));
    expect(readdirSync(dataDir).filter((f) => f.includes('before-restore'))).toEqual([]);
  }, 60_000);

  it('store-edge restore: exit 2 naming the rows and --discard-unsent, in both languages; with it, exit 0 and a warning', async () => {
    const { dataDir, copy } = await storeWithUnsent('store-unsent-cli');
    const refused = await cli(dataDir, 'restore', copy, '--yes');
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('尚未发送到村账本');
    expect(refused.stderr).toContain('not yet sent to the village ledger');
    expect(refused.stderr).toContain('--discard-unsent');
    const forced = await cli(dataDir, 'restore', copy, '--yes', '--discard-unsent');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('--discard-unsent');
    expect(forced.stdout).toContain('2 条');
  }, 60_000);
});
