/**
 * The store's statement of a period (a month in the store's time zone, edge/http/statement.ts):
 * the purchases settled in it per villager and per product, and the refunds made in it. Read
 * only, a fixed number of queries whatever the number of rows.
 *
 * A purchase counts in the period its settlement (`closed_at`) falls in; a refund in the period
 * its entry was made, whatever purchase it refunds. A purchase's points due (`total_points`) is
 * what the balance paid (`charged_points`) plus the debt it added (`debt_points`), and the sum of
 * its lines' points; so the villagers' charged + debt, the products' points and the receipts'
 * totals are one sum. Review charges made later (补扣) are not in the receipts and not here.
 */
import { cachedStatement, type Db } from './db.ts';

export interface StatementVillagerRow {
  villager_id: string;
  /** The villager's name, or null for one no longer in the ledger. */
  name: string | null;
  receipts: number;
  charged: number;
  debt: number;
  refunds: number;
}

export interface StatementProductRow { sku: string; name: string; count: number; points: number }

export interface StatementTotals { receipts: number; total_points: number; charged: number; debt: number; refunds: number }

export interface StatementRows { villagers: StatementVillagerRow[]; products: StatementProductRow[]; totals: StatementTotals }

/** Purchases settled in [@from, @to) (ISO 8601 UTC strings, as the ledger keeps its times). */
const SETTLED = `SELECT id, villager_id, total_points, charged_points, debt_points FROM store_sessions
  WHERE status = 'settled' AND kind = 'shopping' AND closed_at >= @from AND closed_at < @to`;
/** Refunds of the store's purchases made in [@from, @to) (not a refund the village ledger made). */
const REFUNDS = `SELECT villager_id, points FROM entries
  WHERE kind = 'refund' AND created_at >= @from AND created_at < @to AND reference IN (SELECT id FROM store_sessions)`;

/** The statement of the purchases settled and the refunds made from `from` (inclusive) to `to` (exclusive). */
export function statementRows(db: Db, from: string, to: string): StatementRows {
  const range = { from, to };
  const villagers = cachedStatement(db,
    `WITH s AS (${SETTLED}), r AS (${REFUNDS}),
       sv AS (SELECT villager_id, COUNT(*) AS receipts, SUM(COALESCE(charged_points, 0)) AS charged, SUM(COALESCE(debt_points, 0)) AS debt FROM s GROUP BY villager_id),
       rv AS (SELECT villager_id, SUM(points) AS refunds FROM r GROUP BY villager_id),
       ids AS (SELECT villager_id FROM sv UNION SELECT villager_id FROM rv)
     SELECT ids.villager_id, v.name, COALESCE(sv.receipts, 0) AS receipts, COALESCE(sv.charged, 0) AS charged, COALESCE(sv.debt, 0) AS debt, COALESCE(rv.refunds, 0) AS refunds
     FROM ids LEFT JOIN sv ON sv.villager_id = ids.villager_id LEFT JOIN rv ON rv.villager_id = ids.villager_id LEFT JOIN villagers v ON v.id = ids.villager_id
     ORDER BY ids.villager_id`,
  ).all(range) as StatementVillagerRow[];
  const products = cachedStatement(db,
    `WITH s AS (${SETTLED})
     SELECT l.sku, COALESCE(p.name, l.sku) AS name, SUM(l.count) AS count, SUM(l.points) AS points
     FROM session_lines l JOIN s ON s.id = l.session_id LEFT JOIN products p ON p.sku = l.sku
     GROUP BY l.sku ORDER BY points DESC, l.sku`,
  ).all(range) as StatementProductRow[];
  const totals = cachedStatement(db,
    `SELECT (SELECT COUNT(*) FROM (${SETTLED})) AS receipts,
            (SELECT COALESCE(SUM(total_points), 0) FROM (${SETTLED})) AS total_points,
            (SELECT COALESCE(SUM(charged_points), 0) FROM (${SETTLED})) AS charged,
            (SELECT COALESCE(SUM(debt_points), 0) FROM (${SETTLED})) AS debt,
            (SELECT COALESCE(SUM(points), 0) FROM (${REFUNDS})) AS refunds`,
  ).get(range) as StatementTotals;
  return { villagers, products, totals };
}
