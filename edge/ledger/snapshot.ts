/**
 * Applying a snapshot of the village ledger: villagers and their entries as the ledger
 * holds them. Idempotent: entries already present are skipped, so a snapshot can be
 * applied again after an interruption. One transaction: all or nothing. A large snapshot is
 * applied in slices instead (./snapshot-slices.ts), with the pieces below.
 */
import { cachedStatement, inTransaction, type Db } from './db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { getEntry, repayDebt, validateLedgerEntry, type EntryKind, type LedgerRules } from './entries.ts';
import { checkVillagerId, type VillagerStatus } from './villagers.ts';
import { applyCatalogue, type CatalogueProduct } from './products.ts';
import { dropOwedRepayments, owedNowIn } from './snapshot-owed.ts';
import { pendingStatusChanges, villageStatusWins } from './village-status.ts';
import { iso, systemClock, type Clock } from './time.ts';

export interface Snapshot {
  villagers: SnapshotVillager[];
  entries: SnapshotEntry[];
  /** The village's catalogue at the ledger (absent: it published none). */
  products?: CatalogueProduct[];
}
export type SnapshotVillager = { id: string; name: string; village: string; status?: 'active' | 'blocked' | 'left' };
export type SnapshotEntry = { id: string; villager: string; kind: EntryKind; points: number; reference?: string | null; reason?: string | null; created_at: string };

/** What applying a snapshot did. */
export interface SnapshotApplied { villagers: number; applied: number; duplicates: number; debtRepaid: number; products: number }

/**
 * `villageAt`: when the village ledger published the snapshot (or the event it came in), which
 * orders its statuses against the status changes made here (./village-status.ts); absent, a
 * change made here that the ledger has not acknowledged yet stands unless the snapshot's is stricter.
 */
export function applySnapshot(db: Db, snap: Snapshot, rules: LedgerRules, clock: Clock = systemClock, villageAt?: string): SnapshotApplied {
  const at = iso(clock);
  // Validate everything first: a bad row must not leave half a snapshot behind.
  for (const [i, e] of snap.entries.entries()) checkSnapshotEntry(e, i);
  for (const v of snap.villagers) checkVillagerId(v.id);

  return inTransaction(db, 'applying snapshot', () => {
    writeVillagers(db, snap.villagers, at, villageAt, snap.villagers.length > 0 ? pendingStatusChanges(db) : new Map<string, never>());
    const { applied, duplicates, debtRepaid } = writeEntries(db, snap.entries, rules, at);
    const products = snap.products ? applyCatalogue(db, snap.products) : 0;
    return { villagers: snap.villagers.length, applied, duplicates, debtRepaid, products };
  });
}

/** Entry #`i` of a snapshot as the ledger's entries must be; throws the refusal naming it. */
export function checkSnapshotEntry(e: SnapshotEntry, i: number): void {
  try {
    validateLedgerEntry({ id: e.id, villagerId: e.villager, kind: e.kind, points: e.points, origin: 'ledger', reason: e.reason ?? null });
  } catch (err) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `snapshot entry #${i} (${JSON.stringify(e.id)}): ${(err as Error).message}`, { cause: err });
  }
}

/** The refusal of an entry for a villager this store does not know. */
export function unknownVillager(entryId: string, villager: string): EdgeError {
  return new EdgeError(ErrorCode.UNKNOWN_VILLAGER, `snapshot entry ${entryId} names unknown villager ${villager}`, { zh: `快照中的流水指向未知村民 ${villager}` });
}

/**
 * The registry rows, in the caller's transaction. `changedHere`: the status changes made here
 * that the ledger has not acknowledged yet (pendingStatusChanges), read in that transaction.
 */
