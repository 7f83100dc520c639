/**
 * One event of the village stream applied to the store's ledger, in one transaction with the new
 * inbound seq: the InboundStream (./inbound.ts) decides when (its seq is exactly the next).
 */
import { inLazyTransaction, inTransaction } from '../../edge/ledger/db.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { applyCatalogue } from '../../edge/ledger/products.ts';
import { applyVillageCommand } from '../../edge/ledger/village-status.ts';
import { inboundSeq, noteResyncWanted, setInboundSeq, touchContact, type ResyncWhy } from '../../edge/ledger/sync-state.ts';
import { iso } from '../../edge/ledger/time.ts';
import { isEdgeError } from '../../edge/errors.ts';
import type { CommandBody, EntriesBody, EntryBody, Envelope, ProductBody, VillagerBody } from '../protocol/payloads.ts';
import { changesNothing } from './inbound-checks.ts';
import type { InboundDeps, InboundOutcome } from './inbound-types.ts';

/** Apply one event of the stream; its seq is exactly the next. */
export function applyStreamEvent(deps: InboundDeps, e: Envelope): InboundOutcome {
  const db = deps.db();
  const { clock, rules, address } = deps;
  try {
    // The store's own entries coming back on the stream change nothing here but the seq and
    // the contact, which a power cut may lose at no cost (the stream is asked for again).
    // Their entries are not looked up a second time by applySnapshot: every id is held, and
    // applying by id would skip each one (bench:sync, where every event comes back to its store).
    const nothingNew = changesNothing(db, e);
    (nothingNew ? inLazyTransaction : inTransaction)(db, `applying ${e.kind} ${e.id}`, () => {
      if (!nothingNew) switch (e.kind) {
        case 'entry':
          // A one-entry snapshot: idempotent by id, authoritative (no credit floor), repays debt.
          applySnapshot(db, { villagers: [], entries: [e.body as EntryBody] }, rules, clock);
          break;
        case 'entries':
          applySnapshot(db, { villagers: [], entries: (e.body as EntriesBody).entries }, rules, clock);
          break;
        case 'villager':
          // Ordered by the village's time against a status changed here (edge/ledger/village-status.ts).
          applySnapshot(db, { villagers: [e.body as VillagerBody], entries: [] }, rules, clock, e.issued_at);
          break;
        case 'product': {
          const p = e.body as ProductBody;
          // The snapshot's rule, latest by time (applyCatalogue), so a store ends with the same
          // price whichever way it caught up: stamped with the village's time of publishing (the
          // instant the ledger records, which a snapshot's catalogue carries), a price the
          // maintainer set here since stands. Applied without the store's weighing limits:
          // refusing would stop the stream here for good, and binding a slot to a product too
          // light to count is refused (checkWeighable). The village's product, not the store's
          // own: no outbox row, not sent back up.
          applyCatalogue(db, [{ ...p, updated_at: e.issued_at }]);
          break;
        }
        case 'command': {
          const c = e.body as CommandBody;
          if (c.store !== undefined && c.store !== address.store) break;
          // Wanted with the command's seq, in its transaction: a store killed before the snapshot
          // came asks for it again once started (deltas would bring it level without it).
          if (c.command === 'resync') noteResyncWanted(db, e.seq, 'command');
          // The village's decision at the time it made it (the event's issued_at), not a new
          // decision of this store: nothing is sent back up (edge/ledger/village-status.ts).
          if ((c.command === 'block' || c.command === 'unblock') && c.villager) {
            const r = applyVillageCommand(db, c.villager, c.command === 'block' ? 'blocked' : 'active', e.issued_at, iso(clock));
            // A command for a villager who left is not applied (they stay left); the stream goes
            // on, and the refusal is counted so that someone looks.
            if (r === 'left') deps.refusals.add('invalid');
          }
          break;
        }
        case 'rows':
        case 'snapshot':
        case 'board':
          break; // refused by checkBody before we get here
      }
      setInboundSeq(db, e.seq);
      if (deps.heard?.() ?? true) touchContact(db, iso(clock));
    });
  } catch (err) {
    if (!isEdgeError(err)) throw err;
    // A well-signed event this ledger cannot apply (an unknown villager): the stream stops
    // here and a snapshot brings the store level again.
    wantResync(deps, 'unappliable');
    deps.refusals.add('invalid');
    return { kind: 'refused', reason: 'invalid', why: err.message };
  }
  if (e.kind === 'command' && (e.body as { command: string; store?: string }).command === 'resync') {
    const target = (e.body as { store?: string }).store;
    if (target === undefined || target === address.store) deps.onResyncWanted();
  }
  return { kind: 'applied', seq: e.seq };
}

/**
 * The store wants the village whole (`why`), since its seq now: marked in a transaction of its own
 * (kept across a restart, edge/ledger/sync-state.ts), then asked for.
 */
export function wantResync(deps: InboundDeps, why: ResyncWhy): void {
  const db = deps.db();
  inTransaction(db, 'noting that a resync is wanted', () => noteResyncWanted(db, inboundSeq(db), why));
  deps.onResyncWanted();
}
