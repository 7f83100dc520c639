/**
 * The review queue: lines a settlement could not decide (edge/session/cart.ts) wait for a
 * maintainer, who charges the villager for what the scale could not count or waives it (or,
 * for a line whose goods were charged at settlement already, acknowledges it). A
 * charge is a redemption entry like any other (same floor and debt rule, synced through the
 * outbox); its id `review:<line id>` makes a second charge of the same line a duplicate.
 */
import { cachedStatement, inTransaction, type Db } from './db.ts';
import { applyEntry, entryIdTaken, type Entry, type LedgerRules } from './entries.ts';
import { adjustStock } from './products.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { iso, systemClock, type Clock } from './time.ts';

export interface ReviewItem {
  id: number;
  session_id: string;
  /** `shopping` or `restock`: a restock's line sells nothing, so it is only waived. */
  session_kind: string;
  villager_id: string;
  villager_name: string;
  slot: string;
  reason: string;
  delta_g: number | null;
  detail: string | null;
  created_at: string;
  resolved_at: string | null;
  resolution: string | null;
}

const SELECT = `SELECT r.id, r.session_id, s.kind AS session_kind, s.villager_id, v.name AS villager_name, r.slot, r.reason, r.delta_g, r.detail, r.created_at, r.resolved_at, r.resolution
  FROM review_lines r JOIN store_sessions s ON s.id = r.session_id JOIN villagers v ON v.id = s.villager_id`;

/** Lines still waiting, oldest first (the queue is worked from the front); `offset` lines skipped. */
export function listOpenReview(db: Db, limit = 50, offset = 0): ReviewItem[] {
  return cachedStatement(db, `${SELECT} WHERE r.resolved_at IS NULL ORDER BY r.id LIMIT ? OFFSET ?`).all(limit, offset) as ReviewItem[];
}

/**
 * Lines still waiting after line `after` (none: from the first), oldest first, at most `limit`:
 * a cursor, so a line resolved between two pages makes no other line skipped (an offset would).
 */
export function listOpenReviewAfter(db: Db, limit: number, after = 0): ReviewItem[] {
  return cachedStatement(db, `${SELECT} WHERE r.resolved_at IS NULL AND r.id > ? ORDER BY r.id LIMIT ?`).all(after, limit) as ReviewItem[];
}

/**
 * The first `limit` lines still waiting, oldest first, and how many are waiting in all: one
 * statement (a window count), so the admin page costs no more statements as the queue grows
 * (tests/edge/admin-queries.test.ts).
 */
export function listOpenReviewWithTotal(db: Db, limit: number): { items: ReviewItem[]; total: number } {
  const rows = cachedStatement(db, `SELECT q.*, count(*) OVER () AS open_total FROM (${SELECT} WHERE r.resolved_at IS NULL) q ORDER BY q.id LIMIT ?`).all(limit) as (ReviewItem & { open_total?: number })[];
  const total = rows[0]?.open_total ?? 0;
  for (const r of rows) delete r.open_total;
  return { items: rows, total };
}

/** How many lines are still waiting (a page listing some says how many there are). */
export function countOpenReview(db: Db): number {
  return (cachedStatement(db, 'SELECT count(*) AS n FROM review_lines WHERE resolved_at IS NULL').get() as { n: number }).n;
}

export function getReviewLine(db: Db, id: number): ReviewItem | undefined {
  return cachedStatement(db, `${SELECT} WHERE r.id = ?`).get(id) as ReviewItem | undefined;
}

/**
 * Reasons of lines whose goods the settlement charged already: a sale counted beyond the stock
 * on record (`stock_clipped`: count the shelf; on a restock nothing is sold at all) and spending
 * beyond the offline allowance (`offline_limit`: charged in full). Such a line is acknowledged,
 * never charged: a charge would take the villager's points a second time.
 */
export const PAID_REVIEW_REASONS: ReadonlySet<string> = new Set(['stock_clipped', 'offline_limit']);
export const isPaidReviewLine = (line: Pick<ReviewItem, 'reason'>): boolean => PAID_REVIEW_REASONS.has(line.reason);
/** A line of a restock session: a delivery sells nothing, so it is waived, never charged or corrected. */
export const isRestockReviewLine = (line: Pick<ReviewItem, 'session_kind'>): boolean => line.session_kind === 'restock';

