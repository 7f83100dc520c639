/**
 * The store's receiving side of the village stream and its own `down/snapshot`: every message
 * is checked (schema, signature, expiry, sequence) before it touches the ledger, and applied
 * through the ledger's functions, idempotently by entry id, in one transaction with the new
 * inbound seq. Never throws on a bad message: it is refused and counted.
 */
import { cachedStatement, inLazyTransaction, inTransaction, type Db } from '../../edge/ledger/db.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { applyCatalogue } from '../../edge/ledger/products.ts';
import { applyVillageCommand } from '../../edge/ledger/village-status.ts';
import { inboundSeq, setInboundSeq, touchContact } from '../../edge/ledger/sync-state.ts';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { iso, type Clock } from '../../edge/ledger/time.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { checkers, decode, type CommandBody, type EntriesBody, type EntryBody, type Envelope, type ProductBody, type RefusalReason, type SnapshotBody, type VillagerBody } from '../protocol/payloads.ts';
import { checkEnvelope, classifySeq, type KeyRing } from '../protocol/sign.ts';
import type { StoreAddress } from '../protocol/topics.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';
import { SnapshotParts } from './snapshot-parts.ts';

export type InboundOutcome =
  | { kind: 'applied'; seq: number }
  | { kind: 'snapshot'; seq: number; applied: number }
  /** A part of a snapshot sent in parts, held until the rest arrive (./snapshot-parts.ts). */
  | { kind: 'part'; seq: number }
  | { kind: 'refused'; reason: RefusalReason; why: string }
  /**
   * Already here, and not hostile: the answer to our own snapshot request overtaken by the
   * stream, or the first copy of a stream event that was in flight while the snapshot that
   * already holds it was built. Dropped without being counted as a refusal.
   */
  | { kind: 'overlap'; seq: number; why: string }
  /** Ahead of the stream: held until the snapshot (or the missing events) arrive. */
  | { kind: 'gap'; seq: number; expected: number };

export interface InboundDeps {
  db: () => Db;
  address: StoreAddress;
  keys: () => KeyRing;
  rules: LedgerRules;
  clock: Clock;
  skewMs: number;
  refusals: RefusalCounter;
  /** A `resync` command or a failed apply: the agent asks for a snapshot. */
  onResyncWanted: () => void;
  /**
   * Whether an answer to the store's own request may still be on its way: it is waiting for
   * one, or an earlier request is not answered yet (cloud-sync/agent/asked.ts).
   */
  snapshotPending: () => boolean;
  /** Told of each event refused as issued in the future, and of each whose time is accepted (./clock-skew.ts). */
  clockSkew?: { fromFuture(issuedAt: string, now: string): void; accepted(): void };
  /**
   * Whether the ledger has answered since the reconnect (./heartbeats.ts): only then is what
   * the stream brings contact. Before, it may have waited in the broker session for hours,
   * from a ledger gone since. Absent: always.
   */
  heard?: () => boolean;
}

/** Events further ahead than this are dropped, not held: the snapshot brings them anyway. */
const MAX_HELD = 10_000;

export class InboundStream {
  private readonly held = new Map<number, Envelope>();
  /**
   * The stream events the last snapshot jumped over (from its old seq to its own); the first
   * copy of each that still arrives is an overlap, a second copy is a replay.
   */
  private covered: { from: number; to: number; seen: Set<number> } | undefined;
  private readonly parts = new SnapshotParts();

  constructor(private readonly deps: InboundDeps) {}

  get heldCount(): number {
    return this.held.size;
  }

  /** A message from the village stream (`down/events`) or `down/snapshot`; returns what became of it. */
  receive(payload: Buffer, from: 'events' | 'snapshot'): InboundOutcome[] {
    const env = decode(payload, checkers.envelope);
    if (!env.ok) return [this.refuse('invalid', env.why)];
    return this.receiveEnvelope(env.value, from);
  }

