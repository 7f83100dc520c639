/**
 * Refunds of a settled purchase: compensating `refund` entries (positive points, reference =
 * the session), never an edit of the redemption. They go through `applyEntry` like any entry,
 * so the balance cache, the debt rule (a refund first repays what the villager owes) and the
 * outbox to the village ledger hold as always. A purchase is refunded at most what it cost:
 * the points the settlement asked for plus review charges of the session, less refunds so far.
 */
import { inTransaction, type Db } from './db.ts';
import { applyEntry, entryIdTaken, type Entry, type LedgerRules } from './entries.ts';
import { requireSession } from './sessions.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { iso, systemClock, type Clock } from './time.ts';

export interface Refundable {
  session: string;
  villagerId: string;
  /** What the purchase cost: the settlement's total and any review charge on it. */
  cost: number;
  refunded: number;
  /** What may still be refunded. */
  left: number;
}

export function refundable(db: Db, sessionId: string): Refundable {
  const s = requireSession(db, sessionId);
  const sums = db.prepare(
    `SELECT COALESCE(SUM(CASE WHEN kind = 'refund' THEN points END), 0) AS refunded,
            COALESCE(SUM(CASE WHEN kind = 'redemption' AND id LIKE 'review:%' THEN -points END), 0) AS review
     FROM entries WHERE reference = ? AND villager_id = ?`,
  ).get(sessionId, s.villagerId) as { refunded: number; review: number };
  const cost = (s.totalPoints ?? 0) + sums.review;
  return { session: s.id, villagerId: s.villagerId, cost, refunded: sums.refunded, left: Math.max(0, cost - sums.refunded) };
}

/** Refund `points` of a settled purchase, with a reason; one transaction. */
export function refundSession(db: Db, sessionId: string, r: { points: number; reason: string }, rules: LedgerRules, clock: Clock = systemClock): { before: Refundable; entry: Entry; after: Refundable } {
  const at = iso(clock);
  return inTransaction(db, 'refunding a purchase', () => {
    const s = requireSession(db, sessionId);
    if (s.status !== 'settled' || s.kind !== 'shopping') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `session ${sessionId} is not a settled purchase (${s.kind}, ${s.status}); only settled purchases are refunded`, { zh: `${sessionId} 不是已结算的购物记录，不能退分`, details: { field: 'session' } });
    }
    const before = refundable(db, sessionId);
    if (!Number.isSafeInteger(r.points) || r.points < 1 || r.points > before.left) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `a refund of this purchase must be 1–${before.left} points (cost ${before.cost}, refunded ${before.refunded})`, { zh: `本次购物最多还能退 ${before.left} 分（应扣 ${before.cost} 分，已退 ${before.refunded} 分）`, details: { field: 'points' } });
    }
    const reason = r.reason.trim();
    if (reason === '') throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'a refund needs a reason', { zh: '退分须写明原因', details: { field: 'reason' } });
    const n = (db.prepare("SELECT COUNT(*) AS n FROM entries WHERE kind = 'refund' AND reference = ?").get(sessionId) as { n: number }).n;
    const applied = applyEntry(db, { id: `refund:${sessionId}:${n + 1}`, villagerId: s.villagerId, kind: 'refund', points: r.points, reference: sessionId, reason: `退分：${reason}`, origin: 'admin' }, rules, () => new Date(at));
    if (applied.status === 'duplicate' && applied.conflict) throw entryIdTaken(applied.entry);
    return { before, entry: applied.entry, after: refundable(db, sessionId) };
  });
}
