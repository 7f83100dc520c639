/**
 * Ledger entries: append-only, integer points, idempotent by id.
 *
 * Invariants kept here (and tested in tests/ledger):
 * - balance = SUM(points) of the villager's entries, always (the cached `villagers.balance`
 *   is updated in the same transaction as the insert);
 * - an entry whose id is already present is a no-op reported as "duplicate"; when the entry
 *   holding the id has other content (`conflict`), a caller that answers a person refuses it
 *   with `entryIdTaken`, since a "duplicate" answer would lose the new entry without a word;
 * - no entry applied here (applyEntry) takes a balance below the credit floor: a deduction of
 *   any kind (penalty, redemption, expiry, a negative adjustment), whatever its origin, charges
 *   down to the floor and records the rest as the villager's debt; points earned later (award,
 *   refund, a positive adjustment) repay the debt first. The exit rule of a session is the same
 *   rule. The village ledger's entries arriving by sync (snapshot.ts) are authoritative and
 *   applied as they are: the ledger's balance knows no floor, so a balance may stand below it,
 *   which the door counts as debt (docs/sync-offline.md, "Offline");
 * - every change is one transaction together with its outbox row (or, for entries that came
 *   from the village ledger, with nothing to send back). A deduction that moved 0 points goes up
 *   too, for its `debt`: the village ledger records that debt only, and never streams an entry of
 *   0, which the stores refuse (see applyEntry).
 *
 * No `await` in here: better-sqlite3 transactions are synchronous by design.
 */
import { createHash } from 'node:crypto';
import { cachedStatement, inTransaction, type Db } from './db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { enqueueOutbox } from './outbox.ts';
import { entrySignRefusal, entrySignRefusalZh } from '../../cloud-sync/protocol/entry-sign.ts';
import { requireVillager } from './villagers.ts';
import type { OfflineLimit } from './sync-state.ts';
import { iso, systemClock, type Clock } from './time.ts';

export const ENTRY_KINDS = ['award', 'penalty', 'redemption', 'refund', 'adjustment', 'expiry'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];
export type EntryOrigin = 'store' | 'ledger' | 'cli' | 'admin';

export interface Entry {
  seq: number;
  id: string;
  villagerId: string;
  kind: EntryKind;
  points: number;
  balanceAfter: number;
  reference: string | null;
  reason: string | null;
  origin: EntryOrigin;
  createdAt: string;
}

export interface NewEntry {
  id: string;
  villagerId: string;
  kind: EntryKind;
  points: number;
  reference?: string | null;
  reason?: string | null;
  origin: EntryOrigin;
  /** When the entry was made at its origin; defaults to now. */
  createdAt?: string;
}

export type ApplyResult =
  /**
   * `entry.points` is what moved the balance: for a deduction beyond the floor, less than asked
   * (0 when the balance was at or below the floor already), with the rest in `debtAdded`.
   */
  | { status: 'applied'; entry: Entry; debtAdded: number; debtRepaid?: Entry }
  | { status: 'duplicate'; entry: Entry; conflict: boolean };

export interface LedgerRules {
  /** Lowest balance any entry may leave (≤ 0); a deduction beyond it becomes debt. */
  creditFloor: number;
  /**
   * The store's id, in the ids of entries it derives from another one (a debt repayment taken
   * from an award every store receives): two stores repaying from one award make two entries.
   * Absent: a store on its own.
   */
  store?: string;
  /**
   * A store that syncs with a village ledger: what a villager may spend per day while the
   * ledger is out of reach (checked at the door, flagged at settlement; see sync-state.ts).
   * Absent: no offline limit (a store on its own has no other store to double-spend at).
   */
  offline?: OfflineLimit;
}

interface EntryRow {
  seq: number; id: string; villager_id: string; kind: string; points: number; balance_after: number;
  reference: string | null; reason: string | null; origin: string; created_at: string;
}

export const entryFromRow = (r: EntryRow): Entry => ({
  seq: r.seq,
  id: r.id,
  villagerId: r.villager_id,
  kind: r.kind as EntryKind,
  points: r.points,
  balanceAfter: r.balance_after,
  reference: r.reference,
  reason: r.reason,
  origin: r.origin as EntryOrigin,
  createdAt: r.created_at,
});

