import { cachedStatement, inTransaction, type Db } from './db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { enqueueOutbox } from './outbox.ts';
import { iso, type Clock, systemClock } from './time.ts';

export type VillagerStatus = 'active' | 'blocked' | 'left';

export interface Villager {
  id: string;
  name: string;
  village: string;
  status: VillagerStatus;
  faceConsentAt: string | null;
  faceConsentBy: string | null;
  isMaintainer: boolean;
  balance: number;
  debt: number;
  createdAt: string;
  updatedAt: string;
}

interface VillagerRow {
  id: string; name: string; village: string; status: string;
  face_consent_at: string | null; face_consent_by: string | null; sync_face_consent: number;
  is_maintainer: number; balance: number; debt: number; created_at: string; updated_at: string;
}

export const villagerFromRow = (r: VillagerRow): Villager => ({
  id: r.id,
  name: r.name,
  village: r.village,
  status: r.status as VillagerStatus,
  faceConsentAt: r.face_consent_at,
  faceConsentBy: r.face_consent_by,
  isMaintainer: r.is_maintainer === 1,
  balance: r.balance,
  debt: r.debt,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What the sync protocol carries as a villager id (cloud-sync/protocol/payloads.ts `TopicId`): one the village ledger cannot take would never reach it. */
const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface NewVillager {
  id: string;
  name: string;
  village: string;
  isMaintainer?: boolean;
}

function checkText(field: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > max) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${field} must be a non-empty text of at most ${max} characters`, { zh: `${field} 必须是不超过 ${max} 个字符的非空文本` });
  }
  return v.trim();
}

export function checkVillagerId(id: unknown): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager id ${JSON.stringify(id)} must be 1–64 letters, digits or _.- (what the village ledger's sync carries)`, { zh: '村民编号只能包含字母、数字和 _.-，长度 1–64（村账本同步可传递的字符）' });
  }
  return id;
}

export function addVillager(db: Db, v: NewVillager, clock: Clock = systemClock): Villager {
  const id = checkVillagerId(v.id);
  // a folder name of its own (enrolment photos) is needed; existing ones stay (sync, withdrawal)
  if (id === '.' || id === '..') {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager id ${JSON.stringify(id)} cannot be . or .. (it cannot name a folder of enrolment photos)`, { zh: '村民编号不能是 . 或 ..（不能用作照片文件夹名）' });
  }
  const name = checkText('name', v.name, 100);
  const village = checkText('village', v.village, 64);
  const at = iso(clock);
  return inTransaction(db, 'adding villager', () => {
    if (getVillager(db, id)) {
      throw new EdgeError(ErrorCode.DUPLICATE_ID, `villager ${id} already exists`, { zh: `村民 ${id} 已存在` });
    }
    cachedStatement(db, 'INSERT INTO villagers (id, name, village, is_maintainer, created_at, updated_at, status_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(id, name, village, v.isMaintainer ? 1 : 0, at, at, at);
    enqueueOutbox(db, 'villager', { op: 'add', id, name, village }, at);
    return getVillager(db, id)!;
  });
}

export function getVillager(db: Db, id: string): Villager | undefined {
  const row = cachedStatement(db, 'SELECT * FROM villagers WHERE id = ?').get(id) as VillagerRow | undefined;
  return row ? villagerFromRow(row) : undefined;
}

export function requireVillager(db: Db, id: string): Villager {
  const v = getVillager(db, id);
  if (!v) throw new EdgeError(ErrorCode.UNKNOWN_VILLAGER, `unknown villager ${JSON.stringify(id)}`, { zh: `未知村民 ${id}` });
  return v;
}

export function listVillagers(db: Db, opts: { village?: string; limit?: number; offset?: number } = {}): Villager[] {
  const rows = opts.village
    ? cachedStatement(db, 'SELECT * FROM villagers WHERE village = ? ORDER BY id LIMIT ? OFFSET ?').all(opts.village, opts.limit ?? -1, opts.offset ?? 0)
    : cachedStatement(db, 'SELECT * FROM villagers ORDER BY id LIMIT ? OFFSET ?').all(opts.limit ?? -1, opts.offset ?? 0);
  return (rows as VillagerRow[]).map(villagerFromRow);
}

export function setVillagerStatus(db: Db, id: string, status: VillagerStatus, clock: Clock = systemClock): Villager {
  const at = iso(clock);
  return inTransaction(db, 'changing villager status', () => {
    requireVillager(db, id);
    // status_changed_at only when it does change: the retention of a left villager's face counts from it
    cachedStatement(db, 'UPDATE villagers SET status = ?, status_changed_at = CASE WHEN status = ? THEN status_changed_at ELSE ? END, updated_at = ? WHERE id = ?').run(status, status, at, at, id);
    enqueueOutbox(db, 'villager', { op: 'status', id, status }, at);
    return requireVillager(db, id);
  });
}

/** Record (or withdraw, with `by: null`) the separate consent to face recognition. */
export function setFaceConsent(db: Db, id: string, by: string | null, clock: Clock = systemClock): Villager {
  const at = iso(clock);
  return inTransaction(db, 'recording face consent', () => {
    requireVillager(db, id);
    cachedStatement(db, 'UPDATE villagers SET face_consent_at = ?, face_consent_by = ?, updated_at = ? WHERE id = ?').run(by === null ? null : at, by, at, id);
    // Only the fact of consent travels to the village ledger, never face data.
    enqueueOutbox(db, 'villager', { op: 'face_consent', id, consent: by !== null }, at);
    return requireVillager(db, id);
  });
}
