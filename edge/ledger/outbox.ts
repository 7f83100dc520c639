/**
 * The sync outbox: rows for the village ledger, always written inside the transaction of the
 * change they describe. `seq` is the store's monotonic sequence number, so the ledger sees gaps.
 */
import { cachedStatement, type Db } from './db.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';

export type OutboxTopic = 'entry' | 'villager' | 'session' | 'product' | 'card';

export interface OutboxRow {
  seq: number;
  topic: OutboxTopic;
  payload: unknown;
  /** `payload` as stored: its canonical JSON (lib/canonical-json.ts), what the sync signs and digests. */
  payloadText: string;
  createdAt: string;
  ackedAt: string | null;
}

/** `sent_at` (schema 1) is no longer written: what is in flight lives in the sync agent's memory (cloud-sync/agent/agent.ts). */
interface RawOutboxRow { seq: number; topic: string; payload: string; created_at: string; acked_at: string | null }

/**
 * `payload` is parsed when first read: the sync agent reads the window of pending rows at every
 * send and sends `payloadText` as it is, so most rows it reads are never parsed.
 */
const fromRow = (r: RawOutboxRow): OutboxRow => {
  let parsed: { value: unknown } | undefined;
  return {
    seq: r.seq,
    topic: r.topic as OutboxTopic,
    get payload(): unknown {
      parsed ??= { value: JSON.parse(r.payload) as unknown };
      return parsed.value;
    },
    payloadText: r.payload,
    createdAt: r.created_at,
    ackedAt: r.acked_at,
  };
};

/**
 * Call only inside the transaction of the change. Returns the sequence number. The payload is
 * stored in the canonical JSON form (schema 14 rewrote older rows), so the sync agent signs a
 * batch and digests a row from the stored text without parsing and writing it again.
 */
export function enqueueOutbox(db: Db, topic: OutboxTopic, payload: unknown, at: string): number {
  const info = cachedStatement(db, 'INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)').run(topic, canonicalJson(payload), at);
  return Number(info.lastInsertRowid);
}

export function pendingOutbox(db: Db, limit = 100): OutboxRow[] {
  return (cachedStatement(db, 'SELECT * FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT ?').all(limit) as RawOutboxRow[]).map(fromRow);
}

/** Unacknowledged rows after `afterSeq` (what a sender has not sent yet), in seq order. */
export function pendingOutboxAfter(db: Db, afterSeq: number, limit: number): OutboxRow[] {
  return (cachedStatement(db, 'SELECT * FROM outbox WHERE seq > ? AND acked_at IS NULL ORDER BY seq LIMIT ?').all(afterSeq, limit) as RawOutboxRow[]).map(fromRow);
}

/** Rows after `afterSeq` up to `upToSeq`, acknowledged or not (to send again rows a ledger lost), in seq order. */
export function outboxRange(db: Db, afterSeq: number, upToSeq: number, limit: number): OutboxRow[] {
  return (cachedStatement(db, 'SELECT * FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?').all(afterSeq, upToSeq, limit) as RawOutboxRow[]).map(fromRow);
}

export function markOutboxAcked(db: Db, seqUpTo: number, at: string): number {
  return cachedStatement(db, 'UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL').run(at, seqUpTo).changes;
}

/** Rows not yet acknowledged: one walk of the pending-rows index (migration 008), not of the whole outbox. */
export function countPendingOutbox(db: Db): number {
  return cachedStatement(db, 'SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL').pluck().get() as number;
}

/** Pending and all rows; `total` reads the whole outbox (for reports, not a hot path). */
export function countOutbox(db: Db): { pending: number; total: number } {
  return cachedStatement(db, 'SELECT COUNT(*) FILTER (WHERE acked_at IS NULL) AS pending, COUNT(*) AS total FROM outbox').get() as { pending: number; total: number };
}

/** Acknowledged by the village ledger, row by row (acks may come in any order). */
export function markOutboxAckedSeqs(db: Db, seqs: readonly number[], at: string): number {
  if (seqs.length === 0) return 0;
  // One statement for the ack's rows (atomic as it is), not one each in a transaction of its own.
  return cachedStatement(db, 'UPDATE outbox SET acked_at = ? WHERE seq IN (SELECT value FROM json_each(?)) AND acked_at IS NULL').run(at, JSON.stringify(seqs)).changes;
}

