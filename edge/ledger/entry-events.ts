/**
 * The door's decisions (entry_events): written by the entry pipeline, read by the admin page.
 * Also the villager's standing as the door policy reads it.
 */
import type { Db } from './db.ts';
import { cachedStatement, translateSqliteError } from './db.ts';
import { offlineAllowance } from './sync-state.ts';
import type { LedgerRules } from './entries.ts';

export interface NewEntryEvent {
  at: string;
  decision: string;
  by: string;
  villagerId: string | null;
  detail: Record<string, unknown>;
}

/** Record one decision; a full disk or an I/O error becomes an EdgeError naming the write. */
export function insertEntryEvent(db: Db, e: NewEntryEvent): number {
  try {
    return Number(cachedStatement(db, 'INSERT INTO entry_events (at, decision, by, villager_id, detail) VALUES (?, ?, ?, ?, ?)').run(e.at, e.decision, e.by, e.villagerId, JSON.stringify(e.detail)).lastInsertRowid);
  } catch (err) {
    throw translateSqliteError(err, "recording the door's decision");
  }
}

export interface EntryEventRow { id: number; at: string; decision: string; by: string; villager_id: string | null; villager_name: string | null; detail: string | null }

/** The latest decisions (older than `beforeId` when given), newest first, with the villager's name (one query, whatever the limit). */
export function recentEntryEventRows(db: Db, limit: number, beforeId = Number.MAX_SAFE_INTEGER): EntryEventRow[] {
  return cachedStatement(db, 
    `SELECT e.id, e.at, e.decision, e.by, e.villager_id, v.name AS villager_name, e.detail
     FROM entry_events e LEFT JOIN villagers v ON v.id = e.villager_id
     WHERE e.id < ?
     ORDER BY e.id DESC LIMIT ?`,
  ).all(beforeId, limit) as EntryEventRow[];
}

export interface DoorStanding {
  id: string;
  status: 'active' | 'blocked' | 'left';
  faceConsentAt: string | null;
  /** Points owed: the recorded shortfall, and with the store's rules how far the balance is below the floor. */
  debt: number;
  /** Points the villager may still spend here today while the ledger is out of reach; absent: no limit now. */
  offlineAllowance?: number;
}

/**
 * What the door policy needs to know of a villager (undefined: not in the ledger). With the
 * store's rules: a balance below the credit floor counts as debt (another store's spending,
 * or a penalty, arriving from the village ledger, which knows no floor), and while the ledger
 * is out of reach the offline allowance left at `now` (sync-state.ts), except for a maintainer,
 * whose visits restock and spend nothing.
 */
export function doorStanding(db: Db, villagerId: string, rules?: LedgerRules, now: Date = new Date()): DoorStanding | undefined {
  const r = cachedStatement(db, 'SELECT id, status, face_consent_at, debt, balance, is_maintainer FROM villagers WHERE id = ?').get(villagerId) as
    { id: string; status: DoorStanding['status']; face_consent_at: string | null; debt: number; balance: number; is_maintainer: number } | undefined;
  if (!r) return undefined;
  const debt = r.debt + (rules ? Math.max(0, rules.creditFloor - r.balance) : 0);
  const standing: DoorStanding = { id: r.id, status: r.status, faceConsentAt: r.face_consent_at, debt };
  const allowance = rules?.offline && r.is_maintainer !== 1 ? offlineAllowance(db, villagerId, rules.offline, now) : Number.POSITIVE_INFINITY;
  return Number.isFinite(allowance) ? { ...standing, offlineAllowance: allowance } : standing;
}
