/**
 * Pending face templates (schema version 9, edge/entry/card-learning.ts): frames the door kept
 * from an `uncertain` visit that the villager completed with their own card or QR code. They
 * take no part in matching; a maintainer confirms one (it becomes a learned template in
 * face_templates) or rejects it, and unconfirmed ones expire. Every change is audited in the
 * same transaction; the audit keeps the figures, never the face. Sealing happens in
 * edge/entry/templates.ts: this file never sees a descriptor or a thumbnail in the clear.
 */
import type { Db } from './db.ts';
import { inTransaction } from './db.ts';
import { appendAudit } from './audit.ts';
import { scrubbed, scrubFaceDeletion } from './face-scrub.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

/** An AES-256-GCM sealed value (edge/entry/templates.ts seals and opens). */
export interface SealedTemplate { nonce: Buffer; ciphertext: Buffer; tag: Buffer }

export interface PendingFigures {
  /** Distance to the villager's nearest template, to the enrolled ones alone, and the lead over the next villager. */
  distance: number;
  enrolledDistance: number;
  margin: number;
  credential: 'card' | 'qr';
}

export interface PendingRow extends PendingFigures {
  id: number;
  villagerId: string;
  sealed: SealedTemplate;
  thumb: SealedTemplate | null;
  createdAt: string;
  expiresAt: string;
}

interface RawRow {
  id: number; villager_id: string; nonce: Buffer; ciphertext: Buffer; tag: Buffer;
  thumb_nonce: Buffer | null; thumb_ciphertext: Buffer | null; thumb_tag: Buffer | null;
  distance: number; margin: number; enrolled_distance: number; credential: 'card' | 'qr'; created_at: string; expires_at: string;
}

const fromRow = (r: RawRow): PendingRow => ({
  id: r.id, villagerId: r.villager_id, sealed: { nonce: r.nonce, ciphertext: r.ciphertext, tag: r.tag },
  thumb: r.thumb_nonce && r.thumb_ciphertext && r.thumb_tag ? { nonce: r.thumb_nonce, ciphertext: r.thumb_ciphertext, tag: r.thumb_tag } : null,
  distance: r.distance, margin: r.margin, enrolledDistance: r.enrolled_distance, credential: r.credential, createdAt: r.created_at, expiresAt: r.expires_at,
});

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** The villager's pending templates still open at `now` (ISO), oldest first. */
export function pendingOf(db: Db, villagerId: string, now: string): PendingRow[] {
  return (db.prepare('SELECT * FROM face_pending_templates WHERE villager_id = ? AND expires_at > ? ORDER BY id').all(villagerId, now) as RawRow[]).map(fromRow);
}

/** One pending template of this villager, open at `now`; refused (404) otherwise. */
export function requirePending(db: Db, villagerId: string, id: number, now: string): PendingRow {
  const r = db.prepare('SELECT * FROM face_pending_templates WHERE id = ? AND villager_id = ?').get(id, villagerId) as RawRow | undefined;
  if (!r) throw new EdgeError(ErrorCode.NOT_FOUND, `no pending face template ${id} of villager ${villagerId}`, { zh: `村民 ${villagerId} 没有待确认的人脸模板 ${id}`, details: { field: 'pending' } });
  if (r.expires_at <= now) throw new EdgeError(ErrorCode.NOT_FOUND, `pending face template ${id} of villager ${villagerId} expired at ${r.expires_at}`, { zh: `村民 ${villagerId} 的待确认人脸模板 ${id} 已于 ${r.expires_at} 过期`, details: { field: 'pending' } });
  return fromRow(r);
}

/** Open pending templates of one villager (or of everyone) at `now`. */
export function countPending(db: Db, now: string, villagerId?: string): number {
  const row = villagerId === undefined
    ? db.prepare('SELECT count(*) AS n FROM face_pending_templates WHERE expires_at > ?').get(now)
    : db.prepare('SELECT count(*) AS n FROM face_pending_templates WHERE villager_id = ? AND expires_at > ?').get(villagerId, now);
  return (row as { n: number }).n;
}

