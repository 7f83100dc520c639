/**
 * Store sessions as the ledger sees them: opened at the door, their state persisted at each
 * transition (so a power cut resumes rather than repeats), settled at most once.
 */
import { cachedStatement, inTransaction, type Db } from './db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { redeemAtExit, type Entry, type LedgerRules } from './entries.ts';
import { enqueueOutbox } from './outbox.ts';
import { getProduct, requireProduct } from './products.ts';
import { clipText } from '../../lib/text.ts';
import { settleStock, type StockMove } from './settlement.ts';
import { offlineAllowance } from './sync-state.ts';
import { requireVillager } from './villagers.ts';
import { iso, systemClock, type Clock } from './time.ts';

export type SessionKind = 'shopping' | 'restock';
export type EnteredBy = 'face' | 'card' | 'qr' | 'admin';
export type SessionStatus = 'open' | 'settled' | 'cancelled';

export interface StoreSession {
  id: string;
  kind: SessionKind;
  villagerId: string;
  enteredBy: EnteredBy;
  state: string;
  context: unknown;
  status: SessionStatus;
  totalPoints: number | null;
  chargedPoints: number | null;
  debtPoints: number | null;
  entryId: string | null;
  openedAt: string;
  closedAt: string | null;
}

export interface SessionLine {
  sku: string;
  slot: string;
  count: number;
  /** Points per item as the visit recorded them at admission; absent: the catalogue's price now. */
  unitPrice?: number;
}

export interface SettledLine extends SessionLine {
  unitPrice: number;
  points: number;
}

export interface ReviewLine {
  slot: string;
  reason: string;
  deltaG?: number | null;
  detail?: string | null;
}

interface SessionRow {
  id: string; kind: string; villager_id: string; entered_by: string; state: string; state_json: string; status: string;
  total_points: number | null; charged_points: number | null; debt_points: number | null; entry_id: string | null;
  opened_at: string; closed_at: string | null;
}

/**
 * A row's saved state that is not JSON (a torn or damaged write), kept as it was: reading the
 * row must not fail, or the session could be neither listed nor closed for review.
 */
export class DamagedState {
  constructor(readonly text: string, readonly error: string) {}
}

function parseState(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    return new DamagedState(text, err instanceof Error ? err.message : String(err));
  }
}

const fromRow = (r: SessionRow): StoreSession => ({
  id: r.id,
  kind: r.kind as SessionKind,
  villagerId: r.villager_id,
  enteredBy: r.entered_by as EnteredBy,
  state: r.state,
  context: parseState(r.state_json),
  status: r.status as SessionStatus,
  totalPoints: r.total_points,
  chargedPoints: r.charged_points,
  debtPoints: r.debt_points,
  entryId: r.entry_id,
  openedAt: r.opened_at,
  closedAt: r.closed_at,
});

export function getSession(db: Db, id: string): StoreSession | undefined {
  const r = cachedStatement(db, 'SELECT * FROM store_sessions WHERE id = ?').get(id) as SessionRow | undefined;
  return r ? fromRow(r) : undefined;
}

export function requireSession(db: Db, id: string): StoreSession {
  const s = getSession(db, id);
  if (!s) throw new EdgeError(ErrorCode.UNKNOWN_SESSION, `unknown session ${JSON.stringify(id)}`, { zh: `未知购物记录 ${id}` });
  return s;
}

export function getOpenSession(db: Db): StoreSession | undefined {
  const r = cachedStatement(db, "SELECT * FROM store_sessions WHERE status = 'open'").get() as SessionRow | undefined;
  return r ? fromRow(r) : undefined;
}

