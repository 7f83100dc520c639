/**
 * Face templates as rows: sealed (encrypted) descriptors per villager. Sealing and opening
 * live in edge/entry/templates.ts; this file never sees a descriptor in the clear.
 */
import type { Db } from './db.ts';
import { inTransaction } from './db.ts';
import { setFaceConsent } from './villagers.ts';

export interface SealedRow { nonce: Buffer; ciphertext: Buffer; tag: Buffer; quality: number | null; source: string }
export interface StoredTemplate { id: number; villager_id: string; nonce: Buffer; ciphertext: Buffer; tag: Buffer }

/** Insert a villager's sealed templates in one transaction; returns how many were written. */
export function insertTemplates(db: Db, villagerId: string, rows: readonly SealedRow[], at: string): number {
  return inTransaction(db, 'saving face templates', () => {
    const stmt = db.prepare('INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, quality, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    let n = 0;
    for (const r of rows) n += stmt.run(villagerId, r.nonce, r.ciphertext, r.tag, r.quality, r.source, at).changes;
    return n;
  });
}

/** Delete every template of a villager; returns how many went. */
export function deleteTemplates(db: Db, villagerId: string): number {
  return db.prepare('DELETE FROM face_templates WHERE villager_id = ?').run(villagerId).changes;
}

/** Delete a villager's templates and withdraw the consent in one transaction. */
export function deleteTemplatesAndConsent(db: Db, villagerId: string): number {
  return inTransaction(db, 'removing face templates', () => {
    const n = deleteTemplates(db, villagerId);
    setFaceConsent(db, villagerId, null);
    return n;
  });
}

/** Templates of one villager, or of everyone when `villagerId` is absent. */
export function countTemplates(db: Db, villagerId?: string): number {
  const row = villagerId === undefined
    ? db.prepare('SELECT count(*) AS n FROM face_templates').get()
    : db.prepare('SELECT count(*) AS n FROM face_templates WHERE villager_id = ?').get(villagerId);
  return (row as { n: number }).n;
}

/** Templates per villager for a page of villagers, in one query (0 for those without). */
export function templateCounts(db: Db, villagerIds: readonly string[]): Map<string, number> {
  const out = new Map(villagerIds.map((id) => [id, 0]));
  if (villagerIds.length === 0) return out;
  const rows = db.prepare('SELECT villager_id, count(*) AS n FROM face_templates WHERE villager_id IN (SELECT value FROM json_each(?)) GROUP BY villager_id').all(JSON.stringify([...new Set(villagerIds)])) as Array<{ villager_id: string; n: number }>;
  for (const r of rows) out.set(r.villager_id, r.n);
  return out;
}

/** Sealed templates of villagers who consent, grouped by villager (ordered by villager, then age). */
export function consentedTemplateRows(db: Db): StoredTemplate[] {
  return db.prepare(`SELECT t.id, t.villager_id, t.nonce, t.ciphertext, t.tag FROM face_templates t
    JOIN villagers v ON v.id = t.villager_id WHERE v.face_consent_at IS NOT NULL ORDER BY t.villager_id, t.id`).all() as StoredTemplate[];
}

/** Delete templates whose villager has no consent on record; returns how many went. */
export function purgeTemplatesWithoutConsent(db: Db): number {
  return db.prepare('DELETE FROM face_templates WHERE villager_id IN (SELECT id FROM villagers WHERE face_consent_at IS NULL)').run().changes;
}

/** A villager's enrolment standing: status and consent (undefined: not in the ledger). */
export function faceConsentOf(db: Db, villagerId: string): { status: string; faceConsentAt: string | null } | undefined {
  const r = db.prepare('SELECT status, face_consent_at FROM villagers WHERE id = ?').get(villagerId) as { status: string; face_consent_at: string | null } | undefined;
  return r && { status: r.status, faceConsentAt: r.face_consent_at };
}
