/**
 * The ledger's `meta` table: small values keyed by name (the sync's state, the board as last
 * accepted, the recognizer that made the face templates), kept without a schema change.
 */
import { cachedStatement, type Db } from './db.ts';

export function getMeta(db: Db, key: string): string | undefined {
  return cachedStatement(db, 'SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
}

export function setMeta(db: Db, key: string, value: string): void {
  cachedStatement(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
