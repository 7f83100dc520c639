/**
 * `store-edge ledger staff …` needs the village ledger's database to exist: a mistyped --db is
 * refused naming it (exit 2, both languages), never taken as a new, empty ledger; a SQLite file
 * that is not a village ledger (the store's own ledger, another program's database) is refused
 * the same way by `staff` and `serve`, and left as it was. Run in this process (edge/cli/index.ts `main`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../entry/cli-run.ts';
import { tempDir } from '../ledger/helpers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { ErrorCode } from '../../edge/errors.ts';
import { openPostgres, openSqlite } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';

const t = tempDir('cli-staff-db-');
const databaseUrl = process.env.DATABASE_URL;
// SQLite whatever the environment says: this test is about the --db file
beforeAll(() => { delete process.env.DATABASE_URL; });
afterAll(() => {
  if (databaseUrl !== undefined) process.env.DATABASE_URL = databaseUrl;
  t.cleanup();
});

describe('store-edge ledger staff --db', () => {
  it('refuses a --db file that does not exist, and creates nothing', async () => {
    const typo = path.join(t.dir, 'vilage-ledger.sqlite');
    const args: Record<string, string[]> = { list: [], add: ['--username', 'wang', '--name', '王干事', '--role', 'town'], unlock: ['--username', 'wang'], disable: ['--username', 'wang'], enable: ['--username', 'wang'] };
    // add is refused before it asks for the password
    for (const [sub, rest] of Object.entries(args)) {
      const r = await runCli(['ledger', 'staff', sub, ...rest, '--db', typo]);
      expect({ sub, code: r.code }, r.err).toEqual({ sub, code: 2 });
      expect(r.err).toContain('--db');
      expect(r.err).toContain('没有村账本');
      expect(r.err).toContain('no village ledger');
      expect(existsSync(typo)).toBe(false);
    }
  });
});

/** The names of the tables in a SQLite file, read without writing to it. */
function tablesOf(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('store-edge ledger staff|serve --db of a SQLite file that is not a village ledger', () => {
  const storeLedger = path.join(t.dir, 'store', 'ledger.sqlite'); // what `store-edge start` leaves in data/
  const photos = path.join(t.dir, 'photos.sqlite'); // another program's database
  beforeAll(() => {
    mkdirSync(path.dirname(storeLedger));
    closeLedger(openLedger(storeLedger));
    const db = new Database(photos);
    db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('a')");
    db.close();
  });

  it('refuses the store\'s own ledger and another program\'s database (exit 2, naming --db and the file) and leaves them as they were', async () => {
    // serve is refused before anything starts: the broker and key files are never looked at
    const serve = ['ledger', 'serve', '--broker', 'mqtt://127.0.0.1:1', '--key-file', path.join(t.dir, 'none.pem'), '--port', '0'];
    for (const [file, words] of [[storeLedger, '门店账本'], [photos, 'photos']] as const) {
      const before = { tables: tablesOf(file), bytes: readFileSync(file) };
      for (const args of [['ledger', 'staff', 'list'], ['ledger', 'staff', 'unlock', '--username', 'wang'], serve]) {
        const r = await runCli([...args, '--db', file]);
        expect({ args, code: r.code }, r.err).toEqual({ args, code: 2 });
        expect(r.err).not.toContain('internal error');
        expect(r.err).toContain('--db');
        expect(r.err).toContain(file);
        expect(r.err).toContain('不是村账本');
        expect(r.err).toContain('not a village ledger');
        expect(r.err).toContain(words);
      }
      expect(tablesOf(file)).toEqual(before.tables);
      expect(readFileSync(file).equals(before.bytes)).toBe(true);
    }
  });

  it('still takes an empty file as a new ledger, and a village ledger as it is', async () => {
    const empty = path.join(t.dir, 'empty.sqlite');
    writeFileSync(empty, '');
    const r = await runCli(['ledger', 'staff', 'list', '--db', empty, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(tablesOf(empty)).toContain('ledger_schema');
    const again = await runCli(['ledger', 'staff', 'list', '--db', empty, '--json']);
    expect(again.code, again.err).toBe(0);
  });
});

describe('migrateLedger on a database of another program', () => {
  it('refuses it (DB_NOT_OURS) before creating a table: a SQLite file, and a PostgreSQL schema when DATABASE_URL is set', async () => {
    const file = path.join(t.dir, 'inventory.sqlite');
    const raw = new Database(file);
    raw.exec('CREATE TABLE stock (sku TEXT)');
    raw.close();
    const db = openSqlite(file);
    try {
      await expect(migrateLedger(db)).rejects.toMatchObject({ code: ErrorCode.DB_NOT_OURS, message: expect.stringContaining('stock') });
    } finally {
      await db.close();
    }
    expect(tablesOf(file)).toEqual(['stock']);
    if (!databaseUrl) return;
    const schema = `not_ours_${process.pid}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.stock (sku TEXT)`);
      const pgDb = openPostgres(databaseUrl, schema);
      try {
        await expect(migrateLedger(pgDb)).rejects.toMatchObject({ code: ErrorCode.DB_NOT_OURS });
      } finally {
        await pgDb.close();
      }
      const left = await admin.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema]);
      expect(left.rows.map((r) => r.table_name)).toEqual(['stock']);
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });
});
