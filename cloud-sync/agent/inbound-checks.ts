/**
 * What the store's InboundStream (./inbound.ts) checks of a message before applying it: the body
 * against its kind's schema and where it arrived, and whether it could change anything here.
 */
import { cachedStatement, type Db } from '../../edge/ledger/db.ts';
import { checkers, type EntriesBody, type EntryBody, type Envelope } from '../protocol/payloads.ts';

/** The body against the schema of its kind; where each kind may arrive. */
export function checkBody(e: Envelope, from: 'events' | 'snapshot'): string | undefined {
  const expectSnapshot = from === 'snapshot';
  // A board has its own topic and its own order (cloud-sync/agent/board.ts), never the stream's.
  if ((e.kind === 'snapshot') !== expectSnapshot || e.kind === 'rows' || e.kind === 'board') return `a ${e.kind} message does not belong on ${from}`;
  const checker = checkers[e.kind];
  if (checker.Check(e.body)) return undefined;
  const first = [...checker.Errors(e.body)][0];
  return `${e.kind} body ${first ? `${first.path || '/'}: ${first.message}` : 'does not match its schema'}`;
}

/**
 * Whether applying `ev` could change nothing here but the inbound seq and the contact: a
 * well-formed `entries` or `entry` event whose every entry the store holds already (by id,
 * and applying by id is then a no-op). Anything else, or anything malformed, may be new.
 */
export function changesNothing(db: Db, ev: unknown): boolean {
  if (!checkers.envelope.Check(ev) || checkBody(ev, 'events') !== undefined) return false;
  if (ev.kind === 'entries') return allHeld(db, (ev.body as EntriesBody).entries);
  if (ev.kind === 'entry') return allHeld(db, [ev.body as EntryBody]);
  return false;
}

/** Whether every one of `entries` is in the store's ledger already (applying them is then a no-op). */
function allHeld(db: Db, entries: readonly EntryBody[]): boolean {
  // One query for the event's ids, not one each: a store reads its own 100-row batches back
  // from the stream (bench:sync). Ids repeated in an event are counted once.
  const ids = [...new Set(entries.map((en) => en.id))];
  const held = cachedStatement(db, 'SELECT COUNT(*) FROM entries WHERE id IN (SELECT value FROM json_each(?))').pluck().get(JSON.stringify(ids)) as number;
  return held === ids.length;
}
