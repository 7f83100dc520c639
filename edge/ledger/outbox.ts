/**
 * The sync outbox: rows for the village ledger, always written inside the transaction of the
 * change they describe. `seq` is the store's monotonic sequence number, so the ledger sees gaps.
 */
import type { Db } from './db.ts';

export type OutboxTopic = 'entry' | 'villager' | 'session' | 'product' | 'card';

export interface OutboxRow {
  seq: number;
  topic: OutboxTopic;
  payload: unknown;
  createdAt: string;
  sentAt: string | null;
  ackedAt: string | null;
}

interface RawOutboxRow { seq: number; topic: string; payload: string; created_at: string; sent_at: string | null; acked_at: string | null }

const fromRow = (r: RawOutboxRow): OutboxRow => ({
  seq: r.seq,
  topic: r.topic as OutboxTopic,
  payload: JSON.parse(r.payload) as unknown,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  ackedAt: r.acked_at,
});

/** Call only inside the transaction of the change. Returns the sequence number. */
export function enqueueOutbox(db: Db, topic: OutboxTopic, payload: unknown, at: string): number {
  const info = db.prepare('INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)').run(topic, JSON.stringify(payload), at);
  return Number(info.lastInsertRowid);
}

export function pendingOutbox(db: Db, limit = 100): OutboxRow[] {
  return (db.prepare('SELECT * FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT ?').all(limit) as RawOutboxRow[]).map(fromRow);
}

export function markOutboxAcked(db: Db, seqUpTo: number, at: string): number {
  return db.prepare('UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL').run(at, seqUpTo).changes;
}

export function countOutbox(db: Db): { pending: number; total: number } {
  return db.prepare('SELECT COUNT(*) FILTER (WHERE acked_at IS NULL) AS pending, COUNT(*) AS total FROM outbox').get() as { pending: number; total: number };
}
