/**
 * Ledger processes opening one fresh database at once (the service and `ledger staff` both
 * migrate at start): all of them start, and the schema is made once. On PostgreSQL the second
 * used to fail with a raw `duplicate key value violates unique constraint "pg_type_typname_nsp_index"`.
 * Real processes (./migrate-child.ts), told to begin together once each has loaded.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { expect, it } from 'vitest';
import { LEDGER_SCHEMA_VERSION, migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { openPostgres, openSqlite, type SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind, uid } from '../../harness/sync/rig.ts';

/** A database nothing has migrated yet: where the children find it, and a connection to look at it. */
async function freshDatabase(): Promise<{ args: string[]; db: SqlDb; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = uid('migrate_test_');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = openPostgres(url, schema);
    return {
      args: ['', url, schema],
      db,
      drop: async () => {
        await db.close();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'village-ledger-'));
  const file = path.join(dir, 'ledger.sqlite');
  return {
    args: [file],
    db: openSqlite(file),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `n` migrating processes, started together: what each said. */
async function migrateAtOnce(args: string[], n: number): Promise<string[]> {
  const children = Array.from({ length: n }, () => spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'migrate-child.ts'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  const next = async (i: number) => String((await lines[i]!.next()).value ?? `exited (${children[i]!.exitCode})`);
  expect(await Promise.all(children.map((_, i) => next(i)))).toEqual(children.map(() => 'ready'));
  for (const c of children) c.stdin.end('go\n');
  return Promise.all(children.map((_, i) => next(i)));
}

it(`(${ledgerDbKind}) three processes migrating one fresh database at once all start; the schema is made once`, async () => {
  const { args, db, drop } = await freshDatabase();
  try {
    expect(await migrateAtOnce(args, 3)).toEqual(['ok', 'ok', 'ok']);
    expect((await db.query<{ version: number | string }>('SELECT version FROM ledger_schema')).map((r) => Number(r.version))).toEqual([LEDGER_SCHEMA_VERSION]);
    expect(await db.run('INSERT INTO villages (id, name, created_at) VALUES ($1, $2, $3)', ['v1', '村', new Date().toISOString()])).toBe(1);
    // a current schema migrated again, by several at once, is left as it is
    expect(await migrateAtOnce(args, 2)).toEqual(['ok', 'ok']);
    await migrateLedger(db);
    expect((await db.query<{ version: number | string }>('SELECT version FROM ledger_schema')).map((r) => Number(r.version))).toEqual([LEDGER_SCHEMA_VERSION]);
  } finally {
    if (!process.env.DATABASE_URL) await db.close();
    await drop();
  }
}, 60_000);
