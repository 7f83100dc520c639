/**
 * The last public board (积分公示栏) the village ledger sent this store, kept so that the board
 * survives a restart and a store cut off from the ledger still shows what it last knew (with
 * the time, so the page can say it is old). One row of the `meta` table, so no schema change;
 * the body is checked again on the way out, so a row written by an older program that no
 * longer matches is treated as no board rather than shown.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BoardBodySchema, type BoardBody } from '../../cloud-sync/protocol/board.ts';
import type { Db } from './db.ts';
import { getMeta, setMeta } from './meta.ts';

const KEY = 'board.last';
const bodyChecker = TypeCompiler.Compile(BoardBodySchema);

export interface StoredBoard {
  /** The ledger's version of this board (the envelope's seq): only a higher one replaces it. */
  version: number;
  /** When the ledger signed it. */
  issuedAt: string;
  /** When this store accepted it. */
  receivedAt: string;
  body: BoardBody;
}

export function loadBoard(db: Db): StoredBoard | undefined {
  const raw = getMeta(db, KEY);
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<StoredBoard>;
    if (typeof v.version !== 'number' || typeof v.issuedAt !== 'string' || typeof v.receivedAt !== 'string' || !bodyChecker.Check(v.body)) return undefined;
    return v as StoredBoard;
  } catch {
    return undefined;
  }
}

export function saveBoard(db: Db, b: StoredBoard): void {
  setMeta(db, KEY, JSON.stringify(b));
}

/** The store's own maintainers: never ranked on its board, whatever the ledger sent. */
export function maintainerIds(db: Db): Set<string> {
  return new Set(db.prepare('SELECT id FROM villagers WHERE is_maintainer = 1').pluck().all() as string[]);
}
