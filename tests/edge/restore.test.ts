/**
 * `store-edge restore` beyond the basics of tests/edge/backup.test.ts: what the restore must not
 * lose or leave behind, and how it refuses bad input.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { backupLedger, restoreCopy, verifyCopy } from '../../edge/ledger/backup.ts';
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
    expect(r.stderr).toContain('is not a folder');
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
