/**
 * When the store asks the village ledger for the stream (`up/snapshot-request`), and when it
 * stops asking: the agent's (cloud-sync/agent/agent.ts) side of catching up, apart from
 * applying what arrives (cloud-sync/agent/inbound.ts).
 *
 * - A new store asks at once. After a reconnect it asks only when the first beat answering a
 *   heartbeat sent since then finds it behind, or when no such beat came within
 *   `retransmit_ms` (the fallback ask): a broker that restarted may have dropped the tail of
 *   the stream, and no later event may come to reveal the gap.
 * - Two beats running that find it behind at the same inbound seq: ask (an event merely in
 *   flight would have arrived in between).
 * - A wanted snapshot is asked for again every `retransmit_ms` until a snapshot brings the store
 *   level, or until a beat answering a heartbeat sent after the ask finds it level with nothing
 *   held (the ledger's stream was not ahead: the ask was a fallback that proved needless; or
 *   deltas brought it level, which prompt that heartbeat at once). Only signed word ends it.
 * - A resync (the ledger's command, a stream that forked, an event that cannot apply, a snapshot
 *   applied in part) is marked in the store's ledger (edge/ledger/sync-state.ts `resyncWanted`)
 *   in the transaction that makes it wanted, and cleared only in the last one of a whole snapshot:
 *   a store killed meanwhile asks for a resync (a snapshot) as soon as it is connected again, not
 *   for a gap, which the ledger answers with deltas that never bring what it lacks below its seq.
 */
import type { Clock } from '../../edge/ledger/time.ts';
import { SNAPSHOT_FEATURES, type SnapshotRequest } from '../protocol/payloads.ts';
import { AskedRequests } from './asked.ts';
import type { InboundOutcome } from './inbound.ts';

export interface CatchUpDeps {
  clock: Clock;
  retransmitMs: number;
  /**
   * How long after a part of a snapshot in parts the rest may still come (`retransmit_max_ms`):
   * a part of 256 KiB takes 1 s at 2 Mbit/s, and asking again meanwhile would have the whole
   * snapshot sent again from the start.
   */
  partWaitMs: number;
  /** How long an answer may still come after its request (cloud-sync/agent/asked.ts). */
  horizonMs: number;
  /** The last seq of the stream applied here. */
  inboundSeq: () => number;
  /** Events held ahead of the stream, waiting for what comes before them. */
  heldCount: () => number;
  /**
   * Whether a snapshot that arrived is being applied in slices (./inbound.ts): the answer is here,
   * so it is not asked for again meanwhile, and the seq it has not moved yet is not "behind".
   */
  applying?: () => boolean;
  /** Sends the request (not awaited: a lost one is asked again). */
  ask: (req: SnapshotRequest) => void;
  /** Sends a heartbeat now: its signed beat says whether deltas really brought us level. */
  check: () => void;
  /**
   * Whether the store's ledger holds a resync mark (edge/ledger/sync-state.ts): a resync wanted
   * before a restart, or not yet answered by a whole snapshot. Absent: never.
   */
  resyncOwed?: () => boolean;
  /** `asked`, `checked` and `dropped` of the agent's counters. */
  counters: { asked: number; checked: number; dropped: number };
}

export class CatchUp {
  /** The inbound seq at which the last beat found us behind the village stream. */
  private behindAt: number | undefined;
  /** When the broker connection came back, until a beat answering a heartbeat sent since then says whether we are behind. */
  private reconnectedAt: number | undefined;
  /** When a snapshot was last asked for while one is wanted; undefined when none is. */
  private askedAt: number | undefined;
  /** Until when the snapshot whose parts are arriving is waited for before asking again. */
  private partsUntil = 0;
  /**
   * Why it is wanted: asked again as a gap, except a resync, which only a snapshot answers (the
   * ledger answers a gap with deltas when it can, and deltas would end the wait).
   */
  private wantedFor: SnapshotRequest['reason'] | undefined;
  /** Answers to the resync being asked that came stale, in a row (askAgainMs). */
  private staleAnswers = 0;
  /** Requests whose answers may still be on their way. */
  private readonly asked: AskedRequests;
  /** The ask for which deltas last prompted a heartbeat: once per ask, however many deltas say "level". */
  private checkedFor: number | undefined;

  constructor(private readonly deps: CatchUpDeps) {
    this.asked = new AskedRequests(deps.horizonMs);
  }

  /** Whether an answer to one of our requests is wanted or may still come (inbound.ts holds events meanwhile). */
  get pending(): boolean {
    return this.askedAt !== undefined || this.asked.owed(this.now());
  }

  /**
   * The broker connection is back: a new store asks now, and so does one that wants a resync (it
   * may have been killed before the snapshot came, or while applying it); the others wait for a
   * beat (or the fallback).
   */
  onConnect(): void {
    if (this.deps.inboundSeq() === 0) {
      this.reconnectedAt = undefined;
      this.want('new');
    } else if (this.deps.resyncOwed?.() && !this.deps.applying?.()) {
      // Not while a snapshot is being applied: its first slice marks a resync (in case the
      // store is killed), and its last clears it; a broker blip meanwhile would ask for another.
      this.reconnectedAt = undefined;
      this.want('resync');
    } else this.reconnectedAt = this.now();
  }

