/**
 * The store's receiving side of the village stream and its own `down/snapshot`: every message
 * is checked (schema, signature, expiry, sequence) before it touches the ledger, and applied
 * through the ledger's functions, idempotently by entry id, in one transaction with the new
 * inbound seq. Never throws on a bad message: it is refused and counted.
 *
 * A large snapshot (more than SNAPSHOT_SLICE_ROWS rows) is applied in slices (of whole villagers,
 * one with more entries than a slice cut across several), a turn of the event loop each
 * (edge/ledger/snapshot-slices.ts): `receive` answers `applying`
 * at once, and the outcome (`snapshot`, or the refusal, and the events released after it) comes
 * later through `deps.later`. Meanwhile stream events past the store's seq are held, as for a
 * gap, and released in order once it is in; the newest snapshot arriving meanwhile waits for it
 * and is applied after it, and any other (or a part of one) is dropped and counted, or refused
 * as a replay when the store did not ask (docs/sync-stream.md, "Applied in slices").
 */
import { inLazyTransaction, inTransaction } from '../../edge/ledger/db.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { applySnapshotInSlices, isSmallSnapshot } from '../../edge/ledger/snapshot-slices.ts';
import { clearResyncWanted, inboundSeq, noteResyncWanted, setInboundSeq, touchContact } from '../../edge/ledger/sync-state.ts';
import { iso } from '../../edge/ledger/time.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { checkers, decode, type Envelope, type RefusalReason, type SnapshotBody } from '../protocol/payloads.ts';
import { changesNothing, checkBody } from './inbound-checks.ts';
import { checkEnvelope, classifySeq } from '../protocol/sign.ts';
import { SnapshotParts } from './snapshot-parts.ts';
import { applyStreamEvent, wantResync } from './apply-event.ts';
import type { InboundDeps, InboundOutcome } from './inbound-types.ts';

export type { InboundDeps, InboundOutcome } from './inbound-types.ts';