/** Newest first; `before` (a session id, a page's cursor) lists those opened before it. */
export function listSessions(db: Db, opts: { limit?: number; villagerId?: string; before?: string } = {}): StoreSession[] {
  const where = [
    ...(opts.villagerId !== undefined ? ['villager_id = @villager'] : []),
    ...(opts.before !== undefined ? ['(opened_at, id) < (SELECT b.opened_at, b.id FROM store_sessions b WHERE b.id = @before)'] : []),
  ];
  const rows = cachedStatement(db, `SELECT * FROM store_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT @limit`).all({ limit: opts.limit ?? 50, ...(opts.villagerId !== undefined ? { villager: opts.villagerId } : {}), ...(opts.before !== undefined ? { before: opts.before } : {}) });
  return (rows as SessionRow[]).map(fromRow);
}

export function openSession(
  db: Db,
  s: { id: string; kind: SessionKind; villagerId: string; enteredBy: EnteredBy; state: string; context: unknown },
  clock: Clock = systemClock,
): StoreSession {
  const at = iso(clock);
  return inTransaction(db, 'opening session', () => {
    requireVillager(db, s.villagerId);
    const open = getOpenSession(db);
    if (open) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `session ${open.id} is still open`, { zh: '店内已有顾客，请稍候' });
    if (getSession(db, s.id)) throw new EdgeError(ErrorCode.DUPLICATE_ID, `session ${s.id} already exists`);
    cachedStatement(db, 
      'INSERT INTO store_sessions (id, kind, villager_id, entered_by, state, state_json, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(s.id, s.kind, s.villagerId, s.enteredBy, s.state, JSON.stringify(s.context), at, at);
    return getSession(db, s.id)!;
  });
}

/** Persist a transition of an open session. */
export function saveSessionState(db: Db, id: string, state: string, context: unknown, clock: Clock = systemClock): void {
  inTransaction(db, 'saving session state', () => {
    const changes = cachedStatement(db, "UPDATE store_sessions SET state = ?, state_json = ?, updated_at = ? WHERE id = ? AND status = 'open'")
      .run(state, JSON.stringify(context), iso(clock), id).changes;
    if (changes !== 1) {
      const s = requireSession(db, id);
      throw new EdgeError(ErrorCode.ALREADY_SETTLED, `session ${id} is ${s.status}; its state can no longer change`);
    }
  });
}

/** Goods a purchase's reason names at most; past them it counts all the items (等N件). */
const REASON_GOODS = 3;
/** A product name in a reason is cut to this many UTF-16 units. */
const REASON_NAME_MAX = 16;

/**
 * What a store purchase says in the villager's history (phone page, passbook, village ledger),
 * Chinese first as every reason: `超市兑换：花生油×1、酱油×2 / store purchase: 3 items`; past the
 * first three goods, `…等9件` (all the items). Bounded (a few dozen characters whatever the
 * session), and for people only: programs read the entry's kind and reference.
 */
export function purchaseReason(goods: ReadonlyArray<{ name: string; count: number }>): string {
  const items = goods.reduce((n, g) => n + g.count, 0);
  if (goods.length === 0) return '超市兑换 / store purchase';
  const named = goods.slice(0, REASON_GOODS).map((g) => `${clipText(g.name.trim(), REASON_NAME_MAX)}×${g.count}`).join('、');
  const more = goods.length > REASON_GOODS ? `等${items}件` : '';
  return `超市兑换：${named}${more} / store purchase: ${items} item${items === 1 ? '' : 's'}`;
}

/** The session's goods by product, in the order first taken (one product from two slots once). */
function goodsOf(db: Db, lines: readonly SettledLine[]): Array<{ name: string; count: number }> {
  const by = new Map<string, { name: string; count: number }>();
  for (const l of lines) {
    const g = by.get(l.sku) ?? { name: getProduct(db, l.sku)?.name ?? l.sku, count: 0 };
    g.count += l.count;
    by.set(l.sku, g);
  }
  return [...by.values()];
}

/** `review`: every review line the session has in the ledger, the settlement's own `stock_clipped` lines included. */
export type SettleResult =
  | { status: 'settled'; session: StoreSession; lines: SettledLine[]; review: ReviewLine[]; entry: Entry | undefined; charged: number; debt: number; balance: number }
  | { status: 'already_settled'; session: StoreSession; lines: SettledLine[]; review: ReviewLine[] };