const ENTRY_ID_RE = /^[A-Za-z0-9_.:#@-]{1,128}$/;

/** The sign each kind of entry must carry (one rule with the village ledger's: cloud-sync/protocol/entry-sign.ts). */
function checkSign(kind: EntryKind, points: number): void {
  const why = entrySignRefusal(kind, points);
  if (why !== undefined) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, why, { zh: entrySignRefusalZh(kind, points) ?? why });
}

/** What every entry must be, wherever it comes from: an id, a kind, integer points in range, a reason of bounded length. */
function checkEntryFormat(e: NewEntry): void {
  if (typeof e.id !== 'string' || !ENTRY_ID_RE.test(e.id)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `entry id ${JSON.stringify(e.id)} must be 1–128 letters, digits or _.:#@-`, { zh: '流水编号格式不正确' });
  }
  if (!(ENTRY_KINDS as readonly string[]).includes(e.kind)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `entry kind ${JSON.stringify(e.kind)} is not one of ${ENTRY_KINDS.join(', ')}`, { zh: '流水类型不正确' });
  }
  if (typeof e.points !== 'number' || !Number.isSafeInteger(e.points)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `points must be an integer, got ${JSON.stringify(e.points)}`, { zh: '积分必须是整数' });
  }
  if (Math.abs(e.points) > 1_000_000_000) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `points ${e.points} is out of range`, { zh: '积分数值超出范围' });
  }
  if (e.reason != null && (typeof e.reason !== 'string' || e.reason.length > 500)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'reason must be a text of at most 500 characters', { zh: '事由最多 500 个字符' });
  }
}

export function validateNewEntry(e: NewEntry): void {
  checkEntryFormat(e);
  checkSign(e.kind, e.points);
}

/**
 * An entry of the village ledger (the stream, a snapshot): as a new entry, except that 0 points
 * are taken as they are. Stores of older versions sent a deduction that found the villager at the
 * floor as a 0-point entry, and ledgers of older versions took it and published it: refusing it
 * would stop the stream at its seq, and every snapshot after it, for good. It moves nothing.
 */
export function validateLedgerEntry(e: NewEntry): void {
  checkEntryFormat(e);
  if (e.points !== 0) checkSign(e.kind, e.points);
}

export function getEntry(db: Db, id: string): Entry | undefined {
  const row = cachedStatement(db, 'SELECT * FROM entries WHERE id = ?').get(id) as EntryRow | undefined;
  return row ? entryFromRow(row) : undefined;
}

