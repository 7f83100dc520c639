/**
 * A store whose ledger file went back in time (`store-edge restore` of an older copy, or a store
 * reinstalled under the same id) hands out outbox seqs the village ledger already holds as
 * other rows: sent under those ids they would be taken for copies and acknowledged unapplied,
 * and a beat's contiguous_seq would mark them acknowledged unsent. The first beat after such a
 * rollback says how far the ledger got: the rows written since move past it.
 */
import { inTransaction, type Db } from '../../edge/ledger/db.ts';
import { highestOutboxSeq, raiseOutboxSeq, renumberPendingOutbox, stillPending } from '../../edge/ledger/outbox.ts';
import { lastContact, outboxRolledBackAt, setOutboxRolledBack } from '../../edge/ledger/sync-state.ts';

export interface Renumbered {
  /** Rows moved (maybe none), and the first seq they now start at (or the next row gets). */
  rows: number;
  from: number;
  /** The seqs the moved rows had: what was in flight under them is gone. */
  old: number[];
}

/**
 * Settle a rollback against a beat's `contiguousSeq`, before anything acts on that seq. A
 * rollback is known by the restore's mark, or seen: the ledger holds more of this store than its
 * outbox ever handed out, or it holds rows of this store at all while this file has never heard
 * from it (`neverHeard`: a store reinstalled under a known id, whose rows written before this
 * first beat may outnumber the ones the ledger holds; the beat would otherwise mark rows up to
 * `contiguousSeq` acknowledged that the ledger holds as other rows). Without a mark every
 * unacknowledged row moves, since which of them the ledger holds is unknown; a row it holds
 * already comes again under a new id, and its entry id keeps it from counting twice. Returns
 * what moved, when a rollback was settled.
 *
 * A beat at or below the mark clears it only when `fresh` (it answers a heartbeat this run sent):
 * the ledger had then handled every row queued before it, the old timeline's too. A greeting or
 * an older beat may come before rows of the old timeline still queued in the ledger's broker
 * session; cleared then, the beat after them would mark the rows written since acknowledged
 * under the seqs those old rows had (`tests/sync/restore-acks.test.ts`).
 */
export function settleRollback(db: Db, contiguousSeq: number, neverHeard = false, fresh = true): Renumbered | undefined {
  const seen = (highest: number) => contiguousSeq > highest || (neverHeard && contiguousSeq > 0);
  // The usual beat: read only, no commit (beats come every few seconds).
  if (outboxRolledBackAt(db) === undefined && !seen(highestOutboxSeq(db))) return undefined;
  return inTransaction(db, 'moving the outbox past the rows the ledger holds', () => {
    const mark = outboxRolledBackAt(db);
    const highest = highestOutboxSeq(db);
    if (mark === undefined && !seen(highest)) return undefined;
    // The ledger got no further than the copy: the seqs written since are new to it (once a fresh beat says so).
    if (mark !== undefined && contiguousSeq <= mark) {
      if (fresh) setOutboxRolledBack(db, undefined);
      return undefined;
    }
    if (mark !== undefined) setOutboxRolledBack(db, undefined);
    const old = renumberPendingOutbox(db, mark ?? 0, contiguousSeq);
    // Rows written later too: nothing to move now, but the next seq must be new to the ledger.
    raiseOutboxSeq(db, contiguousSeq);
    return { rows: old.length, from: highestOutboxSeq(db) - old.length + 1, old };
  });
}

/**
 * The ledger named rows of an ack as clashes (their row ids held with another payload: this
 * file handed those seqs out again, and no beat showed it in time). Those still unacknowledged
 * here, and every unacknowledged row after the first of them not yet sent (their order kept),
 * move past `contiguousSeq` and every seq handed out, to be sent again. Rows sent after them and
 * still in flight (`inFlight`) stay: the ledger handles a store's batches in order and may have
 * applied them already; their own ack says so, or names them clashed in turn. Moved, they would
 * be held twice under two row ids. Returns what moved, if anything.
 */
export function moveClashedRows(db: Db, seqs: readonly number[], contiguousSeq: number, inFlight: ReadonlySet<number> = new Set()): Renumbered | undefined {
  return inTransaction(db, 'moving rows whose seqs the ledger holds as other rows', () => {
    const held = stillPending(db, seqs);
    if (held.length === 0) return undefined;
    const clashed = new Set(held);
    const keep = new Set([...inFlight].filter((s) => !clashed.has(s)));
    const old = renumberPendingOutbox(db, Math.min(...held) - 1, contiguousSeq, keep);
    raiseOutboxSeq(db, contiguousSeq);
    return { rows: old.length, from: highestOutboxSeq(db) - old.length + 1, old };
  });
}

/** Whether rows must wait for a beat: the ledger file was restored and no beat has settled it yet. */
export const rollbackUnsettled = (db: Db): boolean => outboxRolledBackAt(db) !== undefined;

/**
 * Whether rows must wait for a first beat: the ledger file was restored (`restored`, until a
 * beat settles it), or the store has never heard from the ledger and may be a reinstall under a
 * known store id (`new`; sent anyway after `maxWaitMs` without a beat, so that a ledger that
 * never answers heartbeats does not hold a new store's rows for ever).
 */
export class FirstBeat {
  private awaiting: 'restored' | 'new' | undefined;
  /** The file had never heard from the ledger when the agent started, and no beat has come since (for `settleRollback`). */
  neverHeard: boolean;

  constructor(db: Db, private readonly startedAt: number) {
    this.neverHeard = lastContact(db) === undefined;
    this.awaiting = rollbackUnsettled(db) ? 'restored' : this.neverHeard ? 'new' : undefined;
  }

  waiting(now: number, maxWaitMs: number): boolean {
    if (this.awaiting === 'new' && now - this.startedAt >= maxWaitMs) this.awaiting = undefined;
    return this.awaiting !== undefined;
  }

  beat(): void {
    this.awaiting = undefined;
    this.neverHeard = false;
  }
}