  /**
   * A `down/deltas` answer: its events, each checked and applied like a stream event. `toSeq`
   * is where the answer brings the store (undefined when the message itself is refused);
   * `complete` when this is the answer's last message (its last event is at `to_seq`).
   */
  receiveDeltas(payload: Buffer): { outcomes: InboundOutcome[]; toSeq?: number; complete: boolean } {
    const d = decode(payload, checkers.deltas);
    if (!d.ok) return { outcomes: [this.refuse('invalid', d.why)], complete: false };
    const outcomes: InboundOutcome[] = [];
    // One commit for the whole answer, not one per event: each commit waits for the disk, and a
    // store catching up takes hundreds of events. Each event still applies on its own (a
    // savepoint inside this transaction): one that cannot apply is refused and rolled back
    // alone, and the inbound seq moves with each event applied. When nothing it may apply is new
    // here (the store's own entries coming back, the usual answer after a broker restart), that
    // commit is lazy like the stream's (docs/sync-protocol.md): SQLite cannot change how a
    // commit waits once its transaction is open, so this is decided before, over the answer's
    // events and the stream events held for a gap, which an event of the answer may release.
    const db = this.deps.db();
    const nothingNew = d.value.events.every((ev) => changesNothing(db, ev)) && [...this.held.values()].every((ev) => changesNothing(db, ev));
    (nothingNew ? inLazyTransaction : inTransaction)(db, 'applying the ledger\'s deltas', () => {
      for (const ev of d.value.events) {
        if (!checkers.envelope.Check(ev)) outcomes.push(this.refuse('invalid', 'a deltas event is not an envelope'));
        else outcomes.push(...this.receiveEnvelope(ev, 'deltas'));
      }
    });
    const tail = d.value.events.at(-1);
    const complete = tail === undefined || (checkers.envelope.Check(tail) && tail.seq >= d.value.to_seq);
    return { outcomes, toSeq: d.value.to_seq, complete };
  }

  private receiveEnvelope(e: Envelope, from: 'events' | 'snapshot' | 'deltas'): InboundOutcome[] {
    const now = this.deps.clock().getTime();
    const bad = checkEnvelope(e, this.deps.keys(), now, this.deps.skewMs);
    // Well signed but from the future: this store's clock may be slow (it then reads no stream).
    if (bad === 'invalid' && Date.parse(e.issued_at) > now + this.deps.skewMs) this.deps.clockSkew?.fromFuture(e.issued_at, new Date(now).toISOString());
    else if (!bad) this.deps.clockSkew?.accepted();
    if (bad) return [this.refuse(bad, `${e.kind} ${e.id}`)];
    if (e.village !== this.deps.address.village) return [this.refuse('invalid', `for village ${e.village}`)];
    const bodyWhy = checkBody(e, from === 'snapshot' ? 'snapshot' : 'events');
    if (bodyWhy) return [this.refuse('invalid', bodyWhy)];
    if (from === 'snapshot') {
      if (e.store !== this.deps.address.store) return [this.refuse('invalid', `snapshot for store ${String(e.store)}`)];
      if (!(e.body as SnapshotBody).part) return this.applySnapshotEnvelope(e);
      const r = this.parts.add(e);
      if (r.kind === 'invalid') return [this.refuse('invalid', r.why)];
      // A second copy of a part (a redelivery) is as harmless as the first: the whole is checked once.
      if (r.kind === 'held') return [{ kind: 'part', seq: e.seq }];
      return this.applySnapshotEnvelope(r.envelope);
    }
    const last = inboundSeq(this.deps.db());
    switch (classifySeq(last, e.seq)) {
      case 'replayed': {
        // The answer to our own request, overtaken by the stream it repeats.
        if (from === 'deltas' && this.deps.snapshotPending()) return [{ kind: 'overlap', seq: e.seq, why: `seq ${e.seq} ≤ ${last} came back in deltas` }];
        const c = this.covered;
        if (c && e.seq > c.from && e.seq <= c.to && !c.seen.has(e.seq)) {
          c.seen.add(e.seq);
          return [{ kind: 'overlap', seq: e.seq, why: `seq ${e.seq} is in the snapshot at ${c.to}` }];
        }
        // A signed entry event at a seq applied here, with an entry this store does not hold, is
        // no copy of what it applied: the ledger's stream forked (restored from an older backup,
        // it hands out seqs again). Refused all the same; the store asks for the village as it is.
        if (from === 'events' && (e.kind === 'entry' || e.kind === 'entries') && !changesNothing(this.deps.db(), e)) this.deps.onResyncWanted();
        return [this.refuse('replayed', `seq ${e.seq} ≤ ${last}`)];
      }
      case 'gap':
        if (this.held.size < MAX_HELD) this.held.set(e.seq, e);
        return [{ kind: 'gap', seq: e.seq, expected: last + 1 }];
      case 'next':
        return [this.apply(e), ...this.releaseHeld()];
    }
  }

