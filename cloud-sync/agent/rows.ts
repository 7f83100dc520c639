/**
 * The outbox rows in flight and the signed `rows` messages that carry them: what the agent
 * (cloud-sync/agent/agent.ts) keeps per row it sent and not yet saw acknowledged.
 */
import { markOutboxAckedSeqs, type OutboxRow } from '../../edge/ledger/outbox.ts';
import { ackDigestsSeen, noteAckDigests, touchContact } from '../../edge/ledger/sync-state.ts';
import { ROWS_DIGESTS, ROWS_FOREIGN, type Ack } from '../protocol/payloads.ts';
import { CanonicalText, digestOfCanonical, signedEnvelopeText, type SigningKey } from '../protocol/sign.ts';
import { cachedStatement, inLazyTransaction, type Db } from '../../edge/ledger/db.ts';
import { storeTopic, type StoreAddress } from '../protocol/topics.ts';
import type { SyncMqtt } from '../mqtt.ts';

const DAY_MS = 86_400_000;

export interface InFlight {
  attempts: number;
  nextAt: number;
  /** Which send carried it last (sends are numbered in order). */
  sendNo: number;
  /** The ledger's beat shows it never got this row: send again without waiting for silence. */
  lost?: boolean;
  /**
   * When it was first sent since the connection came up (the store's time): how long the ledger
   * has had the chance to acknowledge it, which a row's age does not say after an outage.
   */
  sentAt: number;
}

/** The connection came up at `now`: rows still in flight count as sent now, and go again from `retryAt`. */
export function reconnectInFlight(inflight: Map<number, InFlight>, now: number, retryAt: number): void {
  for (const f of inflight.values()) {
    f.nextAt = Math.min(f.nextAt, retryAt);
    f.sentAt = now;
  }
}

/**
 * When the row longest in flight was first sent since the connection came up, among those sent
 * no later than `heardAt` (the heartbeat a beat answers: the ledger, which handles what it gets
 * in order, has had them all before it answered); null: none. A row sent since may simply be
 * waiting in the ledger's queue.
 */
export function oldestInFlight(inflight: Map<number, InFlight>, heardAt: number): string | null {
  let oldest = Number.POSITIVE_INFINITY;
  for (const f of inflight.values()) if (f.sentAt <= heardAt) oldest = Math.min(oldest, f.sentAt);
  return Number.isFinite(oldest) ? new Date(oldest).toISOString() : null;
}

/**
 * One signed batch of outbox rows (seq order), valid for a day, as the text that goes out. Each
 * row's payload is spliced in as stored (canonical since schema 14: edge/ledger/outbox.ts), not
 * parsed and written again: the hottest step of a store's drain (bench:sync).
 */
export function rowsMessage(address: StoreAddress, key: SigningKey, batch: OutboxRow[], now: number): string {
  const { village, store } = address;
  const rows = batch.map((r) => ({ id: `${store}:${r.seq}`, seq: r.seq, topic: r.topic, payload: new CanonicalText(r.payloadText), created_at: r.createdAt }));
  const first = batch[0]!.seq;
  return signedEnvelopeText({
    v: 1, id: `${store}:rows:${first}-${batch[batch.length - 1]!.seq}${ROWS_FOREIGN}${ROWS_DIGESTS}`, kind: 'rows', village, store, seq: first,
    issued_at: new Date(now).toISOString(), expires_at: new Date(now + DAY_MS).toISOString(), body: { rows },
  }, key);
}

/**
 * What a beat says about the rows in flight: those up to `contiguousSeq` are held by the ledger
 * (dropped from the map); those above it sent no later than send `answered` were lost (marked
 * due now). Returns whether any was lost.
 */
export function applyBeat(inflight: Map<number, InFlight>, contiguousSeq: number, answered: number): boolean {
  let lost = false;
  for (const [seq, f] of inflight) {
    if (seq <= contiguousSeq) inflight.delete(seq);
    else if (f.sendNo <= answered) {
      f.lost = true;
      f.nextAt = 0;
      lost = true;
    }
  }
  return lost;
}

/** The seqs of `store`'s own rows among row ids (`<store>:<seq>`) an ack names. */
export function ownSeqs(store: string, ids: readonly string[]): number[] {
  const prefix = `${store}:`;
  return ids.filter((id) => id.startsWith(prefix)).map((id) => Number(id.slice(prefix.length))).filter(Number.isSafeInteger);
}

/**
 * The seqs of this store's rows an ack acknowledges. With `digests` (a ledger that sends them),
 * only the rows whose payload here has the digest the ledger holds: an ack for a row of an
 * earlier timeline (a restored file handing out its seq again; an old ack published again)
 * marks no other row. Without (an older ledger), every row it names, as before, unless acks with
 * digests came before (ackDigestsSeen): then undefined, an old ack published again, refused.
 */