export function listEntries(db: Db, villagerId: string, opts: { limit?: number; beforeSeq?: number } = {}): Entry[] {
  const rows = cachedStatement(db, 'SELECT * FROM entries WHERE villager_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
    .all(villagerId, opts.beforeSeq ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100) as EntryRow[];
  return rows.map(entryFromRow);
}

/**
 * The refusal of an entry under an id that an entry with other content (another villager, kind
 * or points) holds: a different entry, which is not applied.
 */
export function entryIdTaken(held: Entry): EdgeError {
  return new EdgeError(
    ErrorCode.ENTRY_ID_TAKEN,
    `entry id ${held.id} is in use already by another entry (${held.kind} ${held.points} for ${held.villagerId}); nothing was applied: choose another id`,
    { zh: `流水编号 ${held.id} 已被另一条记录使用（${held.villagerId} ${held.points > 0 ? '+' : ''}${held.points} 分），本次未记账，请换一个编号`, details: { field: 'id' } },
  );
}

/**
 * A deduction stopped at the floor was stored with fewer points than were asked for, the rest
 * kept as `debt_added` (schema version 12): the same entry asked for exactly `points - debt_added`;
 * any other amount is another entry, whose id is taken. An entry written before version 12 does
 * not say what it asked: a smaller stored deduction is taken as the same entry if it did stop
 * there (its balance after is the floor, or below it where the village ledger's entries had
 * taken the balance: then it stored 0).
 */
function sameContent(db: Db, a: Entry, b: NewEntry, rules: LedgerRules): boolean {
  if (a.villagerId !== b.villagerId || a.kind !== b.kind) return false;
  const debt = cachedStatement(db, 'SELECT debt_added FROM entries WHERE id = ?').pluck().get(a.id) as number | null;
  if (debt !== null) return a.points - debt === b.points;
  const stoppedAtFloor = b.points < 0 && a.points <= 0 && a.points > b.points && a.balanceAfter <= rules.creditFloor;
  return a.points === b.points || stoppedAtFloor;
}

/** Insert one entry and move the cached balance. Must run inside a transaction. */
function insertEntry(db: Db, e: NewEntry, balanceAfter: number, at: string, outbox: boolean, debtAdded = 0): Entry {
  cachedStatement(db, 
    `INSERT INTO entries (id, villager_id, kind, points, balance_after, reference, reason, origin, created_at, debt_added)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.id, e.villagerId, e.kind, e.points, balanceAfter, e.reference ?? null, e.reason ?? null, e.origin, e.createdAt ?? at, debtAdded);
  const changed = cachedStatement(db, 'UPDATE villagers SET balance = ?, updated_at = ? WHERE id = ? AND balance = ?').run(balanceAfter, at, e.villagerId, balanceAfter - e.points).changes;
  if (changed !== 1) throw new EdgeError(ErrorCode.INTERNAL, `balance of ${e.villagerId} moved under us`);
  const entry = getEntry(db, e.id)!;
  if (debtAdded > 0) cachedStatement(db, 'UPDATE villagers SET debt = debt + ?, updated_at = ? WHERE id = ?').run(debtAdded, at, e.villagerId);
  if (outbox) enqueueOutbox(db, 'entry', toWire(entry, debtAdded), at);
  return entry;
}

/** The `reference` of an entry made by hand at the store PC (`store-edge points …`): the passbook's 店内手工调整. */
export { BY_HAND_REFERENCE } from '../../cloud-sync/protocol/payloads.ts';

/** The entry as it travels to the village ledger; `debt` is the part of a deduction beyond the floor (all of it when `points` is 0). */
export function toWire(e: Entry, debtAdded = 0) {
  return {
    id: e.id, villager: e.villagerId, kind: e.kind, points: e.points, balance_after: e.balanceAfter, reference: e.reference, reason: e.reason, origin: e.origin, created_at: e.createdAt,
    ...(debtAdded > 0 ? { debt: debtAdded } : {}),
  };
}

/** How much of a deduction of `asked` (> 0) the balance can pay down to the floor; the rest is debt. */
export function splitAtFloor(balance: number, asked: number, rules: LedgerRules): { charged: number; debt: number } {
  const charged = Math.min(asked, Math.max(0, balance - rules.creditFloor));
  return { charged, debt: asked - charged };
}

/**
 * Apply one entry (inside the caller's transaction if there is one, else in its own), under
 * the one rule above: a deduction stops at the floor and the rest is debt, whatever its kind or
 * origin; earnings repay debt first. A deduction that finds the balance at or below the floor is still
 * stored here (with 0 points), so that its id makes a retry a duplicate and the debt is not doubled,
 * and sent to the village ledger with 0 points and its `debt` (all it asked): the ledger records
 * the debt only (cloud-sync/ledger/debts.ts), so that its view of the villager's debt is whole and
 * sees the debt before this store's repayment of it. It never reaches the village stream: the
 * stores refuse an entry of 0.
 */
export function applyEntry(db: Db, e: NewEntry, rules: LedgerRules, clock: Clock = systemClock): ApplyResult {
  validateNewEntry(e);
  const at = iso(clock);
  return inTransaction(db, 'applying entry', (): ApplyResult => {
    const existing = getEntry(db, e.id);
    if (existing) return { status: 'duplicate', entry: existing, conflict: !sameContent(db, existing, e, rules) };
    const villager = requireVillager(db, e.villagerId);
    const outbox = e.origin !== 'ledger';
    if (e.points < 0) {
      const { charged, debt } = splitAtFloor(villager.balance, -e.points, rules);
      // Nothing charged (the balance was at the floor): the entry of 0 points stays here as the
      // record that makes a retry a duplicate, and goes up for its debt (`debt` > 0 always then).
      const entry = insertEntry(db, { ...e, points: -charged }, villager.balance - charged, at, outbox, debt);
      return { status: 'applied', entry, debtAdded: debt };
    }
    const entry = insertEntry(db, e, villager.balance + e.points, at, outbox);
    const debtRepaid = villager.debt > 0 ? repayDebt(db, villager.id, entry, rules, at) : undefined;
    return debtRepaid ? { status: 'applied', entry, debtAdded: 0, debtRepaid } : { status: 'applied', entry, debtAdded: 0 };
  });
}

/**
 * Deterministic (a replay at this store finds it), unique per earning entry and store (each store
 * repays its own debt from an award all of them receive), and within the id limit.
 */
export function repaymentId(earningId: string, store?: string): string {
  const at = store === undefined ? '' : `@${store}`;
  const id = `${earningId}#debt${at}`;
  return id.length <= 128 ? id : `debt#${createHash('sha256').update(earningId).digest('hex').slice(0, 40)}${at}`;
}

/**
 * The exit rule's other half: a shortfall recorded at settlement is taken from the next
 * points earned, as a redemption that refers to the entry that made it possible.
 */
export function repayDebt(db: Db, villagerId: string, after: Entry, rules: LedgerRules, at: string): Entry | undefined {
  const v = requireVillager(db, villagerId);
  const room = v.balance - rules.creditFloor;
  const take = Math.min(v.debt, room);
  if (take <= 0) return undefined;
  const repayment = insertEntry(
    db,
    { id: repaymentId(after.id, rules.store), villagerId, kind: 'redemption', points: -take, reference: `debt:${after.id}`, reason: '偿还欠分 / repayment of an earlier shortfall', origin: 'store' },
    v.balance - take,
    at,
    true,
  );
  cachedStatement(db, 'UPDATE villagers SET debt = debt - ? WHERE id = ?').run(take, villagerId);
  return repayment;
}

/**
 * Settle-time redemption under the exit rule: charge what the balance allows down to the
 * floor, record the rest as debt. Returns the entry (absent when nothing could be charged).
 * Must run inside the caller's transaction.
 */
export function redeemAtExit(db: Db, e: Omit<NewEntry, 'kind' | 'points'> & { points: number }, rules: LedgerRules, at: string): { entry: Entry | undefined; charged: number; debt: number } {
  if (!db.inTransaction) throw new EdgeError(ErrorCode.INTERNAL, 'redeemAtExit must run inside the settlement transaction');
  const total = e.points;
  if (!Number.isSafeInteger(total) || total < 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `a session total must be a non-negative integer, got ${total}`);
  const v = requireVillager(db, e.villagerId);
  const { charged, debt } = splitAtFloor(v.balance, total, rules);
  let entry: Entry | undefined;
  if (charged > 0) {
    const ne: NewEntry = { ...e, kind: 'redemption', points: -charged };
    validateNewEntry(ne);
    entry = insertEntry(db, ne, v.balance - charged, at, true);
  }
  // no entry when nothing is charged: the session row keeps the settlement idempotent, and
  // carries the debt to the village ledger
  if (debt > 0) cachedStatement(db, 'UPDATE villagers SET debt = debt + ?, updated_at = ? WHERE id = ?').run(debt, at, v.id);
  return { entry, charged, debt };
}

/** Villagers whose cached balance differs from the sum of their entries (should be none). */
export function findBalanceMismatches(db: Db): { villagerId: string; cached: number; sum: number }[] {
  return cachedStatement(db, 
      `SELECT v.id AS villagerId, v.balance AS cached, COALESCE(SUM(e.points), 0) AS sum
       FROM villagers v LEFT JOIN entries e ON e.villager_id = v.id
       GROUP BY v.id HAVING cached != sum`,
    )
    .all() as { villagerId: string; cached: number; sum: number }[];
}
