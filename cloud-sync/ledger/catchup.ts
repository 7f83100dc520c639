/**
 * Bringing a store level with the village stream: the events after its seq (deltas) when the
 * ledger still has them all, they are few enough and none has expired; otherwise a full
 * snapshot (a new store, a resync, or one too far behind): `catchUpStore` sends either.
 */
import type { SqlDb } from './sql.ts';
import { eventsAfter, villageSeq, type Signer } from './tables.ts';
import { itemBytes, partBody, PartCutter, planSnapshot, snapshotHead, SNAPSHOT_PAGE_ROWS, type PartPlan } from './snapshot-pages.ts';
import { signedEnvelopeText } from '../protocol/sign.ts';
import { storeTopic } from '../protocol/topics.ts';
import type { SnapshotBody, SnapshotRequest } from '../protocol/payloads.ts';

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
  /** When a snapshot goes in parts, and how large each is (`SNAPSHOT_BYTES` unless a test says). */
  snapshotBytes?: SnapshotBytes;
  /** Entries read by one query for a snapshot (`SNAPSHOT_PAGE_ROWS` unless a test says). */
  snapshotPageRows?: number;
  /**
   * What each store said it accepts in its last snapshot request (`accepts`), by village/store:
   * a snapshot the ledger sends unasked (a store behind for long) follows it. Until a store has
   * asked since the ledger started, none: a snapshot as an older store takes it.
   */
  accepts?: Map<string, readonly string[]>;
}

export interface SnapshotBytes {
  /** A snapshot whose body's JSON fits this goes whole, in one message, as it always did. */
  wholeMax: number;
  /** Past it, in parts of about this many bytes of body each. */
  part: number;
}

/**
 * Whole up to 6 MiB, under the stores' 8 MiB limit on one message with room for the envelope:
 * exactly where a store that knows no parts was already brought level by one message. Larger
 * snapshots (a village of 300 villagers reaches 8 MiB in about half a year) go in parts of 256 KiB:
 * about a second each on a 2 Mbit/s village line, so the store sees the answer arriving
 * (cloud-sync/agent/catch-up.ts waits `retransmit_max_ms` after each part before asking again).
 */
export const SNAPSHOT_BYTES: SnapshotBytes = { wholeMax: 6 * 1024 * 1024, part: 256 * 1024 };

/**
 * Deltas when they can bring the store level, else a snapshot; a `resync` always gets a snapshot.
 * `accepts`: what the store's request said it understands (undefined: not asked by a request).
 */
export async function catchUpStore(d: CatchUpDeps, village: string, store: string, fromSeq: number, reason: SnapshotRequest['reason'], accepts?: readonly string[]): Promise<void> {
  const known = (d.accepts ??= new Map());
  if (accepts) known.set(`${village}/${store}`, accepts);
  const plan = reason === 'resync' ? undefined : await planDeltas(d.db, village, fromSeq, d.clock(), { maxEvents: d.maxDeltas, maxBytes: 1024 * 1024, validForMs: d.validForMs });
  if (!plan) return sendSnapshot(d, village, store, known.get(`${village}/${store}`) ?? []);
  d.counters.deltas++;
  for (const p of plan.payloads) await d.send(storeTopic({ village, store }, 'down/deltas'), p);
}

/**
 * The village as it stands, signed for one store: one message, or parts under one seq, with the
 * catalogue; for a store that does not say it `accepts` them (older than them), whole and without.
 * Parts are read a page of entries at a time and each sent as it is built (./snapshot-pages.ts).
 */
export async function sendSnapshot(d: CatchUpDeps, village: string, store: string, accepts: readonly string[]): Promise<void> {
  const head = await snapshotHead(d.db, village);
  const bytes = d.snapshotBytes ?? SNAPSHOT_BYTES;
  const pageRows = d.snapshotPageRows ?? SNAPSHOT_PAGE_ROWS;
  const parts = accepts.includes('parts');
  const plan = await planSnapshot(d.db, village, head, { catalogue: accepts.includes('catalogue'), pageRows, ...(parts ? { parts: bytes } : {}) });
  const now = d.clock();
  const id = `snapshot:${store}:${head.seq}:${now.getTime()}`;
  // As it was signed (its canonical text, sig in front): the store checks it over those bytes.
  const signed = (envId: string, body: SnapshotBody): string => signedEnvelopeText({
    v: 1, id: envId, kind: 'snapshot', village, store, seq: head.seq,
    issued_at: now.toISOString(), expires_at: new Date(now.getTime() + d.signer.lifetimeMs).toISOString(), body,
  }, d.signer.key);
  const bodies = 'body' in plan ? (parts ? splitSnapshot(plan.body, bytes) : [plan.body]) : undefined;
  d.counters.snapshots++;
  const topic = storeTopic({ village, store }, 'down/snapshot');
  if (bodies?.length === 1) return d.send(topic, signed(id, bodies[0]!));
  const count = bodies?.length ?? (plan as { parts: PartPlan[] }).parts.length;
  for (let index = 0; index < count; index++) {
    const body = bodies?.[index] ?? await partBody(d.db, village, head, (plan as { parts: PartPlan[] }).parts[index]!, pageRows);
    await d.send(topic, signed(`${id}:${index}`, { ...body, part: { of: id, index, count } }));
  }
}

/**
 * A snapshot's body as it goes: whole when its JSON fits `wholeMax`, else parts whose villagers,
 * products and entries (in that order, each kept whole) add up to about `part` bytes of JSON. The
 * store joins them before it applies any (cloud-sync/agent/snapshot-parts.ts).
 */
export function splitSnapshot(body: SnapshotBody, bytes: SnapshotBytes): SnapshotBody[] {
  if (itemBytes(body) <= bytes.wholeMax) return [body];
  const parts: SnapshotBody[] = [];
  let cur: SnapshotBody = { villagers: [], entries: [] };
  const cutter = new PartCutter(bytes.part);
  const room = (n: number): void => {
    if (!cutter.next(n)) return;
    parts.push(cur);
    cur = { villagers: [], entries: [] };
  };
  for (const v of body.villagers) { room(itemBytes(v)); cur.villagers.push(v); }
  for (const p of body.products ?? []) { room(itemBytes(p)); (cur.products ??= []).push(p); }
  for (const e of body.entries) { room(itemBytes(e)); cur.entries.push(e); }
  parts.push(cur);
  return parts;
}