/**
 * `note`: what the maintainer corrected the line to (e.g. `菜籽油×2`), kept with the resolution;
 * `taken`: the goods a correction says left the shelves, taken off the stock with the charge.
 */
export type Resolution = { resolution: 'waive' } | { resolution: 'acknowledge' } | { resolution: 'charge'; points: number; note?: string; taken?: { sku: string; count: number } };

/**
 * The stock a correction moved: which slot, from what to what. `clipped`: the slot held fewer
 * than the correction took, so it stopped at zero and `review_line` is the `stock_clipped` line
 * raised to count the shelf. `slot` null: the product is on no slot, nothing moved (`moved` 0).
 */
export type StockTaken =
  | { slot: string; sku: string; before: number; after: number; clipped: boolean; review_line?: number }
  | { slot: null; sku: string; moved: 0 };

/** What the maintainer is told of a correction whose stock did not add up (both languages). */
export interface StockWarning { kind: 'clipped' | 'no_slot'; message: string; zh: string; review_line: number | null }

/**
 * Takes a correction's goods off the stock. A line's goods were never taken off at settlement
 * (only whole-item lines were: settlement.ts), so what the maintainer says was taken is taken
 * now and nothing else moves. From the line's slot when it holds the product, else from the
 * slot holding the most of it. More than the slot holds stops at zero and raises a
 * `stock_clipped` line on the same visit, as a settlement does (settlement.ts): the count on
 * record is off, the shelf is to be counted. A product on no slot moves no stock.
 */
function takeCorrectedStock(db: Db, line: ReviewItem, taken: { sku: string; count: number }, at: string): StockTaken {
  const slot = cachedStatement(db, 'SELECT slot FROM slots WHERE sku = ? ORDER BY slot = ? DESC, stock DESC, slot LIMIT 1').pluck().get(taken.sku, line.slot) as string | undefined;
  if (slot === undefined) return { slot: null, sku: taken.sku, moved: 0 };
  const moved = adjustStock(db, slot, -taken.count, at);
  if (!moved.clipped) return { slot, sku: taken.sku, before: moved.before, after: moved.stock, clipped: false };
  const detail = `review ${line.id} corrected to ${taken.count} × ${taken.sku} taken but the ledger had ${moved.before}; stock set to 0, please count the shelf / 更正的数量超过账上库存，库存已记为 0，请盘点`;
  const raised = cachedStatement(db, 'INSERT INTO review_lines (session_id, slot, reason, delta_g, detail, created_at) VALUES (?, ?, ?, NULL, ?, ?)').run(line.session_id, slot, 'stock_clipped', detail, at);
  return { slot, sku: taken.sku, before: moved.before, after: moved.stock, clipped: true, review_line: Number(raised.lastInsertRowid) };
}

/** The warning for a correction's stock that did not add up; undefined when it moved as said. */
export function stockWarning(stock: StockTaken | undefined, taken: { name: string; count: number }): StockWarning | undefined {
  if (!stock) return undefined;
  if (stock.slot === null) {
    return { kind: 'no_slot', review_line: null, message: `${taken.name} is on no slot: the correction charged ${taken.count} but moved no stock; put the product on its slot and count it`, zh: `${taken.name} 不在任何货位上：已按 ${taken.count} 件更正扣分，但没有扣减库存；请把商品设到货位并盘点` };
  }
  if (!stock.clipped) return undefined;
  return { kind: 'clipped', review_line: stock.review_line ?? null, message: `slot ${stock.slot} had ${stock.before} × ${taken.name} on record, fewer than the ${taken.count} corrected: its stock is set to 0 and a review line asks to count the shelf`, zh: `货位 ${stock.slot} 账上只有 ${stock.before} 件${taken.name}，少于更正的 ${taken.count} 件：库存已记为 0，已新增一条待核对记录，请盘点该货位` };
}

