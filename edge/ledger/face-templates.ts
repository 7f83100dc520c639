/**
 * Face templates as rows: sealed (encrypted) descriptors per villager. Sealing and opening
 * live in edge/entry/templates.ts; this file never sees a descriptor in the clear.
 */
import Database from 'better-sqlite3';
import type { Db } from './db.ts';
import { cachedStatement, inTransaction } from './db.ts';
import { getMeta, setMeta } from './meta.ts';
import { setFaceConsent } from './villagers.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { scrubFaceDeletion } from './face-scrub.ts';

export interface SealedRow { nonce: Buffer; ciphertext: Buffer; tag: Buffer; quality: number | null; source: string }
export interface StoredTemplate { id: number; villager_id: string; nonce: Buffer; ciphertext: Buffer; tag: Buffer; origin: 'enrolled' | 'learned' }

/** Insert a villager's sealed templates in one transaction; returns how many were written. */
export function insertTemplates(db: Db, villagerId: string, rows: readonly SealedRow[], at: string): number {
  return inTransaction(db, 'saving face templates', () => {
    const stmt = cachedStatement(db, 'INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, quality, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    let n = 0;
    for (const r of rows) n += stmt.run(villagerId, r.nonce, r.ciphertext, r.tag, r.quality, r.source, at).changes;
    return n;
  });
}

const deleteOf = (db: Db, villagerId: string): number => cachedStatement(db, 'DELETE FROM face_templates WHERE villager_id = ?').run(villagerId).changes;

/** Delete every template of a villager, leaving no bytes of them (./face-scrub.ts); returns how many went. */
export function deleteTemplates(db: Db, villagerId: string): number {
  const n = deleteOf(db, villagerId);
  if (n > 0) scrubFaceDeletion(db);
  return n;
}

/** Delete a villager's templates (pending ones too) and withdraw the consent (face and learning) in one transaction. */
export function deleteTemplatesAndConsent(db: Db, villagerId: string): number {
  const n = inTransaction(db, 'removing face templates', () => {
    const n = deleteOf(db, villagerId);
    db.prepare('DELETE FROM face_pending_templates WHERE villager_id = ?').run(villagerId);
    db.prepare('DELETE FROM face_learning_consent WHERE villager_id = ?').run(villagerId);
    setFaceConsent(db, villagerId, null);
    return n;
  });
  // no bytes of them left in the file or the WAL (./face-scrub.ts)
  scrubFaceDeletion(db);
  return n;
}

/** Templates of one villager, or of everyone when `villagerId` is absent. */
export function countTemplates(db: Db, villagerId?: string): number {
  const row = villagerId === undefined
    ? cachedStatement(db, 'SELECT count(*) AS n FROM face_templates').get()
    : cachedStatement(db, 'SELECT count(*) AS n FROM face_templates WHERE villager_id = ?').get(villagerId);
  return (row as { n: number }).n;
}

/** Templates (or only the learned ones) of each of `villagerIds` (0 for one with none), in one query: a page of villagers is one read, not one per row. */
export function countTemplatesOf(db: Db, villagerIds: readonly string[], origin?: 'learned'): Map<string, number> {
  const out = new Map(villagerIds.map((id) => [id, 0]));
  if (villagerIds.length === 0) return out;
  const only = origin === 'learned' ? "origin = 'learned' AND " : '';
  const rows = cachedStatement(db, `SELECT villager_id AS id, count(*) AS n FROM face_templates WHERE ${only}villager_id IN (SELECT value FROM json_each(?)) GROUP BY villager_id`).all(JSON.stringify([...new Set(villagerIds)])) as Array<{ id: string; n: number }>;
  for (const r of rows) out.set(r.id, r.n);
  return out;
}

/** Sealed templates of villagers who consent, grouped by villager (ordered by villager, then age). */
export function consentedTemplateRows(db: Db): StoredTemplate[] {
  return cachedStatement(db, `SELECT t.id, t.villager_id, t.nonce, t.ciphertext, t.tag, t.origin FROM face_templates t
    JOIN villagers v ON v.id = t.villager_id WHERE v.face_consent_at IS NOT NULL ORDER BY t.villager_id, t.id`).all() as StoredTemplate[];
}

const JOINED = `SELECT t.id, t.villager_id, CAST(t.nonce || t.tag || t.ciphertext AS BLOB) FROM face_templates t
  JOIN villagers v ON v.id = t.villager_id WHERE v.face_consent_at IS NOT NULL`;

/**
 * Every consented template as [villager, nonce ‖ tag ‖ ciphertext]: one buffer a row and no row
 * object, for the gallery sent whole to the inference worker. SQLite's `||` joins the blobs'
 * bytes as they are. In one turn of the event loop.
 */
export function consentedSealedJoined(db: Db): Array<[string, Buffer]> {
  return (cachedStatement(db, `${JOINED} ORDER BY t.id`).raw().all() as Array<[number, string, Buffer]>).map(([, v, j]) => [v, j]);
}

/**
 * The same rows in slices of `slice`, one slice a turn of the event loop, so that 45,000
 * templates do not hold the main thread (the sessions, the scales' polling) for one long turn.
 * The slices come from one snapshot: a read transaction on a second, read-only connection (WAL
 * lets the store's own connection write meanwhile), so a removal or a withdrawn consent cannot
 * fall between two slices. A ledger in memory (tests) is one slice.
 */
export async function* consentedSealedSlices(db: Db, slice = 2000): AsyncGenerator<Array<[string, Buffer]>> {
  if (db.memory || db.name === ':memory:' || db.name === '') {
    yield consentedSealedJoined(db);
    return;
  }
  const reader = new Database(db.name, { readonly: true, fileMustExist: true });
  try {
    reader.pragma('busy_timeout = 5000');
    const stmt = reader.prepare(`${JOINED} AND t.id > ? ORDER BY t.id LIMIT ?`).raw();
    reader.exec('BEGIN');
    let last = -1;
    for (;;) {
      const part = stmt.all(last, slice) as Array<[number, string, Buffer]>;
      yield part.map(([, v, j]) => [v, j]);
      if (part.length < slice) break;
      last = (part[part.length - 1] as [number, string, Buffer])[0];
      await new Promise((resolve) => setImmediate(resolve));
    }
    reader.exec('COMMIT');
  } finally {
    reader.close();
  }
}

/** Every slice of `consentedSealedSlices` together. */
export async function consentedSealedJoinedInSlices(db: Db, slice = 2000): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  for await (const part of consentedSealedSlices(db, slice)) out.push(...part);
  return out;
}