  /** The agent's timer: the fallback ask, and asking again while a snapshot is wanted. */
  tick(): void {
    // No beat answered a heartbeat since the reconnect: the ledger may be away, or our
    // heartbeat lost; the stream's tail may be lost as well, so ask.
    if (this.reconnectedAt !== undefined && this.now() - this.reconnectedAt >= this.deps.retransmitMs) {
      this.reconnectedAt = undefined;
      this.want('gap');
    }
    if (this.deps.applying?.()) return;
    if (this.askedAt !== undefined && this.now() - this.askedAt >= this.askAgainMs() && this.now() >= this.partsUntil) this.ask(this.wantedFor === 'resync' ? 'resync' : 'gap');
  }

  /**
   * A beat with the ledger's `villageSeq`. `heartbeatAt`: when the heartbeat it answers went
   * out, if that was since the last reconnect (undefined for a greeting, or a beat the broker
   * kept for us from before, which may be older than the tail lost while we were away).
   */
  onBeat(villageSeq: number, heartbeatAt: number | undefined): void {
    const inbound = this.deps.inboundSeq();
    // The first beat answering a heartbeat sent since the reconnect settles whether the stream
    // lost its tail while we were away: behind, ask at once.
    const firstSince = this.reconnectedAt !== undefined && heartbeatAt !== undefined;
    if (firstSince) {
      this.reconnectedAt = undefined;
      this.deps.counters.checked++;
    }
    if (villageSeq > inbound) {
      if (this.deps.applying?.()) return;
      if (firstSince || this.behindAt === inbound) this.want('gap');
      this.behindAt = inbound;
      return;
    }
    this.behindAt = undefined;
    // Level by the word of a beat newer than our last ask, with nothing held: a gap we asked
    // about is closed, so stop asking (a late answer is still recognised as one, asked.ts). A
    // resync the ledger commanded, or a new store's first snapshot, is asked until answered.
    if (this.wantedFor === 'gap' && this.askedAt !== undefined && heartbeatAt !== undefined && heartbeatAt >= this.askedAt && this.deps.heldCount() === 0) this.askedAt = undefined;
  }

  /**
   * A `down/deltas` message was applied. Its events are each signed, but the message itself is
   * not: its `to_seq` (where the ledger's stream is) is anyone's word, and an empty one (the
   * ledger's "nothing after your seq") brings no signed event at all. So deltas that say we are
   * level do not end the wait: they prompt a heartbeat now, and the signed beat answering it
   * (onBeat) ends it when it finds us level. A resync wants the whole village (a snapshot).
   */
  onDeltas(complete: boolean, toSeq: number | undefined): void {
    if (complete) this.asked.answered(this.now());
    if (toSeq === undefined || this.deps.inboundSeq() < toSeq || this.askedAt === undefined || this.wantedFor !== 'gap') return;
    // Once per ask: unsigned messages published over and over must not become as many heartbeats
    // (each a write at the ledger); the heartbeat timer and the asks go on meanwhile.
    if (this.checkedFor === this.askedAt) return;
    this.checkedFor = this.askedAt;
    this.deps.check();
  }

  /** What applying a stream event, a snapshot or deltas says about our requests. */
  onOutcome(o: InboundOutcome, from: 'events' | 'snapshot' | 'deltas'): void {
    if (o.kind === 'gap') this.want('gap');
    // A snapshot in parts is arriving: the answer is on its way, so it is not asked for again
    // (and sent again from the start) while its parts keep coming (a large village, a slow line).
    else if (o.kind === 'part') {
      if (this.askedAt !== undefined) this.partsUntil = this.now() + this.deps.partWaitMs;
    } else if (o.kind === 'snapshot') {
      this.askedAt = undefined;
      this.staleAnswers = 0;
      this.partsUntil = 0;
      this.asked.answered(this.now());
      // A resync wanted at a seq past this snapshot's still wants one.
      if (this.deps.resyncOwed?.()) this.want('resync');
    } else if (o.kind === 'dropped') {
      // A copy of what is being applied: counted; the apply's own outcome ends the wait.
      this.deps.counters.dropped++;
      if (o.answers) this.asked.answered(this.now());
    } else if (o.kind === 'overlap' && from === 'snapshot') {
      this.asked.answered(this.now());
      // A stale answer to our request ends the wait when the stream has carried us past it
      // with nothing held; otherwise the timer asks again. Not a resync's: the stream brings
      // nothing of what the store lacks below its seq.
      if (this.deps.heldCount() === 0 && this.wantedFor !== 'resync') this.askedAt = undefined;
      else if (this.wantedFor === 'resync') this.staleAnswers++;
    }
  }

  /** A snapshot is wanted: ask, unless a request is already being repeated (a resync is asked over a gap's). */
  want(reason: SnapshotRequest['reason']): void {
    if (this.askedAt !== undefined && (reason !== 'resync' || this.wantedFor === 'resync')) return;
    this.wantedFor = reason;
    this.staleAnswers = 0;
    this.ask(reason);
  }

  /**
   * How long an unanswered ask waits before it goes again: `retransmit_ms`, doubled for each
   * answer to a resync that came stale (the stream carried the store past it while it was built:
   * a busy village, awards published straight to the stream), up to the longest wait
   * (`retransmit_max_ms`), so such a village is not sent a whole snapshot each `retransmit_ms`.
   */
  private askAgainMs(): number {
    return Math.min(Math.max(this.deps.retransmitMs, this.deps.partWaitMs), this.deps.retransmitMs * 2 ** Math.min(this.staleAnswers, 20));
  }

  private ask(reason: SnapshotRequest['reason']): void {
    this.askedAt = this.now();
    this.asked.add(this.askedAt);
    this.deps.counters.asked++;
    this.deps.ask({ from_seq: this.deps.inboundSeq(), reason, accepts: [...SNAPSHOT_FEATURES] });
  }

  private now(): number {
    return this.deps.clock().getTime();
  }
}