  private refuse(reason: RefusalReason, why: string): InboundOutcome {
    this.deps.refusals.add(reason);
    return { kind: 'refused', reason, why };
  }

  private applySnapshotEnvelope(e: Envelope): InboundOutcome[] {
    const db = this.deps.db();
    const before = inboundSeq(db);
    // A snapshot brings nothing new at or below the store's seq: only the answer to the
    // store's own request is applied there (at its seq: a resync of a store that is level).
    // Anything else is a copy published again, which would undo what the store did since (a
    // block) and count as contact.
    const asked = e.seq <= before && this.deps.snapshotPending();
    if (e.seq < before || (e.seq === before && !asked)) {
      const why = `snapshot at ${e.seq} is not newer than ${before}`;
      // The answer to our own request, built before stream events we have since applied.
      if (asked) return [{ kind: 'overlap', seq: e.seq, why }];
      return [this.refuse('replayed', why)];
    }
    const body = e.body as SnapshotBody;
    try {
      const r = inTransaction(db, 'applying a ledger snapshot', () => {
        const res = applySnapshot(db, body, this.deps.rules, this.deps.clock, e.issued_at);
        setInboundSeq(db, e.seq);
        if (this.deps.heard?.() ?? true) touchContact(db, iso(this.deps.clock));
        return res;
      });
      // Bounded: a store a day offline jumps thousands of events, but only the ones still in
      // flight can arrive, and past the bound an old copy is simply counted as replayed.
      if (e.seq > before) this.covered = { from: Math.max(before, e.seq - MAX_HELD), to: e.seq, seen: new Set() };
      return [{ kind: 'snapshot', seq: e.seq, applied: r.applied }, ...this.releaseHeld()];
    } catch (err) {
      if (!isEdgeError(err)) throw err;
      return [this.refuse('invalid', err.message)];
    }
  }

  /** Apply one event of the stream; its seq is exactly the next. */
  private apply(e: Envelope): InboundOutcome {
    const db = this.deps.db();
    const { clock, rules, address } = this.deps;
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
            // The village's decision at the time it made it (the event's issued_at), not a new
            // decision of this store: nothing is sent back up (edge/ledger/village-status.ts).
            if ((c.command === 'block' || c.command === 'unblock') && c.villager) {
              const r = applyVillageCommand(db, c.villager, c.command === 'block' ? 'blocked' : 'active', e.issued_at, iso(clock));
              // A command for a villager who left is not applied (they stay left); the stream goes
              // on, and the refusal is counted so that someone looks.
              if (r === 'left') this.deps.refusals.add('invalid');
            }
            break;
          }
          case 'rows':
          case 'snapshot':
          case 'board':
            break; // refused by checkBody before we get here
        }
        setInboundSeq(db, e.seq);
        if (this.deps.heard?.() ?? true) touchContact(db, iso(clock));
      });
    } catch (err) {
      if (!isEdgeError(err)) throw err;
      // A well-signed event this ledger cannot apply (an unknown villager): the stream stops
      // here and a snapshot brings the store level again.
      this.deps.onResyncWanted();
      return this.refuse('invalid', err.message);
    }
    if (e.kind === 'command' && (e.body as { command: string; store?: string }).command === 'resync') {
      const target = (e.body as { store?: string }).store;
      if (target === undefined || target === address.store) this.deps.onResyncWanted();
    }
    return { kind: 'applied', seq: e.seq };
  }

  private releaseHeld(): InboundOutcome[] {
    const out: InboundOutcome[] = [];
    const db = this.deps.db();
    for (;;) {
      const last = inboundSeq(db);
      for (const seq of this.held.keys()) if (seq <= last) this.held.delete(seq);
      const next = this.held.get(last + 1);
      if (!next) return out;
      this.held.delete(last + 1);
      const r = this.apply(next);
      out.push(r);
      if (r.kind !== 'applied') return out;
    }
  }
}

/** The body against the schema of its kind; where each kind may arrive. */
function checkBody(e: Envelope, from: 'events' | 'snapshot'): string | undefined {
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
function changesNothing(db: Db, ev: unknown): boolean {
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
