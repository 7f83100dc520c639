/**
 * The outbox's pending rows are found through their own index (migration 008), not by walking
 * every row the store ever sent: the queries of the sync's hot path name the index in their
 * plan, and they answer the same as before on an outbox of mostly acknowledged rows.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { enqueueOutbox, countOutbox, countPendingOutbox, lastAckedSeq, markOutboxAcked, markOutboxAckedSeqs, pendingOutbox, pendingOutboxAfter } from '../../edge/ledger/outbox.ts';
import { inTransaction } from '../../edge/ledger/db.ts';
import { tempLedger } from './helpers.ts';

let t: ReturnType<typeof tempLedger>;
beforeEach(() => {
  t = tempLedger();
});
afterEach(() => t.cleanup());

const plan = (sql: string, ...args: unknown[]): string =>
  (t.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join(' | ');

describe('outbox pending index (schema 8)', () => {
  it('the hot-path queries use the pending-rows index', () => {
    expect(plan('SELECT * FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT ?', 100)).toContain('outbox_unacked');
    expect(plan('SELECT * FROM outbox WHERE seq > ? AND acked_at IS NULL ORDER BY seq LIMIT ?', 5, 100)).toContain('outbox_unacked');
    expect(plan('SELECT MIN(seq) FROM outbox WHERE acked_at IS NULL')).toContain('outbox_unacked');
    expect(plan('SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL')).toContain('outbox_unacked');
    expect(plan('UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL', 'x', 5)).toContain('outbox_unacked');
  });

  it('answers as before on an outbox of mostly acknowledged rows', () => {
    const at = '2026-12-01T00:00:00.000Z';
    inTransaction(t.db, 'filling the outbox', () => {
      for (let i = 0; i < 5000; i++) enqueueOutbox(t.db, 'entry', { n: i }, at);
    });
    markOutboxAcked(t.db, 4990, at);
    // an ack out of order above the contiguous prefix
    markOutboxAckedSeqs(t.db, [4995], at);
    expect(countPendingOutbox(t.db)).toBe(9);
    expect(countOutbox(t.db)).toEqual({ pending: 9, total: 5000 });
    expect(lastAckedSeq(t.db)).toBe(4990);
    expect(pendingOutbox(t.db, 3).map((r) => r.seq)).toEqual([4991, 4992, 4993]);
    expect(pendingOutboxAfter(t.db, 4993, 100).map((r) => r.seq)).toEqual([4994, 4996, 4997, 4998, 4999, 5000]);
    markOutboxAcked(t.db, 5000, at);
    expect(countPendingOutbox(t.db)).toBe(0);
    expect(lastAckedSeq(t.db)).toBe(5000);
    expect(pendingOutbox(t.db)).toEqual([]);
  });
});
