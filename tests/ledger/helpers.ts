import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger, type Db } from '../../edge/ledger/db.ts';
import { isEdgeError } from '../../edge/errors.ts';

/** A fresh ledger file in its own temp folder; `cleanup` closes and removes it. */
export function tempLedger(): { db: Db; dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
  const file = path.join(dir, 'ledger.sqlite');
  const db = openLedger(file);
  return {
    db,
    dir,
    file,
    cleanup: () => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempDir(prefix = 'store-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The EdgeError code `fn` throws (undefined when it does not throw); other errors propagate. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isEdgeError(err)) return err.code;
    throw err;
  }
  return undefined;
}
