/**
 * Refunds of a settled purchase: compensating `refund` entries (positive points, reference =
 * the session), never an edit of the redemption. They go through `applyEntry` like any entry,
 * so the balance cache, the debt rule (a refund first repays what the villager owes) and the
 * outbox to the village ledger hold as always. A purchase is refunded at most what it cost:
 * the points the settlement asked for plus review charges of the session, less refunds so far.
 */
import { createHash } from 'node:crypto';
import { cachedStatement, inTransaction, type Db } from './db.ts';
import { applyEntry, entryIdTaken, getEntry, repaymentId, type Entry, type LedgerRules } from './entries.ts';
import { requireVillager } from './villagers.ts';
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

/**
 * What a purchase's review charges asked, and what was refunded of it, as SQL over the session
 * `sess` (its id column) and its villager `vill`: one rule for the refund route (`refundable`)
 * and the refund forms' list (`refundablePurchases`). A review charge counts by what it asked, as
 * the settlement's total does: its entry holds only the points the balance paid (0 at the floor),
 * the rest went into debt and was repaid later. The asked points are in the line's resolution,
 * `charged <points>[ (<note>)]` (./review.ts).
 */
const reviewChargedSql = (sess: string): string => `(SELECT COALESCE(SUM(CAST(substr(r.resolution, 9) AS INTEGER)), 0) FROM review_lines r WHERE r.session_id = ${sess} AND r.resolution LIKE 'charged %')`;
const refundedSql = (sess: string, vill: string): string => `(SELECT COALESCE(SUM(e.points), 0) FROM entries e WHERE e.villager_id = ${vill} AND e.kind = 'refund' AND e.reference = ${sess})`;

export function refundable(db: Db, sessionId: string): Refundable {
  const s = requireSession(db, sessionId);
  const { review, refunded } = cachedStatement(db, `SELECT ${reviewChargedSql('@session')} AS review, ${refundedSql('@session', '@villager')} AS refunded`).get({ session: sessionId, villager: s.villagerId }) as { review: number; refunded: number };
  const cost = (s.totalPoints ?? 0) + review;
  return { session: s.id, villagerId: s.villagerId, cost, refunded, left: Math.max(0, cost - refunded) };
}

/** A settled purchase with something left to refund, as the refund forms list them. */
export interface RefundablePurchase extends Refundable {
  villagerName: string;
  openedAt: string;
  closedAt: string | null;
  /** What the settlement asked (`cost` adds the review charges). */
  totalPoints: number;
}

/**
 * Settled purchases with something left to refund (opened before purchase `before` when given:
 * a page's cursor), newest first, of one villager or of all; counted as `refundable` counts
 * (the refund route's limit). One query; the refunds are summed over the villager's own entries.
 */
export function refundablePurchases(db: Db, opts: { limit: number; villagerId?: string; before?: string }): RefundablePurchase[] {
  const where = [
    "s.status = 'settled'", "s.kind = 'shopping'",
    ...(opts.villagerId !== undefined ? ['s.villager_id = @villager'] : []),
    ...(opts.before !== undefined ? ['(s.opened_at, s.id) < (SELECT b.opened_at, b.id FROM store_sessions b WHERE b.id = @before)'] : []),
  ];
  const rows = cachedStatement(db, `SELECT * FROM (
      SELECT s.id, s.villager_id, COALESCE(v.name, s.villager_id) AS villager_name, s.opened_at, s.closed_at, COALESCE(s.total_points, 0) AS total_points,
             COALESCE(s.total_points, 0) + ${reviewChargedSql('s.id')} AS cost,
             ${refundedSql('s.id', 's.villager_id')} AS refunded
      FROM store_sessions s LEFT JOIN villagers v ON v.id = s.villager_id
      WHERE ${where.join(' AND ')}
    ) WHERE cost > refunded ORDER BY opened_at DESC, id DESC LIMIT @limit`).all({ limit: opts.limit, ...(opts.villagerId !== undefined ? { villager: opts.villagerId } : {}), ...(opts.before !== undefined ? { before: opts.before } : {}) }) as Array<{ id: string; villager_id: string; villager_name: string; opened_at: string; closed_at: string | null; total_points: number; cost: number; refunded: number }>;
  return rows.map((r) => ({ session: r.id, villagerId: r.villager_id, villagerName: r.villager_name, openedAt: r.opened_at, closedAt: r.closed_at, totalPoints: r.total_points, cost: r.cost, refunded: r.refunded, left: r.cost - r.refunded }));
}

