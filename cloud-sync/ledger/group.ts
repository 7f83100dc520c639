/**
 * Group commit at the village ledger: row batches that queued up one after another (from any
 * stores) are applied in one transaction, so they cost one commit instead of one each, and
 * none is acknowledged before that commit. When the shared transaction fails (one batch the
 * database refuses), nothing of it stays and the batches are applied again one by one, each
 * in its own transaction: the good ones are held and acknowledged, the bad one fails alone
 * (not acknowledged; its store sends it again, and the ledger counts it).
 */
import type { SqlDb } from './sql.ts';
import type { Signer } from './tables.ts';
import { applyRowBatches, type CheckedRows, type RowsResult } from './rows.ts';

export type { CheckedRows } from './rows.ts';

export type BatchOutcome = { ok: true; result: RowsResult } | { ok: false; error: unknown };

/**
 * Applies `batches` (at most a group's worth) in one transaction; one by one if that fails.
 * `onRetry` is told why the shared transaction failed. Outcomes are in the order of `batches`.
 */
export async function applyRowGroup(db: SqlDb, batches: CheckedRows[], signer: Signer, clock: () => Date, onRetry: (err: unknown) => void, skewMs?: number): Promise<BatchOutcome[]> {
  if (batches.length > 1) {
    try {
      const results = await applyRowBatches(db, batches, signer, clock(), skewMs);
      return results.map((result): BatchOutcome => ({ ok: true, result }));
    } catch (err) {
      onRetry(err);
    }
  }
  const outcomes: BatchOutcome[] = [];
  for (const b of batches) {
    try {
      outcomes.push({ ok: true, result: (await applyRowBatches(db, [b], signer, clock(), skewMs))[0]! });
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  return outcomes;
}
