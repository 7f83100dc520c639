/**
 * openLedgerReadOnly (edge/ledger/db.ts) reads only a store ledger at this program's schema: a
 * SQLite file of something else is refused even when its user_version happens to equal ours (a
 * review found the id 0 let one through), and a ledger of an older schema is refused saying how
 * to read it; a current ledger is read.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, openLedgerReadOnly } from '../../edge/ledger/db.ts';
import { LATEST_VERSION } from '../../edge/ledger/migrations/index.ts';
import { tempDir } from './helpers.ts';

const t = tempDir('read-only-open-');
afterAll(() => t.cleanup());

describe('a ledger opened only to read it', () => {
  it('reads a current ledger', () => {
    const file = path.join(t.dir, 'ours.sqlite');
    closeLedger(openLedger(file));
    const db = openLedgerReadOnly(file);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    db.close();
  });

  it('refuses a file of something else, whatever its user_version', () => {
    for (const v of [0, LATEST_VERSION, LATEST_VERSION - 1]) {
      const file = path.join(t.dir, `foreign-${v}.sqlite`);
      const raw = new Database(file);
      raw.exec('CREATE TABLE notes (body TEXT)');
      raw.pragma(`user_version = ${v}`);
      raw.close();
      expect(() => openLedgerReadOnly(file), `user_version ${v}`).toThrow(v === LATEST_VERSION - 1 ? /older than this program's/ : /not a store ledger/);
    }
  });

  it('refuses a ledger of an older schema, saying how to read it', () => {
    const file = path.join(t.dir, 'older.sqlite');
    closeLedger(openLedger(file));
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION - 1}`);
    raw.close();
    expect(() => openLedgerReadOnly(file)).toThrow(expect.objectContaining({ code: 'DB_IO', zh: expect.stringContaining('复制到可写的位置') }));
  });
});