export function ackedSeqs(db: Db, store: string, ack: Pick<Ack, 'ids' | 'digests'>): number[] | undefined {
  const { ids, digests } = ack;
  if (!digests) return ackDigestsSeen(db) ? undefined : ownSeqs(store, ids);
  if (digests.length !== ids.length) return []; // not an ack this protocol makes: it marks nothing
  const seqs = ids.map((id) => ownSeqs(store, [id])[0]);
  // One query for the ack's rows, not one each (an ack names a batch of up to 100).
  const wanted = seqs.filter((s) => s !== undefined);
  const payloads = new Map<number, string>();
  if (wanted.length > 0) {
    const read = cachedStatement(db, 'SELECT seq, payload FROM outbox WHERE seq IN (SELECT value FROM json_each(?))');
    for (const r of read.all(JSON.stringify(wanted)) as { seq: number; payload: string }[]) payloads.set(r.seq, r.payload);
  }
  return seqs.flatMap((seq, i) => {
    const p = seq === undefined ? undefined : payloads.get(seq);
    // The stored payload is in the canonical form (schema 14): its digest is taken as it is.
    return p !== undefined && digestOfCanonical(p) === digests[i] ? [seq!] : [];
  });
}

/*
 * The two below run at every poll of every store's agent (bench:sync runs 25 to a thread):
 * loops, not spreads of the map into arrays, which made garbage at each poll.
 */

/** Whether any row in flight is due again. */
export function anyDue(inflight: ReadonlyMap<number, InFlight>, isDue: (f: InFlight) => boolean): boolean {
  for (const f of inflight.values()) if (isDue(f)) return true;
  return false;
}

/** The highest seq in flight (-Infinity when none). */
export function highestInFlight(inflight: ReadonlyMap<number, InFlight>): number {
  let max = -Infinity;
  for (const seq of inflight.keys()) if (seq > max) max = seq;
  return max;
}

/** Acknowledged rows leave the map; returns the latest send that carried one of them (0: none). */
export function dropAcked(inflight: Map<number, InFlight>, seqs: readonly number[]): number {
  let latest = 0;
  for (const s of seqs) {
    const f = inflight.get(s);
    if (f) latest = Math.max(latest, f.sendNo);
    inflight.delete(s);
  }
  return latest;
}

/** `rows` sent as signed batches of `batchSize`, one after another. */
export async function sendRows(mqtt: SyncMqtt, address: StoreAddress, key: SigningKey, rows: OutboxRow[], batchSize: number, now: number): Promise<void> {
  for (let i = 0; i < rows.length; i += batchSize) {
    await mqtt.publish(storeTopic(address, 'up/rows'), rowsMessage(address, key, rows.slice(i, i + batchSize), now));
  }
}

/**
 * The villagers registered by this store's rows an ack names `foreign` (held by the ledger in
 * another village), of the rows still waiting for their ack: read before the ack is recorded.
 * A row acknowledged already was named when it was (an ack published again names it again),
 * and a maintainer may have cleared its alarm since.
 */
export function foreignVillagerIds(db: Db, store: string, rowIds: readonly string[]): Array<{ seq: number; id: string }> {
  const payload = cachedStatement(db, 'SELECT payload FROM outbox WHERE seq = ? AND acked_at IS NULL').pluck();
  return ownSeqs(store, rowIds).flatMap((seq) => {
    const text = payload.get(seq) as string | undefined;
    try {
      const p = text === undefined ? undefined : (JSON.parse(text) as { op?: unknown; id?: unknown });
      return p?.op === 'add' && typeof p.id === 'string' ? [{ seq, id: p.id }] : [];
    } catch {
      return [];
    }
  });
}

/** Marks the rows an ack acknowledges (ackedSeqs) and answers their seqs; undefined (nothing marked) for an old ack published again. */
export function recordAck(db: Db, store: string, ack: Pick<Ack, 'ids' | 'digests'>, at: string): number[] | undefined {
  const seqs = ackedSeqs(db, store, ack);
  if (!seqs) return undefined;
  inLazyTransaction(db, 'recording an acknowledgement', () => {
    // Only an ack of a row still pending here is word from the ledger now: an ack carries no
    // time, and one acknowledging nothing new may be a copy published again (no contact).
    if (markOutboxAckedSeqs(db, seqs, at) > 0) touchContact(db, at);
    if (ack.digests) noteAckDigests(db);
  });
  return seqs;
}
