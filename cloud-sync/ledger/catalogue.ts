/**
 * The village's catalogue at the ledger: the products and prices the village publishes to its
 * stores. Each change is a `product` event on the village stream (applied by every store in
 * order), and the table keeps the latest of each product, so that a snapshot carries the
 * catalogue as it stands: a store brought level by a snapshot (a new store, a resync, one too far
 * behind for deltas) no longer misses a price change it jumped over (docs/sync-stream.md#the-answer-deltas-or-a-snapshot).
 *
 * A store's own products (set on its admin page) are the store's: they reach the ledger as outbox
 * rows for the sales rollups (governance/rollup.ts) and never enter this table.
 */
import type { SqlDb } from './sql.ts';
import type { ProductBody, SnapshotProduct } from '../protocol/payloads.ts';

export const CATALOGUE_VERSION = 14;
export const CATALOGUE_SQL = /* sql */ `
CREATE TABLE products (
  village      TEXT NOT NULL REFERENCES villages (id),
  sku          TEXT NOT NULL,
  name         TEXT NOT NULL,
  price        INTEGER NOT NULL,
  unit_g       INTEGER NOT NULL,
  tolerance_g  INTEGER NOT NULL,
  active       INTEGER NOT NULL CHECK (active IN (0, 1)),
  -- when the village last published it (the ledger's clock): a store keeps a later change of its own
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (village, sku)
);
`;

/** Records a product as published; in the transaction that appends its event, so the two agree. */
export async function putCatalogueProduct(tx: SqlDb, village: string, p: ProductBody, at: string): Promise<void> {
  await tx.run(
    `INSERT INTO products (village, sku, name, price, unit_g, tolerance_g, active, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (village, sku) DO UPDATE SET name = excluded.name, price = excluded.price, unit_g = excluded.unit_g,
       tolerance_g = excluded.tolerance_g, active = excluded.active, updated_at = excluded.updated_at`,
    [village, p.sku, p.name, p.price, p.unit_g, p.tolerance_g, p.active ? 1 : 0, at],
  );
}

interface ProductRow { sku: string; name: string; price: number | string; unit_g: number | string; tolerance_g: number | string; active: number | string; updated_at: string }

/** The village's catalogue as it stands, by sku. */
export async function villageCatalogue(db: SqlDb, village: string): Promise<SnapshotProduct[]> {
  const rows = await db.query<ProductRow>('SELECT sku, name, price, unit_g, tolerance_g, active, updated_at FROM products WHERE village = $1 ORDER BY sku', [village]);
  return rows.map((r) => ({
    sku: r.sku, name: r.name, price: Number(r.price), unit_g: Number(r.unit_g), tolerance_g: Number(r.tolerance_g), active: Number(r.active) === 1, updated_at: r.updated_at,
  }));
}
