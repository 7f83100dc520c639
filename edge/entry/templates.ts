/**
 * Face templates at rest: descriptors encrypted with AES-256-GCM under a key kept in a file
 * outside the database (created at first start, owner-only). The villager id is the GCM
 * additional data, so a row copied onto another villager fails to decrypt.
 * Data access functions take `db` first (ledger style).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../ledger/db.ts';
import { consentedSealedJoined, consentedSealedSlices, consentedTemplateRows, consentedTemplateRowsOf, countTemplates, deleteTemplates, insertTemplates, purgeTemplatesWithoutConsent, setTemplatesRecognizer, templatesRecognizer, templatesRecognizerCurrent } from '../ledger/face-templates.ts';
import { EdgeError } from '../errors.ts';
import { writeNewFile } from '../new-file.ts';
import { descriptorLength, recognizerChoice, type EntryConfig } from './config.ts';
import { DESCRIPTOR_LENGTHS, recognizerTag } from '../../models/recognizer.ts';
import { isModelError } from '../../models/errors.ts';
import { concatBatches, joinedLength, openSealed, packJoined, sealDescriptor as sealModel, type SealedBatch } from '../../models/sealed.ts';

export const KEY_BYTES = 32;
// descriptors of every recognizer (edge/entry/config.ts `recognizer`): face-api 128, Human's
// mobilefacenet 192 and mobileface 256, ArcFace 512, Human's faceres 1024, and fusions of two
const DESCRIPTOR_BYTES = [...DESCRIPTOR_LENGTHS].map((n) => n * 4);

/** Loads the template key; undefined when there is none at `file` (nothing is made). */
export function loadTemplateKey(file: string): Buffer | undefined {
  try {
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) throw new EdgeError('CONFIG_INVALID', `face template key ${file} has ${key.length} bytes, expected ${KEY_BYTES}`, { zh: '人脸模板密钥文件损坏' });
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}

/**
 * Loads the template key, creating it (0600, folder 0700) when absent: for the daemon's start
 * only (a CLI command uses edge/keys.ts `commandTemplateKey`, which never makes one).
 */
export function loadOrCreateTemplateKey(file: string): Buffer {
  const found = loadTemplateKey(file);
  if (found) return found;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // never overwrite a key another process created meanwhile (that would orphan its templates);
  // a write that fails (a full disk) leaves no empty key, which would be refused at every start after
  try {
    writeNewFile(file, key);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateTemplateKey(file);
    throw err;
  }
  return key;
}

export interface SealedTemplate { nonce: Buffer; ciphertext: Buffer; tag: Buffer }

export function sealDescriptor(key: Buffer, villagerId: string, descriptor: Float32Array): SealedTemplate {
  return sealModel(key, villagerId, descriptor);
}

/** FACE_TEMPLATE_UNREADABLE naming the villager (a template opened here or in the inference worker). */
export function templateUnreadable(villagerId: string, cause?: unknown): EdgeError {
  return new EdgeError('FACE_TEMPLATE_UNREADABLE', `face template of ${villagerId} cannot be decrypted (wrong key file or altered row)`, { cause, zh: '人脸模板无法解密（密钥不符或数据被改动）', details: { villager: villagerId } });
}

/** A sealed-template failure of models/ (the worker's, or an in-process open) as the store's error; anything else unchanged. */
export function asTemplateError(err: unknown): unknown {
  return isModelError(err, 'TEMPLATE_UNREADABLE') ? templateUnreadable(String(err.details?.owner ?? '?'), err) : err;
}

export function openDescriptor(key: Buffer, villagerId: string, t: SealedTemplate): Float32Array {
  let d: Float32Array;
  try {
    d = openSealed(key, villagerId, t);
  } catch (err) {
    throw asTemplateError(err);
  }
  if (!DESCRIPTOR_BYTES.includes(d.byteLength)) throw templateUnreadable(villagerId, new Error(`descriptor of ${d.byteLength} bytes`));
  return d;
}

/**
 * Any other face data kept beside the templates (a pending template's thumbnail), sealed the
 * same way; `purpose` joins the villager in the additional data, so a thumbnail cannot be
 * opened as a template nor moved to another villager.
 */
export function sealBytes(key: Buffer, villagerId: string, purpose: string, bytes: Buffer): SealedTemplate {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(`${villagerId}\u0000${purpose}`, 'utf8'));
  const ciphertext = Buffer.concat([c.update(bytes), c.final()]);
  return { nonce, ciphertext, tag: c.getAuthTag() };
}

export function openBytes(key: Buffer, villagerId: string, purpose: string, t: SealedTemplate): Buffer {
  try {
    const d = createDecipheriv('aes-256-gcm', key, t.nonce);
    d.setAAD(Buffer.from(`${villagerId}\u0000${purpose}`, 'utf8'));
    d.setAuthTag(t.tag);
    return Buffer.concat([d.update(t.ciphertext), d.final()]);
  } catch (err) {
    throw new EdgeError('FACE_TEMPLATE_UNREADABLE', `face data (${purpose}) of ${villagerId} cannot be decrypted (wrong key file or altered row)`, { cause: err, zh: '人脸数据无法解密（密钥不符或数据被改动）' });
  }
}

