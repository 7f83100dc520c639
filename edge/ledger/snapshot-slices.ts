/**
 * Applying a large snapshot of the village ledger in slices, so that the main thread (the door,
 * the shelves' polling, MQTT, the admin pages) gets a turn of the event loop between them: one
 * transaction for 200,000 entries held it for 2 to 5 s (`npm run bench:snapshot-apply`).
 *
 * - Validation first, in slices too: a bad entry anywhere, or an entry for a villager this store
 *   does not know, refuses the whole snapshot before anything is written (./snapshot.ts).
 * - Then slices of at most `sliceRows` rows or about `sliceMs` of work, each one transaction.
 *   A villager that fits in a slice goes whole: its registry rows, then all its entries in their
 *   order, its balance and the repayment of its debt, in one slice (it starts the next slice
 *   when it does not fit in what is left of this one), so its balance is never seen partly
 *   applied. A villager with more rows than a slice (a village's shop account, years of daily
 *   awards) is cut: its registry rows, then its entries in their order in pieces over as many
 *   slices as they need, each piece moving the balance with its entries (balance = sum of
 *   entries holds after every commit; between two slices its balance is that of a prefix of its
 *   history, as when the stream is part way through it), and its shortfall repaid once, in its
 *   last piece, from its last earning, as the whole snapshot repays it (even when an apply
 *   interrupted after that earning is applied again: ./snapshot-owed.ts). As one slice it held the
 *   main thread for 0.25-0.3 s per 10,000 entries (bench:snapshot-apply, VILLAGERS=10).
 * - The catalogue and the caller's `last` (the stream's seq and contact) go in a last slice of
 *   their own, the only commit that waits for the disk (the others are lazy, inLazyTransaction:
 *   its FULL commit makes them durable too). A snapshot interrupted after some slices (the
 *   process killed, an error, a power cut) leaves the seq where it was: the store asks again (for
 *   a snapshot: the caller's `first` marks the apply under way in the first slice, its `last`
 *   clears the mark), and applying it again skips the entries already present.
 * - Between slices anything may happen at the store (a sale), as between two stream events: each
 *   slice reads the balances it moves and the statuses changed here in its own transaction.
 */
import { performance } from 'node:perf_hooks';
import { cachedStatement, inLazyTransaction, inTransaction, type Db } from './db.ts';
import type { LedgerRules } from './entries.ts';
import { applyCatalogue } from './products.ts';
import { checkSnapshotEntry, repayFrom, unknownVillager, writeEntries, writeVillagers, type Snapshot, type SnapshotApplied, type SnapshotEntry, type SnapshotVillager } from './snapshot.ts';
import { noteOwedRepayment, takeOwedRepayment } from './snapshot-owed.ts';
import { checkVillagerId } from './villagers.ts';
import { pendingStatusChanges } from './village-status.ts';
import { iso, systemClock, type Clock } from './time.ts';

/** Rows (entries and villagers) of a slice; a snapshot of at most this many is applied whole, at once. */
export const SNAPSHOT_SLICE_ROWS = 2000;
/** Work in one turn, validating or writing, before the event loop gets its turn. */
export const SNAPSHOT_SLICE_MS = 20;
/** Entries of a villager cut across slices written between two looks at the clock. */
const PIECE = 256;

export interface SliceOptions {
  clock?: Clock;
  /** When the ledger published it (applySnapshot's `villageAt`). */
  villageAt?: string;
  sliceRows?: number;
  sliceMs?: number;
  /**
   * Waits for the next turn of the event loop; called before each slice of validation and of
   * writing (default: setImmediate). A rejection stops the apply there, as a crash would.
   */
  turn?: () => Promise<void>;
  /**
   * Run inside the first slice's transaction, before it writes: what says an apply is under way
   * (the store's resync mark, edge/ledger/sync-state.ts), lost with that slice or never apart from it.
   */
  first?: () => void;
  /** Run inside the last slice's transaction: what moves only once the whole snapshot is in. */
  last?: () => void;
  /** Counts the slices committed (written in part when an apply that stopped committed any). */
  progress?: { slices: number };
}