/** The apply of a snapshot in slices was stopped (stop(), or another ledger file): nothing to report. */
class Stopped extends Error {}

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
  /** The snapshot being applied in slices, and a newer one waiting for it. */
  private applying: { seq: number; next?: Envelope; done: Promise<void> } | undefined;
  /** Snapshots dropped while one is applied: the highest seq, how many, and the sets of parts seen. */
  private dropped = { upTo: 0, count: 0, sets: new Set<string>() };
  private stopped = false;

  constructor(private readonly deps: InboundDeps) {}

  get heldCount(): number {
    return this.held.size;
  }

  /** Whether a snapshot is being applied in slices. */
  get applyingSnapshot(): boolean {
    return this.applying !== undefined;
  }

  /** Resolves once no snapshot is being applied in slices (its outcome reported). */
  async idle(): Promise<void> {
    while (this.applying) await this.applying.done;
  }

  /** Stops a snapshot being applied in slices before its next slice (the agent stops): its seq did not move, so it is asked again. */
  stop(): void {
    this.stopped = true;
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
    // commit is lazy like the stream's (docs/sync-outbox.md): SQLite cannot change how a
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
      const part = (e.body as SnapshotBody).part;
      if (!part) return this.applySnapshotEnvelope(e);
      // A part of a snapshot that the one being applied (or the one waiting for it) holds all of
      // is not gathered: the whole would be dropped, and it would push out a set still coming.
      const reach = this.applying ? Math.max(this.applying.seq, this.applying.next?.seq ?? 0) : 0;
      if (e.seq <= reach) return [this.drop(e.seq, `part ${part.index} of ${part.count} of snapshot ${part.of} at ${e.seq}: the one at ${reach} is being applied`, part.of)];
      const r = this.parts.add(e);
      if (r.kind === 'invalid') return [this.refuse('invalid', r.why)];
      // A second copy of a part (a redelivery) is as harmless as the first: the whole is checked once.
      if (r.kind === 'held') return [{ kind: 'part', seq: e.seq }];
      return this.applySnapshotEnvelope(r.envelope);
    }
    const last = inboundSeq(this.deps.db());
    if (this.applying && e.seq > last) return [this.holdWhileApplying(e, this.applying.seq)];
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
        if (from === 'events' && (e.kind === 'entry' || e.kind === 'entries') && !changesNothing(this.deps.db(), e)) wantResync(this.deps, 'fork');
        return [this.refuse('replayed', `seq ${e.seq} ≤ ${last}`)];
      }
      case 'gap':
        if (this.held.size < MAX_HELD) this.held.set(e.seq, e);
        return [{ kind: 'gap', seq: e.seq, expected: last + 1 }];
      case 'next':
        return [applyStreamEvent(this.deps, e), ...this.releaseHeld()];
    }
  }

  private refuse(reason: RefusalReason, why: string): InboundOutcome {
    this.deps.refusals.add(reason);
    return { kind: 'refused', reason, why };
  }

  /**
   * A stream event while the snapshot at `seq` is being applied: held like one after a gap, and
   * released in order (or dropped, when the snapshot holds it) once it is in. One past the
   * snapshot's next seq is a gap all the same, which asks for the missing events.
   */
  private holdWhileApplying(e: Envelope, seq: number): InboundOutcome {
    if (this.held.size < MAX_HELD) this.held.set(e.seq, e);
    if (e.seq > seq + 1) return { kind: 'gap', seq: e.seq, expected: seq + 1 };
    return { kind: 'held', seq: e.seq, why: `held while the snapshot at ${seq} is being applied` };
  }

  private applySnapshotEnvelope(e: Envelope): InboundOutcome[] {
    const a = this.applying;
    if (a) {
      // Never two at once, nor one twice: the newest waits for this one; a copy or an older one
      // is dropped (counted) while the store has asked, else refused as a replay.
      const why = `snapshot at ${e.seq}: the one at ${a.seq} is being applied`;
      if (e.seq <= a.seq && !this.deps.snapshotPending()) return [this.refuse('replayed', why)];
      if (e.seq <= (a.next?.seq ?? a.seq)) return [this.drop(e.seq, a.next ? `snapshot at ${e.seq}: the one at ${a.next.seq} waits to be applied` : why)];
      const out: InboundOutcome[] = [{ kind: 'held', seq: e.seq, why: `snapshot at ${e.seq} waits for the one at ${a.seq} being applied` }];
      if (a.next) out.push(this.drop(a.next.seq, `snapshot at ${a.next.seq}: pushed out by the one at ${e.seq}`));
      a.next = e;
      return out;
    }
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
    const sliceRows = this.deps.slices?.rows;
    if (!isSmallSnapshot(body, sliceRows)) {
      // Never rejects: what goes wrong after the slices (an event held that cannot apply) is reported as failed.
      const done = this.applyInSlices(e, before).catch((err: unknown) => {
        this.applying = undefined;
        this.deps.later?.([{ kind: 'failed', seq: e.seq, why: (err as Error).message }]);
        this.settleDropped();
      });
      this.applying = { seq: e.seq, done };
      return [{ kind: 'applying', seq: e.seq, entries: body.entries.length }];
    }
    try {
      const r = inTransaction(db, 'applying a ledger snapshot', () => {
        const res = applySnapshot(db, body, this.deps.rules, this.deps.clock, e.issued_at);
        setInboundSeq(db, e.seq);
        clearResyncWanted(db);
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

  /**
   * The snapshot `e` in slices; the store's seq (`before`) moves to its seq in the last slice.
   * Reports through `deps.later`, then applies what waited for it.
   */
  private async applyInSlices(e: Envelope, before: number): Promise<void> {
    const db = this.deps.db();
    const { clock, slices } = this.deps;
    const wait = slices?.turn ?? ((): Promise<void> => new Promise((resolve) => setImmediate(resolve)));
    const progress = { slices: 0 };
    let out: InboundOutcome[];
    await wait(); // `receive` returns first: the caller hears `applying` before the outcome
    try {
      const r = await applySnapshotInSlices(db, e.body as SnapshotBody, this.deps.rules, {
        clock, villageAt: e.issued_at, sliceRows: slices?.rows, sliceMs: slices?.ms, progress,
        turn: async () => {
          await wait();
          if (this.stopped || !db.open || this.deps.db() !== db) throw new Stopped();
        },
        // Until its last slice is in, the store wants the village whole, killed or not: deltas
        // after a restart would not bring what it was missing below its seq (edge/ledger/sync-state.ts).
        // For a snapshot that only fills a gap deltas would do as well, but the ledger would answer
        // that gap with a snapshot again: the reasons it sent one (too many events missing, one
        // expiring, seqs without events) only grow while the seq stands, so the mark costs no
        // snapshot more and asks at once when connected (docs/sync-stream.md, "Applied in slices").
        first: () => noteResyncWanted(db, e.seq, 'partial-snapshot'),
        last: () => {
          setInboundSeq(db, e.seq);
          clearResyncWanted(db);
          if (this.deps.heard?.() ?? true) touchContact(db, iso(clock));
        },
      });
      if (e.seq > before) this.covered = { from: Math.max(before, e.seq - MAX_HELD), to: e.seq, seen: new Set() };
      out = [{ kind: 'snapshot', seq: e.seq, applied: r.applied }];
    } catch (err) {
      if (err instanceof Stopped) {
        this.applying = undefined;
        this.dropped = { upTo: 0, count: 0, sets: new Set() }; // the seq did not move: asked again once started
        return;
      }
      out = [isEdgeError(err) ? this.refuse('invalid', err.message) : { kind: 'failed', seq: e.seq, why: (err as Error).message }];
    }
    const next = this.applying?.next;
    this.applying = undefined;
    // Stopped after some slices (a refusal comes before the first): the seq did not move, and the
    // snapshot asked again ends level; the events held wait for it, not for half of this one.
    if (out[0]!.kind === 'snapshot' || progress.slices === 0) out.push(...this.releaseHeld());
    else this.deps.onResyncWanted();
    if (next) out.push(...this.applySnapshotEnvelope(next));
    this.deps.later?.(out);
    if (!this.applying) this.settleDropped();
  }

  /** A snapshot (or a part of one) dropped while one is applied, which that one holds all of. */
  private drop(seq: number, why: string, set?: string): InboundOutcome {
    const d = this.dropped;
    d.upTo = Math.max(d.upTo, seq);
    const answers = this.deps.snapshotPending() && (set === undefined || !d.sets.has(set));
    if (set !== undefined && d.sets.size < 256) d.sets.add(set);
    return { kind: 'dropped', seq, why, answers, first: d.count++ === 0 };
  }

  /**
   * The applies are over (and their outcomes told, so that a `snapshot` does not end the wait
   * after this): whatever was dropped meanwhile is here now, or the store asks for it again
   * (the snapshot it was dropped for was refused, or failed).
   */
  private settleDropped(): void {
    const { upTo } = this.dropped;
    this.dropped = { upTo: 0, count: 0, sets: new Set() };
    if (upTo > inboundSeq(this.deps.db())) this.deps.onResyncWanted();
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
      const r = applyStreamEvent(this.deps, next);
      out.push(r);
      if (r.kind !== 'applied') return out;
    }
  }
}