/** The newest template's id (0 with none): rows above it were stored after this moment (ids only grow: AUTOINCREMENT). */
export function lastTemplateId(db: Db): number {
  return (cachedStatement(db, 'SELECT coalesce(max(id), 0) AS n FROM face_templates').get() as { n: number }).n;
}

/** Consented templates stored after `afterId`, as `consentedSealedJoined`: what an enrolment's look-alike check did not see. */
export function consentedSealedJoinedSince(db: Db, afterId: number): Array<[string, Buffer]> {
  return (cachedStatement(db, `${JOINED} AND t.id > ? ORDER BY t.id`).raw().all(afterId) as Array<[number, string, Buffer]>).map(([, v, j]) => [v, j]);
}

/** One villager's sealed templates, if they consent (none otherwise): a reload of one villager opens only theirs. */
export function consentedTemplateRowsOf(db: Db, villagerId: string): StoredTemplate[] {
  return cachedStatement(db, `SELECT t.id, t.villager_id, t.nonce, t.ciphertext, t.tag, t.origin FROM face_templates t
    JOIN villagers v ON v.id = t.villager_id WHERE t.villager_id = ? AND v.face_consent_at IS NOT NULL ORDER BY t.id`).all(villagerId) as StoredTemplate[];
}

const RECOGNIZER_KEY = 'face_recognizer';

/** The tag of the recognizer configuration that made the stored templates (models/recognizer.ts recognizerTag); undefined: never recorded. */
export function templatesRecognizer(db: Db): string | undefined {
  return getMeta(db, RECOGNIZER_KEY);
}

// written with every tag since the tag has been made from the engine's choice (edge/entry/templates.ts
// templatesTag); a tag without it was written earlier and may have missed `stretch_dim`
const RECOGNIZER_SCHEME_KEY = 'face_recognizer_scheme';
const RECOGNIZER_SCHEME = '2';

export function setTemplatesRecognizer(db: Db, tag: string): void {
  inTransaction(db, 'recording the face recognizer', () => {
    setMeta(db, RECOGNIZER_KEY, tag);
    setMeta(db, RECOGNIZER_SCHEME_KEY, RECOGNIZER_SCHEME);
  });
}

/** Whether the stored tag was written as tags are made now (see RECOGNIZER_SCHEME_KEY). */
export function templatesRecognizerCurrent(db: Db): boolean {
  return getMeta(db, RECOGNIZER_SCHEME_KEY) === RECOGNIZER_SCHEME;
}

/** Delete templates whose villager has no consent on record, and learned ones without learning consent; returns how many went. */
export function purgeTemplatesWithoutConsent(db: Db): number {
  const n = inTransaction(db, 'purging face templates without consent', () =>
    cachedStatement(db, 'DELETE FROM face_templates WHERE villager_id IN (SELECT id FROM villagers WHERE face_consent_at IS NULL)').run().changes
    + cachedStatement(db, "DELETE FROM face_templates WHERE origin = 'learned' AND villager_id NOT IN (SELECT villager_id FROM face_learning_consent)").run().changes);
  if (n > 0) scrubFaceDeletion(db);
  return n;
}

/**
 * How a guardian's consent (a child under 14) is recorded in face_consent_by: `guardian:NAME`,
 * as the admin page records it and shows it ('self' is the villager's own). A blank name is
 * refused, naming `what` gave it.
 */
export function guardianConsent(name: string, what: string): string {
  const n = name.trim();
  if (n === '') throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${what} must name the guardian who consents (it is empty)`, { zh: `${what}：监护人姓名不能为空` });
  return `guardian:${n}`;
}

/** A villager's enrolment standing: status and consent (undefined: not in the ledger). */
export function faceConsentOf(db: Db, villagerId: string): { status: string; faceConsentAt: string | null } | undefined {
  const r = cachedStatement(db, 'SELECT status, face_consent_at FROM villagers WHERE id = ?').get(villagerId) as { status: string; face_consent_at: string | null } | undefined;
  return r && { status: r.status, faceConsentAt: r.face_consent_at };
}