export interface NewTemplate { descriptor: Float32Array; quality: number | null; source: string }

/** Adds a villager's templates in one transaction; returns how many were written. */
export function addTemplates(db: Db, key: Buffer, villagerId: string, templates: readonly NewTemplate[], at: string): number {
  return insertTemplates(db, villagerId, templates.map((t) => ({ ...sealDescriptor(key, villagerId, t.descriptor), quality: t.quality, source: t.source })), at);
}

/** Deletes every template of a villager (consent withdrawn); returns how many went. */
export const removeTemplates = deleteTemplates;

export { countTemplates };

export interface GalleryEntry { villagerId: string; descriptors: Float32Array[] }

/**
 * Every template of villagers who still consent, decrypted, grouped per villager. Templates
 * of a villager without consent on record are not loaded (and `purgeWithoutConsent` deletes them).
 */
export function loadGallery(db: Db, key: Buffer, entry?: EntryConfig): GalleryEntry[] {
  const rows = consentedTemplateRows(db);
  const byVillager = new Map<string, Float32Array[]>();
  for (const r of rows) {
    const list = byVillager.get(r.villager_id) ?? [];
    list.push(openDescriptor(key, r.villager_id, r));
    byVillager.set(r.villager_id, list);
  }
  const entries = [...byVillager].map(([villagerId, descriptors]) => ({ villagerId, descriptors }));
  if (entry) {
    // the lengths first: when they differ, that refusal names the villagers
    checkRecognizer(entries, entry);
    checkTemplatesRecognizer(db, entry);
  }
  return entries;
}

/**
 * One villager's entry of the gallery as `loadGallery` would give it (null: no template, or no
 * consent), opening only their templates: what the door reloads after an enrolment, a removal or
 * a learned template, without decrypting the whole gallery on the main thread.
 */
export function loadVillagerTemplates(db: Db, key: Buffer, villagerId: string, entry?: EntryConfig): GalleryEntry | null {
  const rows = consentedTemplateRowsOf(db, villagerId);
  if (rows.length === 0) return null;
  const found = { villagerId, descriptors: rows.map((r) => openDescriptor(key, villagerId, r)) };
  if (entry) {
    checkRecognizer([found], entry);
    checkTemplatesRecognizer(db, entry);
  }
  return found;
}

/**
 * Templates are only comparable with descriptors of the recognizer that made them. After
 * entry.recognizer changes, the stored ones are refused naming the villagers, telling the
 * operator to enrol again (or to set the recognizer back), instead of a gallery error.
 */
export function checkRecognizer(entries: readonly GalleryEntry[], entry: EntryConfig): void {
  checkLengths(entries.map((e) => ({ villagerId: e.villagerId, lengths: e.descriptors.map((d) => d.length) })), entry);
}

function checkLengths(entries: ReadonlyArray<{ villagerId: string; lengths: number[] }>, entry: EntryConfig): void {
  const want = descriptorLength(entry);
  const stale = entries.filter((e) => e.lengths.some((n) => n !== want));
  if (!stale.length) return;
  const lengths = [...new Set(stale.flatMap((e) => e.lengths).filter((n) => n !== want))].join('/');
  const who = stale.slice(0, 5).map((e) => e.villagerId).join(', ') + (stale.length > 5 ? ` and ${stale.length - 5} more` : '');
  const kind = entry.recognizer.kind;
  throw new EdgeError('FACE_TEMPLATES_OTHER_RECOGNIZER',
    `the face templates of ${stale.length} villager(s) (${who}) were made by another recognizer (${lengths} values; entry.recognizer ${kind} makes ${want}): remove them (store-edge faces remove --villager ID) and enrol those villagers again, or set entry.recognizer back`,
    { zh: `${stale.length} 位村民（${who}）的人脸模板是用另一个识别模型录入的（${lengths} 维，当前 ${kind} 为 ${want} 维）：请删除（store-edge faces remove --villager ID）后重新录入，或把 entry.recognizer 改回原来的模型`, details: { villagers: stale.map((e) => e.villagerId), recognizer: kind, expected: want } });
}

/**
 * The stored templates carry the tag of the recognizer configuration that made them (one per
 * store, in the ledger's meta: a gallery of mixed recognizers cannot be searched anyway). A
 * change of entry.recognizer that keeps the descriptor length (a fusion's weight, another model
 * file of the same family: its sha256) is caught here, where the length check cannot see it.
 * No template: nothing to compare (the next enrolment records its tag). Templates stored before
 * tags were kept, or under a tag written before it could name `stretch_dim` (legacyTag): taken
 * as the current configuration's, as before (recorded now).
 */