/**
 * Settle a session in one transaction: lines priced as given (the prices the visit recorded at
 * admission), else at the catalogue's price now, the redemption entry
 * under the exit rule (charge down to the floor, record the rest as debt) and the offline limit
 * (a review line for what went beyond it; see offlineExcess), stock moved (sold
 * items, or a restock's `stock` moves; see settlement.ts), review lines stored, the outbox row
 * written. Settling twice is a no-op that reports what the first settlement stored.
 */
export function settleSession(
  db: Db,
  input: { sessionId: string; lines: SessionLine[]; review: ReviewLine[]; stock?: StockMove[]; state?: string; context?: unknown },
  rules: LedgerRules,
  clock: Clock = systemClock,
): SettleResult {
  const at = iso(clock);
  return inTransaction(db, 'settling session', (): SettleResult => {
    const s = requireSession(db, input.sessionId);
    if (s.status !== 'open') return { status: 'already_settled', session: s, lines: sessionLines(db, s.id), review: sessionReview(db, s.id) };
    const lines: SettledLine[] = [];
    const review: ReviewLine[] = [...input.review];
    let total = 0;
    const insertLine = cachedStatement(db, 'INSERT INTO session_lines (session_id, line_no, sku, slot, count, unit_price, points) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const l of input.lines) {
      if (!Number.isSafeInteger(l.count) || l.count <= 0) {
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `session ${s.id}: line count must be a positive integer, got ${l.count}`);
      }
      if (l.unitPrice !== undefined && (!Number.isSafeInteger(l.unitPrice) || l.unitPrice < 0)) {
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `session ${s.id}: unit price must be a non-negative integer, got ${l.unitPrice}`);
      }
      const unitPrice = l.unitPrice ?? requireProduct(db, l.sku).price;
      const points = unitPrice * l.count;
      lines.push({ sku: l.sku, slot: l.slot, count: l.count, unitPrice, points });
      total += points;
      insertLine.run(s.id, lines.length, l.sku, l.slot, l.count, unitPrice, points);
    }
    review.push(...settleStock(db, s.kind, input.lines, input.stock ?? [], at));

    let entry: Entry | undefined;
    let charged = 0;
    let debt = 0;
    if (s.kind === 'shopping' && total > 0) {
      // read before the redemption, which would count against it
      const over = offlineExcess(db, s.villagerId, total, rules, at);
      ({ entry, charged, debt } = redeemAtExit(
        db,
        { id: `redemption:${s.id}`, villagerId: s.villagerId, points: total, reference: `session:${s.id}`, reason: purchaseReason(goodsOf(db, lines)), origin: 'store' },
        rules,
        at,
      ));
      if (over) review.push(over);
    }
    const insertReview = cachedStatement(db, 'INSERT INTO review_lines (session_id, slot, reason, delta_g, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    for (const r of review) insertReview.run(s.id, r.slot, r.reason, r.deltaG ?? null, r.detail ?? null, at);
    const changes = cachedStatement(db, 
        `UPDATE store_sessions SET status = 'settled', state = ?, state_json = ?, total_points = ?, charged_points = ?, debt_points = ?, entry_id = ?, closed_at = ?, updated_at = ?
         WHERE id = ? AND status = 'open'`,
      )
      .run(input.state ?? 'settled', JSON.stringify(input.context ?? s.context), total, charged, debt, entry?.id ?? null, at, at, s.id).changes;
    if (changes !== 1) throw new EdgeError(ErrorCode.ALREADY_SETTLED, `session ${s.id} was settled concurrently`);
    enqueueOutbox(db, 'session', { id: s.id, kind: s.kind, villager: s.villagerId, entered_by: s.enteredBy, total_points: total, charged, debt, lines: lines.map((l) => ({ sku: l.sku, count: l.count, points: l.points })), review: review.length, opened_at: s.openedAt, closed_at: at }, at);
    const balance = requireVillager(db, s.villagerId).balance;
    return { status: 'settled', session: requireSession(db, s.id), lines, review, entry, charged, debt, balance };
  });
}

