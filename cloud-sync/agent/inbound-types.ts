/**
 * What the store's InboundStream (./inbound.ts) needs and answers: its dependencies and what
 * became of each message from the village ledger. Apart from the stream so that the pieces it
 * uses (./apply-event.ts) can name them without an import cycle.
 */
import type { Db } from '../../edge/ledger/db.ts';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import type { Clock } from '../../edge/ledger/time.ts';
import type { RefusalReason } from '../protocol/payloads.ts';
import type { KeyRing } from '../protocol/sign.ts';
import type { StoreAddress } from '../protocol/topics.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';

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
  | { kind: 'gap'; seq: number; expected: number }
  /** A large snapshot whose slices are being applied: its outcome comes through `deps.later`. */
  | { kind: 'applying'; seq: number; entries: number }
  /** Held while a snapshot is being applied: a stream event after it, or a newer snapshot. */
  | { kind: 'held'; seq: number; why: string }
  /**
   * A snapshot, or a part of one, that arrived while one is being applied and that the one
   * applied (or the newer one waiting for it) holds all of: not applied, counted by the agent.
   * `answers`: it answers one of the store's requests (a whole one, or the first part of a set,
   * while one is owed). `first`: the first dropped since the apply began (the one logged).
   * Should the apply not bring the store to its seq, the store asks again (./inbound.ts).
   */
  | { kind: 'dropped'; seq: number; why: string; answers: boolean; first: boolean }
  /** A snapshot being applied in slices stopped on a failure of this store (its disk): asked again. */
  | { kind: 'failed'; seq: number; why: string };

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
  /** The outcome of a snapshot applied in slices, after `receive` answered `applying`. */
  later?: (outcomes: InboundOutcome[]) => void;
  /** Slices for a large snapshot (tests): rows, time and the wait between them (edge/ledger/snapshot-slices.ts). */
  slices?: { rows?: number; ms?: number; turn?: () => Promise<void> };
}