/** Keeps a pending template with its audit record (`face.learn.pending`, actor `door`); returns its id. */
export function insertPending(db: Db, villagerId: string, sealed: SealedTemplate, thumb: SealedTemplate | null, f: PendingFigures, at: string, expiresAt: string): number {
  return inTransaction(db, 'keeping a pending face template', () => {
    const id = Number(db.prepare(`INSERT INTO face_pending_templates (villager_id, nonce, ciphertext, tag, thumb_nonce, thumb_ciphertext, thumb_tag, distance, margin, enrolled_distance, credential, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(villagerId, sealed.nonce, sealed.ciphertext, sealed.tag, thumb?.nonce ?? null, thumb?.ciphertext ?? null, thumb?.tag ?? null, f.distance, f.margin, f.enrolledDistance, f.credential, at, expiresAt).lastInsertRowid);
    appendAudit(db, { actor: 'door', action: 'face.learn.pending', target: villagerId, before: null, after: { pending: id, distance: round(f.distance), enrolled_distance: round(f.enrolledDistance), margin: round(f.margin), credential: f.credential, expires_at: expiresAt } });
    return id;
  });
}

/**
 * A maintainer confirms: the pending template becomes a learned one (origin 'learned', source
 * 'card-confirmed'), replacing the learned row `replaceId` when given; audited
 * (`face.learn.confirm`). Returns the new template's id.
 */
export function confirmPending(db: Db, p: PendingRow, replaceId: number | null, actor: string, at: string): number {
  return scrubbed(db, inTransaction(db, 'confirming a pending face template', () => {
    if (db.prepare('DELETE FROM face_pending_templates WHERE id = ? AND villager_id = ?').run(p.id, p.villagerId).changes !== 1) {
      throw new EdgeError(ErrorCode.NOT_FOUND, `pending face template ${p.id} is gone (confirmed, rejected or expired meanwhile)`, { zh: `待确认人脸模板 ${p.id} 已不存在（已确认、拒绝或过期）`, details: { field: 'pending' } });
    }
    if (replaceId !== null) db.prepare("DELETE FROM face_templates WHERE id = ? AND villager_id = ? AND origin = 'learned'").run(replaceId, p.villagerId);
    const template = Number(db.prepare("INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, quality, source, created_at, origin) VALUES (?, ?, ?, ?, NULL, 'card-confirmed', ?, 'learned')")
      .run(p.villagerId, p.sealed.nonce, p.sealed.ciphertext, p.sealed.tag, at).lastInsertRowid);
    appendAudit(db, { actor, action: 'face.learn.confirm', target: p.villagerId, before: { pending: p.id, ...(replaceId === null ? {} : { replaced: replaceId }) }, after: { template, distance: round(p.distance), margin: round(p.margin), credential: p.credential } });
    return template;
  }));
}

/** A maintainer rejects: the pending template is deleted; audited (`face.learn.reject`). */
export function rejectPending(db: Db, p: PendingRow, actor: string): void {
  inTransaction(db, 'rejecting a pending face template', () => {
    db.prepare('DELETE FROM face_pending_templates WHERE id = ?').run(p.id);
    appendAudit(db, { actor, action: 'face.learn.reject', target: p.villagerId, before: { pending: p.id, distance: round(p.distance), credential: p.credential }, after: null });
  });
  scrubFaceDeletion(db);
}

/**
 * Deletes pending templates expired at `now`, and any whose villager no longer consents to
 * face recognition or to learning; one audit record (`face.learn.expire`, actor `system`) per
 * villager. Returns how many went.
 */
export function expirePending(db: Db, now: string): number {
  const n = inTransaction(db, 'expiring pending face templates', () => {
    const gone = db.prepare(`SELECT villager_id AS v, count(*) AS n FROM face_pending_templates
      WHERE expires_at <= ? OR villager_id NOT IN (SELECT villager_id FROM face_learning_consent)
        OR villager_id IN (SELECT id FROM villagers WHERE face_consent_at IS NULL) GROUP BY villager_id`).all(now) as { v: string; n: number }[];
    if (!gone.length) return 0;
    const n = db.prepare(`DELETE FROM face_pending_templates WHERE expires_at <= ? OR villager_id NOT IN (SELECT villager_id FROM face_learning_consent)
        OR villager_id IN (SELECT id FROM villagers WHERE face_consent_at IS NULL)`).run(now).changes;
    for (const g of gone) appendAudit(db, { actor: 'system', action: 'face.learn.expire', target: g.v, before: { pending: g.n }, after: { pending: 0 } });
    return n;
  });
  return n > 0 ? scrubbed(db, n) : n;
}

/** Deletes every pending template of a villager (consent withdrawn, learning forgotten); no audit of its own: the caller's covers it. */
export function deletePendingOf(db: Db, villagerId: string): number {
  return db.prepare('DELETE FROM face_pending_templates WHERE villager_id = ?').run(villagerId).changes;
}