/**
 * The offline limit at settlement. The door admitted the villager with a known cap, but it
 * cannot stop a hand from taking more: the goods have left, so the whole session is charged
 * as usual (the village ledger sees all of it at the next contact; a deferred charge would
 * hide spending from the other stores, the very risk the limit bounds), and the part beyond
 * the day's allowance becomes an `offline_limit` review line. The door then stays shut for
 * this villager until the ledger confirms what was spent or the day ends.
 */
function offlineExcess(db: Db, villagerId: string, total: number, rules: LedgerRules, at: string): ReviewLine | undefined {
  if (!rules.offline) return undefined;
  const allowance = offlineAllowance(db, villagerId, rules.offline, new Date(at));
  if (total <= allowance) return undefined;
  return {
    slot: '*',
    reason: 'offline_limit',
    deltaG: null,
    detail: `offline: ${total} points taken with ${allowance} left of today's limit of ${rules.offline.dailyLimit}; charged in full, ${total - allowance} over the limit / 离线期间本次兑换 ${total} 分，今日离线额度仅剩 ${allowance} 分（每日 ${rules.offline.dailyLimit} 分）；已照常扣分，超出 ${total - allowance} 分，请管理员核对`,
  };
}

/** Points a settled session took beyond the offline allowance, read back from its `offline_limit` line (0: none). */
export function offlineOverPoints(review: readonly ReviewLine[]): number {
  const line = review.find((l) => l.reason === 'offline_limit');
  return Number(/; charged in full, (\d+) over the limit/.exec(line?.detail ?? '')?.[1] ?? 0);
}

/** Close a session that charged nothing and needs no settlement (e.g. the door never opened). */
export function cancelSession(db: Db, id: string, reason: string, clock: Clock = systemClock): StoreSession {
  const at = iso(clock);
  return inTransaction(db, 'cancelling session', () => {
    const s = requireSession(db, id);
    if (s.status !== 'open') return s;
    // a saved state that is not a JSON object (a damaged row) is kept as text beside the reason
    cachedStatement(db, `UPDATE store_sessions SET status = 'cancelled', state = 'cancelled', closed_at = @at, updated_at = @at, state_json =
      CASE json_type(CASE WHEN json_valid(state_json) THEN state_json END) WHEN 'object' THEN json_set(state_json, '$.cancelReason', @reason)
      ELSE json_object('cancelReason', @reason, 'damaged', state_json) END WHERE id = @id`).run({ at, reason, id });
    enqueueOutbox(db, 'session', { id, kind: s.kind, villager: s.villagerId, cancelled: reason, closed_at: at }, at);
    return requireSession(db, id);
  });
}

export function sessionLines(db: Db, id: string): SettledLine[] {
  return (cachedStatement(db, 'SELECT sku, slot, count, unit_price AS unitPrice, points FROM session_lines WHERE session_id = ? ORDER BY line_no').all(id) as SettledLine[]);
}

export function sessionReview(db: Db, id: string): ReviewLine[] {
  return cachedStatement(db, 'SELECT slot, reason, delta_g AS deltaG, detail FROM review_lines WHERE session_id = ? ORDER BY id').all(id) as ReviewLine[];
}

/**
 * Close an open session that cannot be resumed (its saved state unreadable, e.g. written by
 * another version): cancelled, nothing charged, and a review line so a maintainer checks
 * what the villager took.
 */
export function cancelForReview(db: Db, id: string, reason: string, detail: string, clock: Clock = systemClock): StoreSession {
  return inTransaction(db, 'cancelling session for review', () => {
    const s = cancelSession(db, id, reason, clock);
    cachedStatement(db, 'INSERT INTO review_lines (session_id, slot, reason, delta_g, detail, created_at) VALUES (?, ?, ?, NULL, ?, ?)').run(id, '*', 'unreadable_session', detail, iso(clock));
    return s;
  });
}