/** What a resolved line's `resolution` says: `charged 30 (菜籽油×1)`, `waived`, `acknowledged`. */
export function resolutionText(r: Resolution): string {
  return r.resolution === 'charge' ? `charged ${r.points}${r.note ? ` (${r.note})` : ''}` : r.resolution === 'acknowledge' ? 'acknowledged' : 'waived';
}

/**
 * Resolves one line, in one transaction with the charge. Refused when the line is unknown
 * (NOT_FOUND) or already resolved (ALREADY_SETTLED): a line is decided once. A line whose goods
 * were charged at settlement is only acknowledged; a restock's line is only waived (the
 * restocker bought nothing, and a restock cannot be refunded); any other is charged or waived.
 * A correction (a charge with `taken`) also takes its goods off the stock (`stock`: what moved,
 * or that nothing could); a charge of points alone and a waiver name no product and move none.
 */
export function resolveReviewLine(db: Db, id: number, r: Resolution, rules: LedgerRules, clock: Clock = systemClock): { before: ReviewItem; after: ReviewItem; entry: Entry | undefined; debt: number; stock: StockTaken | undefined } {
  const at = iso(clock);
  return inTransaction(db, 'resolving a review line', () => {
    const before = getReviewLine(db, id);
    if (!before) throw new EdgeError(ErrorCode.NOT_FOUND, `no review line ${id}`, { zh: `没有待核对记录 ${id}` });
    if (before.resolved_at !== null) {
      throw new EdgeError(ErrorCode.ALREADY_SETTLED, `review line ${id} was resolved at ${before.resolved_at} (${before.resolution})`, { zh: `待核对记录 ${id} 已处理（${before.resolution}）` });
    }
    if (isPaidReviewLine(before) && r.resolution !== 'acknowledge') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `review line ${id} (${before.reason}): its goods were charged at settlement already; acknowledge it, ${r.resolution === 'charge' ? 'a charge would take the points twice' : 'there is nothing to waive'}`, {
        zh: `待核对记录 ${id} 的商品结算时已经扣过分，请点"已核对"，${r.resolution === 'charge' ? '不能再补扣' : '无需免扣'}`,
        details: { status: 409, field: 'resolution' },
      });
    }
    if (isRestockReviewLine(before) && !isPaidReviewLine(before) && r.resolution !== 'waive') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `review line ${id} (${before.reason}) belongs to restock ${before.session_id}: a restock sells nothing, waive it`, {
        zh: `待核对记录 ${id} 属于补货记录 ${before.session_id}：补货记录不扣分，请免扣`,
        details: { status: 409, field: 'resolution', fieldMessage: 'a restock line is only waived', fieldZh: '补货记录只能免扣' },
      });
    }
    if (!isPaidReviewLine(before) && r.resolution === 'acknowledge') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `review line ${id} (${before.reason}): its goods were not charged; charge, correct or waive it`, { zh: `待核对记录 ${id} 的商品还没有扣分，请补扣、更正或免扣`, details: { field: 'resolution' } });
    }
    let entry: Entry | undefined;
    let debt = 0;
    let stock: StockTaken | undefined;
    if (r.resolution === 'charge') {
      const reason = `核对补扣 review ${before.slot} ${before.reason}${r.note ? ` ${r.note}` : ''}`;
      // The line's number counts per store; its session's id (a UUID) makes the entry's id one
      // no other store can make too: the village ledger keeps one entry per id, whichever store
      // sends it (a second store's `review:1` was acknowledged there and never applied).
      const applied = applyEntry(db, { id: `review:${before.session_id}:${id}`, villagerId: before.villager_id, kind: 'redemption', points: -r.points, reference: before.session_id, reason, origin: 'admin' }, rules, () => new Date(at));
      if (applied.status === 'duplicate' && applied.conflict) throw entryIdTaken(applied.entry);
      entry = applied.entry;
      debt = applied.status === 'applied' ? applied.debtAdded : 0;
      if (r.taken) stock = takeCorrectedStock(db, before, r.taken, at);
    }
    cachedStatement(db, 'UPDATE review_lines SET resolved_at = ?, resolution = ? WHERE id = ?').run(at, resolutionText(r), id);
    return { before, after: getReviewLine(db, id)!, entry, debt, stock };
  });
}