/** A request id: one per refund form (or API request), random, so never a small counter. */
export const REFUND_REQUEST_RE = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The refund's entry id. With a request id it is the same for every send of one form, so a
 * second send (a double click, a browser's resend) is a duplicate; one too long for an entry id
 * is hashed. Without one (an API client that sends none) each refund is a new one.
 */
function refundEntryId(db: Db, sessionId: string, request: string | undefined): string {
  if (request === undefined) {
    const n = (db.prepare("SELECT COUNT(*) AS n FROM entries WHERE kind = 'refund' AND reference = ?").get(sessionId) as { n: number }).n;
    return `refund:${sessionId}:${n + 1}`;
  }
  const id = `refund:${sessionId}:${request}`;
  return id.length <= 128 ? id : `refund#${createHash('sha256').update(`${sessionId}\n${request}`).digest('hex').slice(0, 48)}`;
}

/** The villager's balance and debt around a refund. */
export interface Holding { balance: number; debt: number }

export interface RefundResult {
  before: Refundable;
  entry: Entry;
  /**
   * The redemption that repaid the villager's debt out of the refund (`<entry>#debt…`), if any:
   * after it the villager holds `villager.balance`, less than the entry's own `balanceAfter`.
   */
  repayment: Entry | undefined;
  after: Refundable;
  /** The villager before the refund and now (after any repayment). */
  villagerBefore: Holding;
  villager: Holding;
  duplicate: boolean;
}

const holding = (db: Db, villagerId: string): Holding => {
  const v = requireVillager(db, villagerId);
  return { balance: v.balance, debt: v.debt };
};

/**
 * Refund `points` of a settled purchase, with a reason; one transaction. A request id already
 * refunded answers that refund again (`duplicate`), before the limit is checked: the purchase
 * may have nothing left to refund precisely because of it.
 */
export function refundSession(db: Db, sessionId: string, r: { points: number; reason: string; request?: string }, rules: LedgerRules, clock: Clock = systemClock): RefundResult {
  const at = iso(clock);
  return inTransaction(db, 'refunding a purchase', () => {
    const s = requireSession(db, sessionId);
    if (s.status !== 'settled' || s.kind !== 'shopping') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `session ${sessionId} is not a settled purchase (${s.kind}, ${s.status}); only settled purchases are refunded`, { zh: `${sessionId} 不是已结算的购物记录，不能退分`, details: { field: 'session' } });
    }
    if (r.request !== undefined && !REFUND_REQUEST_RE.test(r.request)) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'request must be 16–64 letters, digits, _ or -', { zh: '退分请求编号格式不正确，请重新打开页面', details: { field: 'request' } });
    }
    const id = refundEntryId(db, sessionId, r.request);
    const held = r.request === undefined ? undefined : getEntry(db, id);
    if (held) {
      if (held.kind !== 'refund' || held.villagerId !== s.villagerId || held.points !== r.points) {
        throw new EdgeError(ErrorCode.ENTRY_ID_TAKEN, `this refund request was made already, refunding ${held.points} points; open the page again for another refund`, { zh: `这张退分表单已经提交过（退 ${held.points} 分）；如需再退，请重新打开页面`, details: { field: 'points' } });
      }
      const now = refundable(db, sessionId);
      const villager = holding(db, s.villagerId);
      return { before: now, entry: held, repayment: getEntry(db, repaymentId(held.id, rules.store)), after: now, villagerBefore: villager, villager, duplicate: true };
    }
    const before = refundable(db, sessionId);
    if (!Number.isSafeInteger(r.points) || r.points < 1 || r.points > before.left) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `a refund of this purchase must be 1–${before.left} points (cost ${before.cost}, refunded ${before.refunded})`, { zh: `本次购物最多还能退 ${before.left} 分（应扣 ${before.cost} 分，已退 ${before.refunded} 分）`, details: { field: 'points' } });
    }
    const reason = r.reason.trim();
    if (reason === '') throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'a refund needs a reason', { zh: '退分须写明原因', details: { field: 'reason' } });
    const villagerBefore = holding(db, s.villagerId);
    const applied = applyEntry(db, { id, villagerId: s.villagerId, kind: 'refund', points: r.points, reference: sessionId, reason: `退分：${reason}`, origin: 'admin' }, rules, () => new Date(at));
    if (applied.status === 'duplicate' && applied.conflict) throw entryIdTaken(applied.entry);
    const repayment = applied.status === 'applied' ? applied.debtRepaid : undefined;
    return { before, entry: applied.entry, repayment, after: refundable(db, sessionId), villagerBefore, villager: holding(db, s.villagerId), duplicate: applied.status === 'duplicate' };
  });
}
