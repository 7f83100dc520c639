/**
 * What the public board shows, gathered from the store's own ledger: the last board the village
 * ledger sent (red list, good deeds, totals), the catalogue with in-stock or out-of-stock from
 * the shelves' stock, and whether that village data is current. The store's own maintainers
 * are left off the red list here as well, whatever the ledger sent.
 */
import type { Db } from '../../ledger/db.ts';
import { loadBoard, maintainerIds } from '../../ledger/board.ts';
import { stockByProduct } from '../queries.ts';
import type { SyncStateSource } from '../queries.ts';
import type { BoardBody, RedListRow } from '../../../cloud-sync/protocol/board.ts';

/** Products on the board at most (a village store holds a few dozen). */
export const BOARD_PRODUCTS = 40;

/**
 * The ledger sends the board at least every 5 minutes; three of those missed and the page says
 * that its village data is old, even while the broker connection looks up.
 */
export const BOARD_STALE_AFTER_MS = 15 * 60_000;

export type Freshness =
  /** No sync with a village ledger: the board shows the store's prices only. */
  | 'no-sync'
  /** Sync is on but no board has arrived yet. */
  | 'waiting'
  | 'fresh'
  /** The store is cut off from the village ledger (or the data is older than the bound). */
  | 'stale';

export interface BoardView {
  storeName: string;
  village: BoardBody | undefined;
  /** When the ledger computed the village data shown. */
  updatedAt: string | undefined;
  freshness: Freshness;
  /** The store cannot reach the ledger now (only meaningful with sync on). */
  offline: boolean;
  prices: Array<{ name: string; price: number; inStock: boolean }>;
  now: Date;
}

/** Ranks again after rows were left off: equal points share a place (1, 1, 3). */
export function rerank(rows: readonly RedListRow[]): RedListRow[] {
  const out: RedListRow[] = [];
  rows.forEach((r, i) => {
    const prev = out[out.length - 1];
    out.push({ ...r, rank: prev && prev.points === r.points ? prev.rank : i + 1 });
  });
  return out;
}

export function boardView(db: Db, d: { storeName: string; sync?: SyncStateSource | undefined; now: Date }): BoardView {
  const stored = loadBoard(db);
  let village = stored?.body;
  if (village) {
    const staff = maintainerIds(db);
    const kept = village.red_list.filter((r) => !staff.has(r.villager));
    if (kept.length !== village.red_list.length) {
      const { red_list_more: more, ...rest } = village;
      // the villagers counted but not listed close up their place with the rows: those left off ahead of them no longer count
      const ahead = more ? village.red_list.filter((r) => staff.has(r.villager) && r.points > more.points).length : 0;
      village = { ...rest, red_list: rerank(kept), ...(more ? { red_list_more: { ...more, rank: more.rank - ahead } } : {}) };
    }
  }
  const offline = d.sync ? !d.sync.state().connected : false;
  let freshness: Freshness;
  if (!d.sync) freshness = village ? 'stale' : 'no-sync';
  else if (!stored) freshness = 'waiting';
  else freshness = offline || d.now.getTime() - Date.parse(stored.body.computed_at) > BOARD_STALE_AFTER_MS ? 'stale' : 'fresh';
  // What a villager can take here: active, and on a shelf of this store, chosen before the limit.
  const prices = stockByProduct(db, BOARD_PRODUCTS, { shelved: true })
    .map((p) => ({ name: p.name, price: p.price, inStock: p.stock > 0 }));
  return { storeName: d.storeName, village, updatedAt: stored?.body.computed_at, freshness, offline, prices, now: d.now };
}
