/**
 * The repayment a villager cut across snapshot slices still owes (./snapshot-slices.ts). Its
 * shortfall is repaid once, after its last entry, from the last earning the apply wrote; an apply
 * interrupted (the process killed, a power cut) after that earning and before the villager's last
 * entry would leave the debt standing when the snapshot is applied again, which writes no earning
 * (the earning is held already) and so repays nothing: the balance wrong until the villager
 * earned again. So each slice that writes an earning of a villager it does not finish records it
 * here, in its own transaction (a slice lost to a power cut loses its record with it); the slice
 * that writes the villager's last entry repays from it, as the whole snapshot would, and clears
 * it in the same transaction. Kept in the `meta` table (no schema change): a few villagers at
 * most, as JSON `{ villager: earning id }`.
 */
import type { Db } from './db.ts';
import { getEntry, repaymentId, type LedgerRules } from './entries.ts';
import { getMeta, setMeta } from './meta.ts';

const OWED = 'snapshot.repay_owed';

function owed(db: Db): Record<string, string> {
  const v = getMeta(db, OWED);
  return v ? (JSON.parse(v) as Record<string, string>) : {};
}

function setOwed(db: Db, o: Record<string, string>): void {
  setMeta(db, OWED, Object.keys(o).length > 0 ? JSON.stringify(o) : '');
}

/** `earningId`, written by a slice that did not reach `villagerId`'s last entry, repays its shortfall once that entry is in. */
export function noteOwedRepayment(db: Db, villagerId: string, earningId: string): void {
  const o = owed(db);
  if (o[villagerId] === earningId) return;
  o[villagerId] = earningId;
  setOwed(db, o);
}

/**
 * `villagerId`'s history is in: the earning to repay from, the last one this apply wrote
 * (`written`) or else the one an interrupted apply recorded, and the record cleared. Undefined
 * when there is none, or when that earning repaid already (its repayment is held: never twice).
 */
export function takeOwedRepayment(db: Db, villagerId: string, written: string | undefined, rules: LedgerRules): string | undefined {
  const o = owed(db);
  const recorded = o[villagerId];
  if (recorded !== undefined) {
    delete o[villagerId];
    setOwed(db, o);
  }
  const earning = written ?? recorded;
  if (earning === undefined || getEntry(db, earning) === undefined || getEntry(db, repaymentId(earning, rules.store)) !== undefined) return undefined;
  return earning;
}

/** An earning written and repaid from at once (a stream event, a whole snapshot): a record an interrupted apply left for the villager is spent. */
export function dropOwedRepayments(db: Db, villagerIds: Iterable<string>): void {
  const o = owed(db);
  let changed = false;
  for (const id of villagerIds) {
    if (!(id in o)) continue;
    delete o[id];
    changed = true;
  }
  if (changed) setOwed(db, o);
}
