/**
 * Rows of learning at the door (edge/entry/adapt.ts): the learned templates (face_templates
 * with origin 'learned', sealed like every template) and the consent that covers learning.
 * Each change is audited in the same transaction. Sealing happens in edge/entry/templates.ts.
 */
import type { Db } from './db.ts';
import { inTransaction } from './db.ts';
import { appendAudit } from './audit.ts';
import { systemClock, type Clock } from './time.ts';
import type { SealedRow, StoredTemplate } from './face-templates.ts';
import { deletePendingOf } from './face-pending.ts';
import { scrubbed } from './face-scrub.ts';

export interface LearnedRow extends StoredTemplate { created_at: string; quality: number | null; source: string | null }

/** A villager's templates (both origins), oldest first. */
export function templateRowsOf(db: Db, villagerId: string): LearnedRow[] {
  return db.prepare('SELECT id, villager_id, nonce, ciphertext, tag, origin, quality, source, created_at FROM face_templates WHERE villager_id = ? ORDER BY id').all(villagerId) as LearnedRow[];
}

export function learningConsentOf(db: Db, villagerId: string): { at: string; by: string } | null {
  const r = db.prepare('SELECT consented_at, consented_by FROM face_learning_consent WHERE villager_id = ?').get(villagerId) as { consented_at: string; consented_by: string } | undefined;
  return r ? { at: r.consented_at, by: r.consented_by } : null;
}

/** Records (by: 'self' or a guardian's name) the consent to learning; `actor` is who recorded it. */
export function allowLearning(db: Db, villagerId: string, by: string, actor: string, at: string): void {
  inTransaction(db, 'recording consent to learning', () => {
    db.prepare('INSERT INTO face_learning_consent (villager_id, consented_at, consented_by) VALUES (?, ?, ?) ON CONFLICT (villager_id) DO UPDATE SET consented_at = excluded.consented_at, consented_by = excluded.consented_by').run(villagerId, at, by);
    appendAudit(db, { actor, action: 'face.learning.allow', target: villagerId, before: null, after: { consented_by: by } });
  });
}

/** Withdraws the consent to learning and deletes what was learned (and what waits for confirmation); returns how many learned templates went. */
export function refuseLearning(db: Db, villagerId: string, actor: string): number {
  return scrubbed(db, inTransaction(db, 'withdrawing consent to learning', () => {
    const n = db.prepare("DELETE FROM face_templates WHERE villager_id = ? AND origin = 'learned'").run(villagerId).changes;
    const pending = deletePendingOf(db, villagerId);
    const had = db.prepare('DELETE FROM face_learning_consent WHERE villager_id = ?').run(villagerId).changes;
    appendAudit(db, { actor, action: 'face.learning.refuse', target: villagerId, before: { consent: had > 0, learned: n, pending }, after: { consent: false, learned: 0, pending: 0 } });
    return n;
  }));
}

/** Deletes the learned and pending templates of a villager (the consent stays); returns how many learned ones went. */
export function forgetLearned(db: Db, villagerId: string, actor: string): number {
  return scrubbed(db, inTransaction(db, 'removing learned face templates', () => {
    const n = db.prepare("DELETE FROM face_templates WHERE villager_id = ? AND origin = 'learned'").run(villagerId).changes;
    const pending = deletePendingOf(db, villagerId);
    appendAudit(db, { actor, action: 'face.learning.forget', target: villagerId, before: { learned: n, pending }, after: { learned: 0, pending: 0 } });
    return n;
  }));
}

export function countLearned(db: Db, villagerId?: string): number {
  const row = villagerId === undefined
    ? db.prepare("SELECT count(*) AS n FROM face_templates WHERE origin = 'learned'").get()
    : db.prepare("SELECT count(*) AS n FROM face_templates WHERE origin = 'learned' AND villager_id = ?").get(villagerId);
  return (row as { n: number }).n;
}

/** Times (ISO) the door learned a template of this villager since `since` (from the audit log: replaced rows are gone). */
export function learnedSince(db: Db, villagerId: string, since: string): string[] {
  return (db.prepare("SELECT at FROM audit_log WHERE action = 'face.learn' AND target = ? AND at >= ? ORDER BY id").all(villagerId, since) as { at: string }[]).map((r) => r.at);
}

/**
 * Stores a learned template (replacing the learned row `replaceId` when given) with its audit
 * record, in one transaction. The audit keeps the figures that justified it, never the face.
 */
export function insertLearned(db: Db, villagerId: string, row: SealedRow, replaceId: number | null, why: Record<string, unknown>, clock: Clock = systemClock): number {
  const at = clock().toISOString();
  const id = inTransaction(db, 'saving a learned face template', () => {
    if (replaceId !== null) db.prepare("DELETE FROM face_templates WHERE id = ? AND villager_id = ? AND origin = 'learned'").run(replaceId, villagerId);
    const id = Number(db.prepare("INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, quality, source, created_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, 'learned')")
      .run(villagerId, row.nonce, row.ciphertext, row.tag, row.quality, row.source, at).lastInsertRowid);
    appendAudit(db, { actor: 'door', action: 'face.learn', target: villagerId, before: replaceId === null ? null : { replaced: replaceId }, after: { template: id, ...why } }, clock);
    return id;
  });
  return replaceId === null ? id : scrubbed(db, id);
}
