/**
 * Which store a ledger belongs to: the config's `store.id` and `store.village`, recorded in the
 * `meta` table by the daemon at start. `store-edge restore` reads it from a copy, so another
 * store's backup is not put in place of this store's ledger by mistake.
 */
import Database from 'better-sqlite3';
import { getMeta, setMeta } from './meta.ts';
import { translateSqliteError, type Db } from './db.ts';

export interface StoreIdentity {
  id: string;
  village: string;
}

const ID = 'store.id';
const VILLAGE = 'store.village';

/** The store recorded in the ledger, or null when none is (a ledger made by an older program). */
export function recordedStore(db: Db): StoreIdentity | null {
  const id = getMeta(db, ID);
  if (id === undefined) return null;
  return { id, village: getMeta(db, VILLAGE) ?? '' };
}

/** Records `store` as the ledger's; returns the store recorded before when it was another. */
export function recordStore(db: Db, store: StoreIdentity): StoreIdentity | null {
  return db.transaction(() => {
    const before = recordedStore(db);
    setMeta(db, ID, store.id);
    setMeta(db, VILLAGE, store.village);
    return before && !sameStore(before, store) ? before : null;
  })();
}

export const sameStore = (a: StoreIdentity, b: StoreIdentity): boolean => a.id === b.id && a.village === b.village;

/** The store recorded in the ledger file `file` (opened read-only), or null. */
export function recordedStoreOf(file: string): StoreIdentity | null {
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return recordedStore(db);
  } catch (err) {
    throw translateSqliteError(err, `reading the store of ${file}`);
  } finally {
    db?.close();
  }
}
