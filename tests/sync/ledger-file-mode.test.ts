/**
 * The village ledger's SQLite file holds villagers' names, balances and claims: only its owner
 * may read it. A new file is made 0600 (so are SQLite's -wal and -shm beside it, which take the
 * database file's mode), and one left readable by others is closed at open.
 */
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('village-ledger-mode-');
afterAll(() => t.cleanup());
const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

describe('the village ledger SQLite file', () => {
  it('is created 0600 with its -wal and -shm, whatever the umask lets through', async () => {
    const umask = process.umask(0o022);
    const file = path.join(t.dir, 'new.sqlite');
    try {
      const db = openSqlite(file);
      await migrateLedger(db);
      expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(['600', '600', '600']);
      await db.close();
    } finally {
      process.umask(umask);
    }
  });

  it('left readable by others, is made 0600 when opened', async () => {
    const file = path.join(t.dir, 'old.sqlite');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const db = openSqlite(file);
    await migrateLedger(db);
    expect(mode(file)).toBe('600');
    await db.close();
  });
});
