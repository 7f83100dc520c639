import { describe, it, expect, afterEach } from 'vitest';
import Database from 'better-sqlite3';
import { writeFileSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { openLedger, closeLedger, APPLICATION_ID } from '../../edge/ledger/db.ts';
import { LATEST_VERSION } from '../../edge/ledger/migrations/index.ts';
import { ErrorCode, isEdgeError } from '../../edge/errors.ts';
import { tempDir } from './helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(isEdgeError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected an error with code ${code}`);
}

describe('opening the ledger', () => {
  it('creates a fresh ledger with WAL, synchronous=FULL, foreign keys, our application id and the latest version', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const db = openLedger(path.join(t.dir, 'a', 'ledger.sqlite'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    const strict = db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND strict = 0 AND name NOT LIKE 'sqlite_%'").all();
    expect(strict).toEqual([]);
    closeLedger(db);
    // reopening is idempotent
    const again = openLedger(path.join(t.dir, 'a', 'ledger.sqlite'));
    expect(again.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    again.close();
  });

  it('refuses a database newer than the code, and leaves it untouched', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'ledger.sqlite');
    closeLedger(openLedger(file));
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.close();
    const before = readFileSync(file);
    expectCode(() => openLedger(file), ErrorCode.DB_NEWER_THAN_CODE);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("refuses another program's database", () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'other.sqlite');
    const raw = new Database(file);
    raw.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)');
    raw.close();
    expectCode(() => openLedger(file), ErrorCode.DB_NOT_OURS);
    const raw2 = new Database(file);
    raw2.pragma('application_id = 1234');
    raw2.pragma('user_version = 1');
    raw2.close();
    expectCode(() => openLedger(file), ErrorCode.DB_NOT_OURS);
  });

  it('refuses a corrupt file or a file that is not a database', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const garbage = path.join(t.dir, 'garbage.sqlite');
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    expectCode(() => openLedger(garbage), ErrorCode.DB_CORRUPT);

    // a real ledger with its pages overwritten in the middle
    const file = path.join(t.dir, 'ledger.sqlite');
    const db = openLedger(file);
    db.exec("INSERT INTO meta (key, value) VALUES ('x', 'y')");
    closeLedger(db);
    const bytes = readFileSync(file);
    bytes.fill(0xff, 4096, Math.min(bytes.length, 4096 * 3));
    writeFileSync(file, bytes);
    expect(() => openLedger(file)).toThrowError();
    try {
      openLedger(file);
    } catch (err) {
      expect([ErrorCode.DB_CORRUPT, ErrorCode.DB_NOT_OURS]).toContain((err as { code: string }).code);
    }
  });

  it('several processes opening a new ledger at the same moment all succeed (one migrates, the rest find it done)', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'ledger.sqlite');
    const child = path.join(import.meta.dirname, 'open-child.ts');
    const startAt = Date.now() + 1500; // after every child has loaded
    const outs = await Promise.all(
      [1, 2, 3, 4].map(
        () => new Promise<string>((resolve, reject) => execFile(process.execPath, ['--import', 'tsx', child, file, String(startAt)], (err, stdout) => (err ? reject(err) : resolve(stdout.trim())))),
      ),
    );
    expect(outs).toEqual(Array(4).fill(`ok ${LATEST_VERSION}`));
  }, 30_000);
});