/** Whether a snapshot is small enough to be applied whole (applySnapshot), as one slice. */
export function isSmallSnapshot(snap: Snapshot, sliceRows = SNAPSHOT_SLICE_ROWS): boolean {
  return snap.entries.length + snap.villagers.length <= sliceRows;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function applySnapshotInSlices(db: Db, snap: Snapshot, rules: LedgerRules, opts: SliceOptions = {}): Promise<SnapshotApplied & { slices: number }> {
  const clock = opts.clock ?? systemClock;
  const sliceRows = opts.sliceRows ?? SNAPSHOT_SLICE_ROWS;
  const sliceMs = opts.sliceMs ?? SNAPSHOT_SLICE_MS;
  const turn = opts.turn ?? nextTurn;
  await checkInSlices(db, snap, sliceRows * 4, sliceMs, turn);

  // Whole villagers, in the order the snapshot names them, then those only its entries name.
  const registry = new Map<string, SnapshotVillager[]>();
  for (const v of snap.villagers) (registry.get(v.id) ?? registry.set(v.id, []).get(v.id)!).push(v);
  const entries = new Map<string, SnapshotEntry[]>();
  for (const e of snap.entries) (entries.get(e.villager) ?? entries.set(e.villager, []).get(e.villager)!).push(e);
  const ids = [...new Set([...registry.keys(), ...entries.keys()])];

  const done = { villagers: snap.villagers.length, applied: 0, duplicates: 0, debtRepaid: 0, products: 0, slices: 0 };
  let i = 0;
  /** The villager `ids[i]` while it is cut across slices: its next entry, and its last earning applied so far. */
  let cut: { from: number; earning?: string } | undefined;
  while (i < ids.length) {
    await turn();
    // Committed without waiting for the disk (inLazyTransaction): a slice lost to a power cut is
    // applied again, since the seq moves only in the last slice, whose commit makes it durable.
    inLazyTransaction(db, 'applying a slice of a ledger snapshot', () => {
      const started = performance.now();
      if (done.slices === 0) opts.first?.();
      const at = iso(clock);
      const changedHere = snap.villagers.length > 0 ? pendingStatusChanges(db) : new Map<string, never>();
      let rows = 0;
      while (i < ids.length && (rows === 0 || performance.now() - started < sliceMs)) {
        const id = ids[i]!;
        const vs = registry.get(id) ?? [];
        const es = entries.get(id) ?? [];
        if (!cut && vs.length + es.length <= sliceRows) {
          // A whole villager, when it fits in what is left of the slice; else it starts the next one.
          if (rows + vs.length + es.length > sliceRows) break;
          writeVillagers(db, vs, at, opts.villageAt, changedHere);
          const r = writeEntries(db, es, rules, at);
          count(done, r);
          rows += vs.length + es.length;
          i++;
          continue;
        }
        // More rows than a slice holds: the registry rows, then the entries in pieces, in their order.
        if (!cut) {
          if (rows > 0 && rows + vs.length >= sliceRows) break;
          writeVillagers(db, vs, at, opts.villageAt, changedHere);
          rows += vs.length;
          cut = { from: 0 };
        }
        const room = Math.min(sliceRows - rows, PIECE);
        if (room <= 0) break;
        const piece = es.slice(cut.from, cut.from + room);
        const r = writeEntries(db, piece, rules, at, false);
        count(done, r);
        cut.earning = r.lastEarning.get(id) ?? cut.earning;
        cut.from += piece.length;
        rows += piece.length;
        if (cut.from < es.length) {
          // Not its last piece: an earning written here repays at the end, even if this apply is
          // interrupted before it and applied again, writing no earning then (./snapshot-owed.ts).
          // The record names the last of the rest this store does not hold: one it holds (its own
          // sale, back in the snapshot) never comes again by the stream, which would leave the
          // record waiting. When the store holds all the rest, the history is whole here: repaid now.
          if (cut.earning === undefined) continue;
          const last = lastNotHeld(db, es, cut.from);
          if (last !== undefined) {
            if (r.lastEarning.has(id)) noteOwedRepayment(db, id, cut.earning, last);
            continue;
          }
          const earning = takeOwedRepayment(db, id, cut.earning, rules);
          if (earning !== undefined && repayFrom(db, id, earning, rules, at)) done.debtRepaid++;
          continue;
        }
        // Its last piece: the shortfall repaid once, from the last earning written (by this apply,
        // or by one interrupted after it), as the whole snapshot repays it.
        const earning = takeOwedRepayment(db, id, cut.earning, rules);
        if (earning !== undefined && repayFrom(db, id, earning, rules, at)) done.debtRepaid++;
        cut = undefined;
        i++;
      }
    });
    done.slices++;
    if (opts.progress) opts.progress.slices++;
  }
  await turn();
  inTransaction(db, 'applying the last slice of a ledger snapshot', () => {
    done.products = snap.products ? applyCatalogue(db, snap.products) : 0;
    opts.last?.();
  });
  done.slices++;
  return done;
}

/** The id of the last of `es` from `from` on that this store does not hold, looked for from the end (the store's own entries, if any, are there). */
function lastNotHeld(db: Db, es: SnapshotEntry[], from: number): string | undefined {
  const held = cachedStatement(db, 'SELECT 1 FROM entries WHERE id = ?').pluck();
  for (let k = es.length - 1; k >= from; k--) if (held.get(es[k]!.id) === undefined) return es[k]!.id;
  return undefined;
}

function count(done: { applied: number; duplicates: number; debtRepaid: number }, r: { applied: number; duplicates: number; debtRepaid: number }): void {
  done.applied += r.applied;
  done.duplicates += r.duplicates;
  done.debtRepaid += r.debtRepaid;
}

/** Everything applySnapshot checks before it writes, a turn of the event loop at a time. */
async function checkInSlices(db: Db, snap: Snapshot, chunk: number, sliceMs: number, turn: () => Promise<void>): Promise<void> {
  const named = new Set<string>();
  for (const v of snap.villagers) {
    checkVillagerId(v.id);
    named.add(v.id);
  }
  // The villagers the entries name outside the snapshot's list must be here already.
  const elsewhere = new Map<string, string>();
  let started = performance.now();
  let from = 0;
  for (let i = 0; i < snap.entries.length; i++) {
    if (i % 256 === 0 && (i - from >= chunk || performance.now() - started >= sliceMs)) {
      await turn();
      started = performance.now();
      from = i;
    }
    const e = snap.entries[i]!;
    checkSnapshotEntry(e, i);
    if (!named.has(e.villager) && !elsewhere.has(e.villager)) elsewhere.set(e.villager, e.id);
  }
  if (elsewhere.size === 0) return;
  await turn();
  const unknown = cachedStatement(db, 'SELECT value FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM villagers WHERE id = value) LIMIT 1').pluck().get(JSON.stringify([...elsewhere.keys()])) as string | undefined;
  if (unknown !== undefined) throw unknownVillager(elsewhere.get(unknown)!, unknown);
}
