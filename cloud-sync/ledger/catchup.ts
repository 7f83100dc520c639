/**
 * Bringing a store level with the village stream: the events after its seq (deltas) when the
 * ledger still has them all, they are few enough and none has expired; otherwise a full
 * snapshot (a new store, a resync, or one too far behind): `catchUpStore` sends either.
 */
import type { SqlDb } from './sql.ts';
import { eventsAfter, villageSeq, villageSnapshot, type Signer } from './tables.ts';
import { signEnvelope } from '../protocol/sign.ts';
import { storeTopic } from '../protocol/topics.ts';
import type { SnapshotRequest } from '../protocol/payloads.ts';

export interface DeltasPlan {
  toSeq: number;
  /** `down/deltas` payloads, in order, each under `maxBytes` unless one event alone is larger. */
  payloads: string[];
}

export interface DeltasLimits {
  /** At most this many events; a store further behind gets a snapshot. */
  maxEvents: number;
  maxBytes: number;
  /** Every event must stay valid at the store for at least this long (its clock may be ahead). */
  validForMs: number;
}

export async function planDeltas(db: SqlDb, village: string, fromSeq: number, now: Date, limits: DeltasLimits): Promise<DeltasPlan | undefined> {
  const toSeq = await villageSeq(db, village);
  if (fromSeq <= 0 || fromSeq > toSeq || toSeq - fromSeq > limits.maxEvents) return undefined;
  const events = await eventsAfter(db, village, fromSeq, toSeq - fromSeq);
  // The stream has no holes; one missing here (or expired) means deltas cannot bring the store level.
  if (events.length !== toSeq - fromSeq || events.some((e, i) => e.seq !== fromSeq + i + 1)) return undefined;
  const validUntil = now.getTime() + limits.validForMs;
  for (const e of events) {
    const expires = Date.parse((JSON.parse(e.envelope) as { expires_at: string }).expires_at);
    if (!(expires > validUntil)) return undefined;
  }
  const payloads: string[] = [];
  const head = `{"from_seq":${fromSeq},"to_seq":${toSeq},"events":[`;
  let chunk: string[] = [];
  let bytes = head.length;
  for (const e of events) {
    if (chunk.length > 0 && bytes + e.envelope.length + 2 > limits.maxBytes) {
      payloads.push(`${head}${chunk.join(',')}]}`);
      chunk = [];
      bytes = head.length;
    }
    chunk.push(e.envelope);
    bytes += e.envelope.length + 1;
  }
  payloads.push(`${head}${chunk.join(',')}]}`);
  return { toSeq, payloads };
}

/**
 * How often one store's requests for the stream are answered: `burst` at once, then one every
 * `everyMs` (a token bucket per store). Snapshot requests are not signed (docs/sync-protocol.md),
 * and each answer costs a read of the village and a signature over it, a full snapshot the
 * whole village; a flood of forged requests for one store is answered at this rate and the
 * rest dropped and counted. A store whose own request was dropped asks again by its timer.
 * Only registered stores reach the limiter, so it holds one bucket per store at most.
 */
export class CatchUpLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly burst: number, private readonly everyMs: number) {}

  /** Whether a request of `store` may be answered at `nowMs` (and if so, spends one token). */
  take(store: string, nowMs: number): boolean {
    const b = this.buckets.get(store) ?? { tokens: this.burst, at: nowMs };
    b.tokens = Math.min(this.burst, b.tokens + Math.max(0, nowMs - b.at) / this.everyMs);
    b.at = nowMs;
    this.buckets.set(store, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** What answering a store that is behind needs from the village ledger (cloud-sync/ledger/service.ts). */
export interface CatchUpDeps {
  db: SqlDb;
  signer: Signer;
  clock: () => Date;
  send: (topic: string, payload: string) => Promise<void>;
  /** Counted here: answers by deltas, answers by snapshot. */
  counters: { deltas: number; snapshots: number };
  maxDeltas: number;
  /** How long each delta must stay valid at the store (its clock may be ahead by this much). */
  validForMs: number;
}

/** Deltas when they can bring the store level, else a snapshot; a `resync` always gets a snapshot. */
export async function catchUpStore(d: CatchUpDeps, village: string, store: string, fromSeq: number, reason: SnapshotRequest['reason']): Promise<void> {
  const plan = reason === 'resync' ? undefined : await planDeltas(d.db, village, fromSeq, d.clock(), { maxEvents: d.maxDeltas, maxBytes: 1024 * 1024, validForMs: d.validForMs });
  if (!plan) return sendSnapshot(d, village, store);
  d.counters.deltas++;
  for (const p of plan.payloads) await d.send(storeTopic({ village, store }, 'down/deltas'), p);
}

/** The village as it stands, signed for one store. */
export async function sendSnapshot(d: CatchUpDeps, village: string, store: string): Promise<void> {
  const snap = await villageSnapshot(d.db, village);
  const now = d.clock();
  const env = signEnvelope({
    v: 1, id: `snapshot:${store}:${snap.seq}:${now.getTime()}`, kind: 'snapshot', village, store, seq: snap.seq,
    issued_at: now.toISOString(), expires_at: new Date(now.getTime() + d.signer.lifetimeMs).toISOString(), body: snap.body,
  }, d.signer.key);
  d.counters.snapshots++;
  await d.send(storeTopic({ village, store }, 'down/snapshot'), JSON.stringify(env));
}