export function checkTemplatesRecognizer(db: Db, entry: EntryConfig): void {
  const want = templatesTag(entry);
  const have = templatesRecognizer(db);
  if (have === want) {
    // rewritten once as a tag of now: a later change of stretch_dim is then seen
    if (!db.readonly && !templatesRecognizerCurrent(db)) setTemplatesRecognizer(db, want);
    return;
  }
  const n = countTemplates(db);
  if (n === 0) return;
  if (have === undefined || (have === legacyTag(entry) && !templatesRecognizerCurrent(db))) {
    if (!db.readonly) setTemplatesRecognizer(db, want);
    return;
  }
  throw new EdgeError('FACE_TEMPLATES_OTHER_RECOGNIZER',
    `the ${n} face templates of this store were made by another recognizer configuration (${have}) than entry.recognizer now (${want}); distances to them mean nothing. Set entry.recognizer back to what made them, or remove the templates (store-edge faces remove --villager ID) and enrol the villagers again`,
    { zh: `本店的 ${n} 个人脸模板是用另一种识别配置（${have}）录入的，与现在的 entry.recognizer（${want}）不同，距离已不可比：请把 entry.recognizer 改回原来的配置，或删除这些模板（store-edge faces remove --villager ID）后重新录入村民`,
      details: { recognizer: want, templates: have, count: n } });
}

/**
 * The tag of the recognizer the engine runs: made from the same choice the engine gets
 * (recognizerChoice), so every option that changes the descriptors (`input.stretch_dim` is
 * `stretchDim` there) is in it. The model's path does not enter the tag, so no data_dir is needed.
 */
export const templatesTag = (entry: EntryConfig): string => recognizerTag(recognizerChoice(entry.recognizer, '.'));

/**
 * The tag as it was once written from the config object itself, where `stretch_dim` went unseen:
 * it differs from templatesTag only with `stretch_dim: true`. Such a tag (stored without the
 * current scheme's mark) cannot tell whether the templates were made with stretch_dim, so they are
 * taken as the current configuration's, like untagged ones; every tag written now carries the mark.
 */
const legacyTag = (entry: EntryConfig): string => recognizerTag(entry.recognizer as Parameters<typeof recognizerTag>[0]);

/** After templates were stored under `entry`'s recognizer (the check passed, or there were none): its tag. */
export function recordTemplatesRecognizer(db: Db, entry: EntryConfig): void {
  const want = templatesTag(entry);
  if (templatesRecognizer(db) !== want || !templatesRecognizerCurrent(db)) setTemplatesRecognizer(db, want);
}

/**
 * Every consented template (but those of `except`) still sealed, in one batch for the inference
 * worker to open (models/sealed.ts): the main thread only reads the rows and copies them into one
 * buffer. The recognizer check runs here, on the rows' lengths (AES-GCM keeps the plaintext's).
 * In one turn of the event loop; `sealedGalleryInSlices` reads it across turns.
 */
export function sealedGallery(db: Db, entry: EntryConfig, except?: string): SealedBatch {
  return sealedOf(db, consentedSealedJoined(db), entry, except);
}

/**
 * `sealedGallery` read in slices of one snapshot, a slice a turn (edge/ledger/face-templates.ts),
 * each slice copied into its own part as it comes: what the running door uses. The parts are
 * joined into one buffer at the end (one copy of large blocks).
 */
export async function sealedGalleryInSlices(db: Db, entry: EntryConfig, except?: string): Promise<SealedBatch> {
  const lengths = new Map<string, number[]>();
  const parts: SealedBatch[] = [];
  for await (const slice of consentedSealedSlices(db)) {
    lengthsInto(lengths, slice);
    parts.push(packRows(except === undefined ? slice : slice.filter(([v]) => v !== except)));
  }
  checkSealed(db, lengths, entry);
  return concatBatches(parts);
}

function sealedOf(db: Db, all: Array<[string, Buffer]>, entry: EntryConfig, except: string | undefined): SealedBatch {
  // every villager's, `except` too: a stale template of theirs would stay beside the new ones
  checkSealed(db, lengthsInto(new Map(), all), entry);
  return packRows(except === undefined ? all : all.filter(([v]) => v !== except));
}

/** Each villager's descriptor lengths, read off the sealed rows (AES-GCM keeps the plaintext's length). */
function lengthsInto(lengths: Map<string, number[]>, rows: ReadonlyArray<[string, Buffer]>): Map<string, number[]> {
  for (const [villagerId, joined] of rows) {
    const list = lengths.get(villagerId);
    if (list) list.push(joinedLength(joined));
    else lengths.set(villagerId, [joinedLength(joined)]);
  }
  return lengths;
}

/** The stored templates fit entry.recognizer: their lengths, then the configuration's tag. */
function checkSealed(db: Db, lengths: Map<string, number[]>, entry: EntryConfig): void {
  checkLengths([...lengths].map(([villagerId, l]) => ({ villagerId, lengths: l })), entry);
  checkTemplatesRecognizer(db, entry);
}

function packRows(rows: ReadonlyArray<[string, Buffer]>): SealedBatch {
  try {
    return packJoined(rows.map(([v]) => v), rows.map(([, j]) => j));
  } catch (err) {
    throw asTemplateError(err);
  }
}

/** Deletes templates whose villager has no consent on record; returns how many went. */
export const purgeWithoutConsent = purgeTemplatesWithoutConsent;