/** The highest seq below which every row is acknowledged (0 when none is). */
export function lastAckedSeq(db: Db): number {
  const firstPending = cachedStatement(db, 'SELECT MIN(seq) FROM outbox WHERE acked_at IS NULL').pluck().get() as number | null;
  if (firstPending !== null) return firstPending - 1;
  return (cachedStatement(db, 'SELECT COALESCE(MAX(seq), 0) FROM outbox').pluck().get() as number);
}

/** When the row `seq` was acknowledged (one key lookup), or undefined when it was not (yet). */
export function outboxAckedAt(db: Db, seq: number): string | undefined {
  return (cachedStatement(db, 'SELECT acked_at FROM outbox WHERE seq = ?').pluck().get(seq) as string | null | undefined) ?? undefined;
}

/** Of `seqs`, those of rows still waiting for their acknowledgement. */
export function stillPending(db: Db, seqs: readonly number[]): number[] {
  const pending = cachedStatement(db, 'SELECT 1 FROM outbox WHERE seq = ? AND acked_at IS NULL').pluck();
  return seqs.filter((s) => pending.get(s) !== undefined);
}

/** The highest seq the outbox ever handed out (AUTOINCREMENT's counter: deleted rows count too). */
export function highestOutboxSeq(db: Db): number {
  const issued = cachedStatement(db, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").pluck().get() as number | undefined;
  return Math.max(issued ?? 0, cachedStatement(db, 'SELECT COALESCE(MAX(seq), 0) FROM outbox').pluck().get() as number);
}

/**
 * Unacknowledged rows above `afterSeq` (but those in `keep`) get fresh seqs after `base` and
 * after every seq this outbox ever handed out, in their order (the counter moves past them, so
 * rows written later follow). For a ledger file rolled back (a restored backup, a store
 * reinstalled): the seqs it would hand out again are held at the village ledger as other rows.
 * A seq is never handed out twice: a row sent under it may still be in flight, and its ack would
 * mark the row moved onto that seq acknowledged. Call inside a transaction. Returns the seqs the
 * moved rows had, in order.
 */
export function renumberPendingOutbox(db: Db, afterSeq: number, base: number, keep: ReadonlySet<number> = new Set()): number[] {
  const rows = (db.prepare('SELECT * FROM outbox WHERE seq > ? AND acked_at IS NULL ORDER BY seq').all(afterSeq) as RawOutboxRow[]).filter((r) => !keep.has(r.seq));
  if (rows.length === 0) return [];
  // Read before the rows go: AUTOINCREMENT's counter counts them, MAX(seq) would not.
  let seq = Math.max(base, highestOutboxSeq(db));
  const remove = db.prepare('DELETE FROM outbox WHERE seq = ?');
  for (const r of rows) remove.run(r.seq);
  const insert = db.prepare('INSERT INTO outbox (seq, topic, payload, created_at, sent_at, acked_at) VALUES (?, ?, ?, ?, NULL, NULL)');
  for (const r of rows) insert.run(++seq, r.topic, r.payload, r.created_at);
  return rows.map((r) => r.seq);
}

/** The next row gets a seq above `seq` (AUTOINCREMENT's counter raised; never lowered). Call inside a transaction. */
export function raiseOutboxSeq(db: Db, seq: number): void {
  if (db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox' AND seq < ?").run(seq, seq).changes > 0) return;
  if (db.prepare("SELECT 1 FROM sqlite_sequence WHERE name = 'outbox'").get() === undefined) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)").run(seq);
}

/** Whether a villager's face consent was recorded or withdrawn in a row above `afterSeq` (payloads are canonical JSON: edge/ledger/villagers.ts `setFaceConsent`). */
export function consentChangedSince(db: Db, villagerId: string, afterSeq: number): boolean {
  return cachedStatement(db, "SELECT 1 FROM outbox WHERE seq > ? AND topic = 'villager' AND json_extract(payload, '$.op') = 'face_consent' AND json_extract(payload, '$.id') = ? LIMIT 1")
    .get(afterSeq, villagerId) !== undefined;
}
