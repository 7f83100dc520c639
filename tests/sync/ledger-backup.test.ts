/** `store-edge ledger backup`: an online, checked copy of the village ledger's SQLite file; bad input exit 2, a failure exit 1, never an overwrite. */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../ledger/helpers.ts';
import { openSqlite } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { addVillage } from '../../cloud-sync/ledger/tables.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('ledger-backup-');
afterAll(() => t.cleanup());

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { exited, out: () => out };
}

describe('store-edge ledger backup', () => {
  it('copies a ledger that is open for writing, checks the copy, and refuses to overwrite, a missing ledger, a store ledger and PostgreSQL', async () => {
    const file = path.join(t.dir, 'village-ledger.sqlite');
    const db = openSqlite(file); // kept open (WAL) while the copy is made, as a serving ledger is
    await migrateLedger(db);
    await addVillage(db, 'v1', '一村', new Date().toISOString());
    const out = path.join(t.dir, 'copy.sqlite');
    const ok = run(['ledger', 'backup', '--db', file, '--out', out, '--json']);
    expect(await ok.exited, ok.out()).toBe(0);
    const r = JSON.parse(ok.out()) as { file: string; integrity: string; villages: number };
    expect(r).toMatchObject({ file: out, integrity: 'ok', villages: 1 });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // a file on its own: a rollback journal, no -wal beside it, and the village in it
    const copy = new Database(out, { readonly: true });
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(copy.prepare('SELECT name FROM villages').pluck().all()).toEqual(['一村']);
    copy.close();
    expect(readdirSync(t.dir).filter((f) => f.startsWith('copy.sqlite'))).toEqual(['copy.sqlite']);

    const again = run(['ledger', 'backup', '--db', file, '--out', out]);
    expect(await again.exited).toBe(2);
    expect(again.out()).toContain('不覆盖');
    expect(again.out()).toContain('refusing to overwrite');

    const missing = run(['ledger', 'backup', '--db', path.join(t.dir, 'nope.sqlite'), '--out', path.join(t.dir, 'b.sqlite')]);
    expect(await missing.exited).toBe(2);
    expect(existsSync(path.join(t.dir, 'nope.sqlite'))).toBe(false);

    const other = path.join(t.dir, 'other.sqlite');
    const o = new Database(other);
    o.exec('CREATE TABLE outbox (seq INTEGER PRIMARY KEY)');
    o.close();
    const foreign = run(['ledger', 'backup', '--db', other, '--out', path.join(t.dir, 'c.sqlite')]);
    expect(await foreign.exited).toBe(2);
    expect(foreign.out()).toContain('不是村账本');

    const pgUrl = run(['ledger', 'backup', '--out', path.join(t.dir, 'd.dump')], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' });
    expect(await pgUrl.exited).toBe(2);
    expect(pgUrl.out()).toContain('pg_dump');

    // a folder it cannot write into: a failure (exit 1), no partial copy left
    writeFileSync(path.join(t.dir, 'a-file'), '');
    const cannot = run(['ledger', 'backup', '--db', file, '--out', path.join(t.dir, 'a-file', 'x.sqlite')]);
    expect(await cannot.exited).toBe(2); // its folder is a file: bad input, named
    expect(cannot.out()).toContain('--out');
    await db.close();
  }, 180_000);
});
