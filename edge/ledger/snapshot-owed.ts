/**
 * The repayment a villager cut across snapshot slices still owes (./snapshot-slices.ts). Its
 * shortfall is repaid once, after its last entry, from the last earning the apply wrote; an apply
 * interrupted (the process killed, a power cut) after that earning and before the villager's last
 * entry would leave the debt standing when the snapshot is applied again, which writes no earning
 * (the earning is held already) and so repays nothing: the balance wrong until the villager
 * earned again. So each slice that writes an earning of a villager it does not finish records it
 * here, in its own transaction (a slice lost to a power cut loses its record with it); the slice
 * that writes the villager's last entry repays from it, as the whole snapshot would, and clears
 * it in the same transaction. The rest of its history may come another way before the snapshot is
 * applied again (the store restarted and caught up by deltas: the stream's events after its seq):
 * a stream event or a whole snapshot that writes an earning of the villager repays from it and
 * spends the record; one that brings, with no earning after it, the last of the villager's entries
 * in the snapshot that the store did not hold when it recorded it (one it held, its own sale back
 * in the snapshot, never comes again by the stream; holding them all, the slice repays at once:
 * ./snapshot-slices.ts) repays from the recorded earning there, as that snapshot would, and
 * clears it (owedNowIn; before, the debt stood beside a balance that could repay it, until the
 * villager earned again). Kept in the `meta` table (no schema change): a few villagers at most,
 * as JSON `{ villager: { earning, last } }` (`last`: that entry; a record of an older version,
 * `{ villager: earning id }`, is still read, and repaid by the snapshot applied again).
 */
import type { Db } from './db.ts';
import { getEntry, repaymentId, type LedgerRules } from './entries.ts';
import { getMeta, setMeta } from './meta.ts';

const OWED = 'snapshot.repay_owed';

/** The earning to repay from, and the last of the villager's entries in the snapshot that wrote it not held then (absent in a record of an older version). */
type Owed = { earning: string; last?: string };

function owed(db: Db): Record<string, Owed> {
  const v = getMeta(db, OWED);
  const o: Record<string, Owed> = {};
  if (!v) return o;
  for (const [id, r] of Object.entries(JSON.parse(v) as Record<string, string | Owed>)) o[id] = typeof r === 'string' ? { earning: r } : r;
  return o;
}

function setOwed(db: Db, o: Record<string, Owed>): void {
  setMeta(db, OWED, Object.keys(o).length > 0 ? JSON.stringify(o) : '');
}

/** Whether `earning` is held and has not repaid yet (its repayment is held: never twice). */
function unrepaid(db: Db, earning: string, rules: LedgerRules): boolean {
  return getEntry(db, earning) !== undefined && getEntry(db, repaymentId(earning, rules.store)) === undefined;
}

/**
 * `earningId`, written by a slice that did not reach `villagerId`'s last entry (`lastId`),
 * repays its shortfall once that entry is in.
 */
export function noteOwedRepayment(db: Db, villagerId: string, earningId: string, lastId: string): void {
  const o = owed(db);
  if (o[villagerId]?.earning === earningId && o[villagerId]?.last === lastId) return;
  o[villagerId] = { earning: earningId, last: lastId };
  setOwed(db, o);
}

/**
 * `villagerId`'s history is in: the earning to repay from, the last one this apply wrote
 * (`written`) or else the one an interrupted apply recorded, and the record cleared. Undefined
 * when there is none, or when that earning repaid already (its repayment is held: never twice).
 */
export function takeOwedRepayment(db: Db, villagerId: string, written: string | undefined, rules: LedgerRules): string | undefined {
  const o = owed(db);
  const recorded = o[villagerId]?.earning;
  if (recorded !== undefined) {
    delete o[villagerId];
    setOwed(db, o);
  }
  const earning = written ?? recorded;
  if (earning === undefined || !unrepaid(db, earning, rules)) return undefined;
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

/**
 * Entries came in some other way than the apply in slices that recorded a repayment (the rest of
 * a villager's history on the stream: deltas after a restart; a later snapshot that has it
 * whole), without an earning of that villager after them: a villager whose last entry in that
 * snapshot is among them is owed its repayment there, as the snapshot would repay it. `entries`:
 * the batch's entries (held before or not) of the villagers it wrote no earning of. The earnings
 * to repay from, per villager; their records cleared.
 */
export function owedNowIn(db: Db, entries: Iterable<{ id: string; villager: string }>, rules: LedgerRules): Map<string, string> {
  const due = new Map<string, string>();
  const o = owed(db);
  if (Object.keys(o).length === 0) return due;
  let changed = false;
  for (const e of entries) {
    const r = o[e.villager];
    if (r === undefined || r.last !== e.id) continue;
    delete o[e.villager];
    changed = true;
    if (unrepaid(db, r.earning, rules)) due.set(e.villager, r.earning);
  }
  if (changed) setOwed(db, o);
  return due;
}