export function writeVillagers(db: Db, villagers: readonly SnapshotVillager[], at: string, villageAt: string | undefined, changedHere: ReadonlyMap<string, { status: VillagerStatus; at: string }>): void {
  if (villagers.length === 0) return;
  const upsertV = cachedStatement(db,
    `INSERT INTO villagers (id, name, village, status, created_at, updated_at, status_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, village = excluded.village,
       status = COALESCE(?, villagers.status),
       status_changed_at = CASE WHEN COALESCE(?, villagers.status) = villagers.status THEN villagers.status_changed_at ELSE excluded.updated_at END,
       updated_at = excluded.updated_at`,
  );
  // A snapshot that does not say a villager's status leaves a local block in place; one that
  // repeats the status leaves the time it changed (the retention of a left villager's face).
  // A status changed here that the ledger has not acknowledged yet stands against a village
  // decision made before it and yields to a later one (./village-status.ts: the latest decision
  // wins by time, as at the ledger, which publishes nothing more when it keeps its own).
  for (const v of villagers) {
    const said = v.status !== undefined && villageStatusWins(v.status, changedHere.get(v.id), villageAt) ? v.status : null;
    upsertV.run(v.id, v.name, v.village, v.status ?? 'active', at, at, at, said, said);
  }
}

/**
 * The entries, in the caller's transaction, in their order: those held already skipped, each
 * villager's balance moved once, and points earned repaying a recorded shortfall. `repay: false`
 * leaves the repayment to the caller (a villager cut across slices repays once, after its last
 * entry, as the whole snapshot does): `lastEarning` says, per villager, the last earning applied.
 */
export function writeEntries(db: Db, entries: readonly SnapshotEntry[], rules: LedgerRules, at: string, repay = true): { applied: number; duplicates: number; debtRepaid: number; lastEarning: ReadonlyMap<string, string> } {
  const lastEarning = new Map<string, string>();
  if (entries.length === 0) return { applied: 0, duplicates: 0, debtRepaid: 0, lastEarning };
  const balances = new Map<string, number>();
  const getBal = cachedStatement(db, 'SELECT balance FROM villagers WHERE id = ?').pluck();
  const exists = cachedStatement(db, 'SELECT 1 FROM entries WHERE id = ?').pluck();
  const insert = cachedStatement(db,
    // Applied as they are: nothing of them became debt here.
    `INSERT INTO entries (id, villager_id, kind, points, balance_after, reference, reason, origin, created_at, debt_added) VALUES (?, ?, ?, ?, ?, ?, ?, 'ledger', ?, 0)`,
  );
  let applied = 0;
  let duplicates = 0;
  for (const e of entries) {
    if (exists.get(e.id) !== undefined) {
      duplicates++;
      continue;
    }
    let bal = balances.get(e.villager);
    if (bal === undefined) {
      const b = getBal.get(e.villager) as number | undefined;
      if (b === undefined) throw unknownVillager(e.id, e.villager);
      bal = b;
    }
    bal += e.points;
    balances.set(e.villager, bal);
    insert.run(e.id, e.villager, e.kind, e.points, bal, e.reference ?? null, e.reason ?? null, e.created_at);
    if (e.points > 0) lastEarning.set(e.villager, e.id);
    applied++;
  }
  const setBal = cachedStatement(db, 'UPDATE villagers SET balance = ?, updated_at = ? WHERE id = ?');
  for (const [id, bal] of balances) setBal.run(bal, at, id);
  // Points earned through the snapshot repay a recorded shortfall, as a live award would.
  let debtRepaid = 0;
  if (!repay) return { applied, duplicates, debtRepaid, lastEarning };
  for (const [id, earning] of lastEarning) if (repayFrom(db, id, earning, rules, at)) debtRepaid++;
  // A repayment an interrupted apply in slices left owed is spent: this later earning repaid.
  if (lastEarning.size > 0) dropOwedRepayments(db, lastEarning.keys());
  // Or it is due now, from the earning it recorded: the villager's last entry of that snapshot
  // came in here (the rest of its history on the stream), with no earning after it.
  const due = owedNowIn(db, entries.filter((e) => !lastEarning.has(e.villager)), rules);
  for (const [id, earning] of due) if (repayFrom(db, id, earning, rules, at)) debtRepaid++;
  return { applied, duplicates, debtRepaid, lastEarning };
}

/** A villager's recorded shortfall repaid, as far as its balance allows, from the earning `earningId` (in the caller's transaction). */
export function repayFrom(db: Db, villagerId: string, earningId: string, rules: LedgerRules, at: string): boolean {
  return repayDebt(db, villagerId, getEntry(db, earningId)!, rules, at) !== undefined;
}
