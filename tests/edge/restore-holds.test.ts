/**
 * A restore and the CLI commands that write the ledger exclude each other (edge/ledger-holds.ts):
 * what a command reported done is never written into the file a restore moves aside. The daemon
 * and the commands still run side by side.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { lockDataDir } from '../../edge/data-dir.ts';
import { HOLDS_DIR, lockForRestore } from '../../edge/ledger-holds.ts';
import { withLedger } from '../../edge/cli/context.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('restore-holds-');
afterAll(() => t.cleanup());

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
function cli(dataDir: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args, '--data-dir', dataDir], { env: { ...process.env, STORE_EDGE_CONFIG: '' }, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A store with villager v1 and a copy of its ledger (nothing unsent is missing from the copy). */
async function store(name: string): Promise<{ dataDir: string; copy: string }> {
  const dataDir = path.join(t.dir, name);
  const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
  addVillager(db, { id: 'v1', name: '张三', village: 'demo-village' });
  const copy = (await backupLedger(db, path.join(t.dir, `${name}-backups`), new Date('2026-12-01T02:30:00Z'))).file;
  closeLedger(db);
  return { dataDir, copy };
}

const award = (id: string) => (db: Parameters<Parameters<typeof withLedger>[1]>[0]) => applyEntry(db, { id, villagerId: 'v1', kind: 'award', points: 1, reason: 'test', origin: 'cli' }, { creditFloor: 0, store: 'store-1' });
const entries = (dataDir: string): string[] => {
  const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
  try {
    return db.prepare("SELECT id FROM entries WHERE villager_id = 'v1' ORDER BY id").pluck().all() as string[];
  } finally {
    closeLedger(db);
  }
};

describe('a restore beside a command that writes the ledger', () => {
  it('is refused (exit 1, DATA_DIR_LOCKED, bilingual, naming the pid) while a command holds the ledger; the award the command made stays in the ledger', async () => {
    const { dataDir, copy } = await store('busy');
    const r = withLedger({ dataDir }, (db) => {
      award('held-1')(db);
      return cli(dataDir, 'restore', copy, '--yes', '--discard-unsent');
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('DATA_DIR_LOCKED');
    expect(r.stderr).toContain(`pid ${process.pid}`);
    expect(r.stderr).toMatch(/in use by a store-edge command/);
    expect(r.stderr).toMatch(/账本正被一个 store-edge 命令使用/);
    expect(entries(dataDir)).toEqual(['held-1']);
    expect(readdirSync(dataDir).filter((f) => f.includes('before-restore') || f.includes('.restoring'))).toEqual([]);
    // the command done, the restore goes ahead
    expect(cli(dataDir, 'restore', copy, '--yes', '--discard-unsent').code).toBe(0);
  }, 60_000);

  it('a command (points award) is refused while a restore holds the folder: exit 1, bilingual, nothing written; after the restore it works', async () => {
    const { dataDir } = await store('restoring');
    const release = lockForRestore(dataDir);
    try {
      const r = cli(dataDir, 'points', 'award', '--villager', 'v1', '--points', '5', '--reason', 'during restore', '--id', 'during');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('DATA_DIR_LOCKED');
      expect(r.stderr).toMatch(/being restored from a backup/);
      expect(r.stderr).toMatch(/正在从备份恢复/);
      expect(() => withLedger({ dataDir }, award('in-process'))).toThrow(expect.objectContaining({ code: 'DATA_DIR_LOCKED' }));
      // a daemon is told a restore runs, not that another daemon does
      expect(() => lockDataDir(dataDir)).toThrow(/being restored/);
    } finally {
      release();
    }
    expect(entries(dataDir)).toEqual([]);
    expect(cli(dataDir, 'points', 'award', '--villager', 'v1', '--points', '5', '--reason', 'after', '--id', 'after').code).toBe(0);
    expect(entries(dataDir)).toEqual(['after']);
    expect(readdirSync(path.join(dataDir, HOLDS_DIR))).toEqual([]);
  }, 60_000);

  it('commands still run beside the daemon, and a restore is still refused while the daemon runs', async () => {
    const { dataDir, copy } = await store('daemon');
    const release = lockDataDir(dataDir); // as start takes it
    try {
      withLedger({ dataDir }, award('beside-daemon'));
      expect(cli(dataDir, 'points', 'award', '--villager', 'v1', '--points', '1', '--reason', 'cli', '--id', 'cli-beside').code).toBe(0);
      const r = cli(dataDir, 'restore', copy, '--yes', '--discard-unsent');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('DATA_DIR_LOCKED');
    } finally {
      release();
    }
    expect(entries(dataDir)).toEqual(['beside-daemon', 'cli-beside']);
  }, 60_000);

  it('a hold left by a command that died (its pid gone) does not stop a restore, and is removed', async () => {
    const { dataDir, copy } = await store('stale');
    mkdirSync(path.join(dataDir, HOLDS_DIR), { recursive: true });
    writeFileSync(path.join(dataDir, HOLDS_DIR, '999999-1'), '999999\n\n\n');
    const r = cli(dataDir, 'restore', copy, '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(dataDir, HOLDS_DIR))).toEqual([]);
  }, 60_000);
});
