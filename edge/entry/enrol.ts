/**
 * Enrolment and identification on photos: the logic behind `store-edge faces enroll|identify`
 * (and later the admin page's live camera). Refuses without consent, and refuses a photo
 * with no face, several faces or poor quality, naming the photo and why.
 *
 * Each photo gives two templates: the face and its mirror image. Descriptors of a face and of
 * its mirror differ by up to ~0.3 (as much as two different people), and cameras or
 * selfie apps often mirror, so enrolling both costs nothing at the door and avoids
 * refusing a mirrored face.
 */
import type { AnalyseOptions, FrameAnalysis, RgbFrame } from '../../models/face-engine.ts';
import { cohortScaled, Gallery } from '../../models/gallery.ts';
import { EdgeError } from '../errors.ts';
import { inTransaction, type Db } from '../ledger/db.ts';
import { consentedSealedJoinedSince, faceConsentOf, lastTemplateId } from '../ledger/face-templates.ts';
import { qualityGate, type EntryConfig } from './config.ts';
import { matchVerdict } from './decision.ts';
import { l2 } from './adapt.ts';
import { addTemplates, asTemplateError, loadGallery, openDescriptor, recordTemplatesRecognizer, sealedGalleryInSlices, type NewTemplate } from './templates.ts';
import { templateRowsOf } from '../ledger/face-learning.ts';
import { setFaceConsent } from '../ledger/villagers.ts';
import { consentChangedSince, highestOutboxSeq } from '../ledger/outbox.ts';
import { nearestSealed, packJoined, type SealedBatch } from '../../models/sealed.ts';
import type { SealedNearest } from '../../models/protocol.ts';

export interface FaceAnalyser {
  analyse(frame: RgbFrame, opts: AnalyseOptions): Promise<FrameAnalysis>;
  /** Each query's nearest owner among sealed rows, opened off the caller's thread (EngineClient: in the inference worker). */
  nearestSealed?(key: Uint8Array, batch: SealedBatch, queries: Float32Array[]): Promise<SealedNearest>;
}

/** Where the look-alike check opens and searches the other villagers' templates. */
export type SealedSearcher = Required<Pick<FaceAnalyser, 'nearestSealed'>>;

/** On this thread: the command line's enrolment (its own process, no door loop to hold up). */
export const inProcess: SealedSearcher = { nearestSealed: (key, batch, queries) => Promise.resolve(nearestSealed(key, batch, queries)) };

/** The analyser's own search when it has one (the door's worker), else this thread. */
export const searcherOf = (a: FaceAnalyser): SealedSearcher => (a.nearestSealed ? (a as SealedSearcher) : inProcess);

export function mirror(frame: RgbFrame): RgbFrame {
  const { width, height, data } = frame;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const s = row + x * 3;
      const d = row + (width - 1 - x) * 3;
      out[d] = data[s] as number;
      out[d + 1] = data[s + 1] as number;
      out[d + 2] = data[s + 2] as number;
    }
  }
  return { width, height, data: out };
}

export interface EnrolPhoto { name: string; frame: RgbFrame }

/**
 * The photos (by name) that do not show the person most of the photos show: a photo matches
 * another when one of its templates (the face or its mirror) lies within `sameFace` of one of
 * the other's. Empty when all match.
 */
export function photosOfSomeoneElse(photos: ReadonlyArray<{ name: string; descriptors: readonly Float32Array[] }>, sameFace: number): string[] {
  const match = (a: (typeof photos)[number], b: (typeof photos)[number]): boolean => a.descriptors.some((x) => b.descriptors.some((y) => l2(x, y) <= sameFace));
  let group: Array<(typeof photos)[number]> = [];
  for (const p of photos) {
    const g = photos.filter((q) => match(p, q));
    if (g.length > group.length) group = g;
  }
  return photos.filter((p) => !group.includes(p)).map((p) => p.name);
}

/**
 * The consent an enrolment begins with: whether one was on record, and who gave one with this
 * enrolment ('self' or guardian:NAME). A consent given with an enrolment is recorded only in the
 * transaction that stores its templates: an enrolment that fails records nothing, so none has to
 * be taken back, and a failed enrolment (in this process or another) cannot take back the consent
 * a parallel one rests on.
 */
export interface StartingConsent {
  onRecord: boolean;
  givenBy?: string;
  /** The outbox's highest seq when the enrolment began: a consent change since then is a withdrawal to honour. */
  outboxSeq?: number;
}

const noConsent = (villagerId: string): EdgeError =>
  new EdgeError('NO_CONSENT', `villager ${villagerId} has not consented to face recognition (use --consent)`, { zh: '未登记人脸识别同意，不能录入' });

/** The villager exists and has consented, or consents with this enrolment (`givenBy`): enrolment may begin. */
export function checkEnrolable(db: Db, villagerId: string, givenBy?: string): StartingConsent {
  const v = faceConsentOf(db, villagerId);
  if (!v) throw new EdgeError('UNKNOWN_VILLAGER', `no villager ${villagerId}`, { zh: `没有村民 ${villagerId}` });
  if (v.faceConsentAt === null && givenBy === undefined) throw noConsent(villagerId);
  return { onRecord: v.faceConsentAt !== null, ...(givenBy === undefined ? {} : { givenBy, outboxSeq: highestOutboxSeq(db) }) };
}

/**
 * In the transaction that stores the templates, on the villager's row as it is now: a consent on
 * record stays as it is; none on record is recorded from the one given with this enrolment, unless
 * one was on record at its start (withdrawn since: the withdrawal wins, NO_CONSENT).
 */
function settleConsent(db: Db, villagerId: string, start: StartingConsent): void {
  const v = faceConsentOf(db, villagerId);
  if (!v) throw new EdgeError('UNKNOWN_VILLAGER', `no villager ${villagerId}`, { zh: `没有村民 ${villagerId}` });
  if (v.faceConsentAt !== null) return;
  if (start.onRecord || start.givenBy === undefined) throw noConsent(villagerId);
  // Withdrawn while the photos were analysed (by the admin page or the CLI, in any process):
  // every change of the consent is an outbox row, and the later word wins.
  if (start.outboxSeq !== undefined && consentChangedSince(db, villagerId, start.outboxSeq)) throw noConsent(villagerId);
  setFaceConsent(db, villagerId, start.givenBy);
}

export interface Collision { villagerId: string; distance: number; source: string }

/**
 * The first new template lying within the strict threshold of another villager's template.
 * Such an enrolment would make both villagers ambiguous at the door (the margin rule could
 * no longer tell them apart), and may be a stranger enrolled under a villager's name.
 * The other villagers' templates are read sealed and opened by `searcher`: at the door, the
 * inference worker, so the main thread (sessions, the scales' polling) is not held for the
 * whole gallery's decryption.
 */
export async function findCollision(db: Db, key: Buffer, villagerId: string, templates: readonly NewTemplate[], config: EntryConfig, searcher: SealedSearcher = inProcess): Promise<Collision | null> {
  const others = await sealedGalleryInSlices(db, config, villagerId);
  if (others.owners.length === 0 || templates.length === 0) return null;
  let hits: SealedNearest;
  try {
    hits = await searcher.nearestSealed(key, others, templates.map((t) => t.descriptor));
  } catch (err) {
    throw asTemplateError(err);
  }
  return worstCollision(templates, hits, config.match.threshold);
}

function worstCollision(templates: readonly NewTemplate[], hits: SealedNearest, threshold: number): Collision | null {
  let worst: Collision | null = null;
  templates.forEach((t, i) => {
    const best = hits[i];
    if (best && best.distance <= threshold && (!worst || best.distance < worst.distance)) worst = { villagerId: best.villagerId, distance: best.distance, source: t.source };
  });
  return worst;
}

/** The other villagers' templates stored after `afterId` (by an enrolment running meanwhile, here or in another process), opened on this thread: a few rows. */
function lateCollision(db: Db, key: Buffer, villagerId: string, templates: readonly NewTemplate[], config: EntryConfig, afterId: number): Collision | null {
  const late = consentedSealedJoinedSince(db, afterId).filter(([v]) => v !== villagerId);
  if (late.length === 0 || templates.length === 0) return null;
  try {
    const batch = packJoined(late.map(([v]) => v), late.map(([, j]) => j));
    return worstCollision(templates, nearestSealed(key, batch, templates.map((t) => t.descriptor)), config.match.threshold);
  } catch (err) {
    throw asTemplateError(err);
  }
}

/** FACE_COLLISION naming the other villager (CLI exit 2). */
export function collisionError(c: Collision, config: EntryConfig): EdgeError {
  return new EdgeError('FACE_COLLISION', `${c.source}: this face is within the match threshold of villager ${c.villagerId} (distance ${c.distance.toFixed(3)} ≤ ${config.match.threshold}); enrolment refused`, {
    zh: `${c.source}：这张脸与村民 ${c.villagerId} 的人脸模板过于相近（距离 ${c.distance.toFixed(3)}），拒绝录入`,
    details: { villager: c.villagerId, distance: c.distance, photo: c.source },
  });
}

/**
 * Two templates closer than this are of the same picture: the engine gives the same pixels the
 * same descriptor, while two photos of one face, or a face and its mirror, lie hundredths apart
 * at the least. Far below every threshold of the door.
 */
export const SAME_PICTURE = 1e-3;

const samePicture = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && l2(a, b) < SAME_PICTURE;

/** `templates` split into those the villager does not hold yet and those they hold (the same picture enrolled before, or by an enrolment running meanwhile). */
function splitHeld(db: Db, key: Buffer, villagerId: string, templates: readonly NewTemplate[]): { fresh: NewTemplate[]; held: NewTemplate[] } {
  const own = templateRowsOf(db, villagerId).map((r) => openDescriptor(key, villagerId, r));
  const fresh: NewTemplate[] = [];
  const held: NewTemplate[] = [];
  for (const t of templates) (own.some((h) => samePicture(h, t.descriptor)) ? held : fresh).push(t);
  return { fresh, held };
}

export interface Stored {
  /** Templates written. */
  stored: number;
  /** Templates not written: the villager already held their picture. */
  held: NewTemplate[];
}

/**
 * Stores templates after the collision check; refuses (FACE_COLLISION) naming the other villager.
 * The check reads the gallery while other enrolments may be storing, and the faces were analysed
 * while the consent could be withdrawn: the insert's transaction checks the consent again and
 * the templates stored since the check began, so neither slips through. A template whose picture
 * the villager already holds is skipped, not stored again and not an error: the same photo sent
 * twice (a form sent again, a folder enrolled again) is stored once, even when both enrolments
 * ran at once, in one process or two (the write transaction is taken before the check).
 */
/** `consent`: as the enrolment found it at its start (checkEnrolable); absent: a consent must be on record. */
export async function storeTemplates(db: Db, key: Buffer, config: EntryConfig, villagerId: string, templates: readonly NewTemplate[], at: string, searcher: SealedSearcher = inProcess, consent: StartingConsent = { onRecord: true }): Promise<Stored> {
  const seen = lastTemplateId(db);
  // pictures held already are not searched for look-alikes: enrolling them again changes nothing
  const before = splitHeld(db, key, villagerId, templates);
  const c = await findCollision(db, key, villagerId, before.fresh, config, searcher);
  if (c) throw collisionError(c, config);
  return inTransaction(db, 'saving face templates', () => {
    settleConsent(db, villagerId, consent);
    // stored meanwhile by another enrolment of the same picture
    const now = splitHeld(db, key, villagerId, before.fresh);
    const late = lateCollision(db, key, villagerId, now.fresh, config, seen);
    if (late) throw collisionError(late, config);
    if (now.fresh.length === 0) return { stored: 0, held: [...before.held, ...now.held] };
    const n = addTemplates(db, key, villagerId, now.fresh, at);
    recordTemplatesRecognizer(db, config);
    return { stored: n, held: [...before.held, ...now.held] };
  });
}

export interface Enrolled {
  /** Templates stored by this enrolment. */
  templates: number;
  /** The photos (by name) not stored because the villager already holds them (or an earlier photo of this enrolment is the same picture). */
  alreadyEnrolled: string[];
}

export async function enrolVillager(
  db: Db, key: Buffer, analyser: FaceAnalyser, config: EntryConfig,
  villagerId: string, photos: readonly EnrolPhoto[], at: string, consentGivenBy?: string,
): Promise<Enrolled> {
  const consent = checkEnrolable(db, villagerId, consentGivenBy);
  if (photos.length === 0) throw new EdgeError('INVALID_ARGUMENT', 'no photo given', { zh: '没有照片' });
  const opts: AnalyseOptions = { allFaces: true, gate: qualityGate(config.quality), liveness: false };
  const templates: NewTemplate[] = [];
  const perPhoto: Array<{ name: string; descriptors: Float32Array[]; templates: NewTemplate[] }> = [];
  for (const p of photos) {
    const a = await analyser.analyse(p.frame, opts);
    const reject = (why: string, zh: string): never => {
      throw new EdgeError('FACE_REJECTED', `${p.name}: ${why}`, { zh: `${p.name}：${zh}`, details: { photo: p.name, why } });
    };
    if (a.faceCount === 0) reject('no face found', '没有找到人脸');
    // faces much smaller than the largest are people farther back, not a second person enrolled
    if (a.nearFaces > 1) reject(`${a.nearFaces} faces of similar size; one person per photo`, `有 ${a.nearFaces} 张大小相近的人脸，每张照片只能有一人`);
    const face = a.faces[0];
    if (!face || face.rejected || !face.descriptor) reject(`poor quality (${face?.rejected ?? 'no descriptor'})`, `照片质量不够（${face?.rejected ?? ''}）`);
    const f = face as NonNullable<typeof face>;
    const mine: NewTemplate[] = [{ descriptor: f.descriptor as Float32Array, quality: f.quality.sharpness, source: p.name }];
    const m = await analyser.analyse(mirror(p.frame), { ...opts, allFaces: false });
    const mf = m.faces[0];
    if (mf?.descriptor) mine.push({ descriptor: mf.descriptor, quality: mf.quality.sharpness, source: `${p.name} (mirrored)` });
    perPhoto.push({ name: p.name, descriptors: mine.map((t) => t.descriptor), templates: mine });
    // a picture given twice in one enrolment (a copy of a photo under another name) is stored once
    templates.push(...mine.filter((t) => !templates.some((u) => samePicture(u.descriptor, t.descriptor))));
  }
  // several photos are of one villager: farther apart than the loose threshold, they are two people
  const someoneElse = photosOfSomeoneElse(perPhoto, config.match.uncertain_threshold);
  if (someoneElse.length > 0) {
    throw new EdgeError('FACE_REJECTED', `${someoneElse.join(', ')}: not the same person as the other photos (farther than ${config.match.uncertain_threshold} from every one of them); enrol one villager's photos only; if it is the villager, enrol that photo on its own (a second faces enroll adds its templates)`, {
      zh: `${someoneElse.join('、')}：与其他照片不是同一个人，只能录入同一村民的照片；如确是本人，请单独再录入这张照片（再执行一次 faces enroll 会追加）`,
      details: { photos: someoneElse, why: 'not_the_same_person' },
    });
  }
  const r = await storeTemplates(db, key, config, villagerId, templates, at, searcherOf(analyser), consent);
  // a photo none of whose templates was stored is already enrolled
  const stored = templates.filter((t) => !r.held.includes(t));
  return { templates: r.stored, alreadyEnrolled: perPhoto.filter((p) => !p.templates.some((t) => stored.includes(t))).map((p) => p.name) };
}

export interface IdentifyResult {
  faces: number;
  decision: 'matched' | 'uncertain' | 'unknown' | 'no_face' | 'low_quality' | 'spoof';
  villager: string | null;
  distance: number | null;
  margin: number | null;
  liveness: { real: number; live: number } | null;
  quality: Record<string, number> | null;
}

/** One photo against the enrolled gallery, with the door's thresholds (a single frame, no k-of-n). */
export async function identifyPhoto(db: Db, key: Buffer, analyser: FaceAnalyser, config: EntryConfig, frame: RgbFrame, opts: { liveness: boolean }, loaded?: Gallery): Promise<IdentifyResult> {
  const a = await analyser.analyse(frame, { allFaces: false, gate: qualityGate(config.quality), liveness: true });
  const face = a.faces[0];
  const base = { faces: a.faceCount, villager: null, distance: null, margin: null };
  if (!face) return { ...base, decision: 'no_face', liveness: null, quality: null };
  const quality = { ...face.quality };
  const liveness = face.liveness ? { ...face.liveness } : null;
  if (face.rejected || !face.descriptor) return { ...base, decision: 'low_quality', liveness, quality };
  const l = config.liveness;
  if (opts.liveness && liveness && (liveness.real < l.min_real || liveness.live < l.min_live)) return { ...base, decision: 'spoof', liveness, quality };
  // a batch passes the gallery it loaded once
  let gallery = loaded;
  if (!gallery) {
    gallery = new Gallery(1024, face.descriptor.length);
    for (const e of loadGallery(db, key, config)) gallery.add(e.villagerId, e.descriptors);
  }
  // the door's distances: relative to the face's cohort when match.cohort_scale is set
  const s = cohortScaled(gallery.search(face.descriptor, { cohort: config.match.cohort_scale !== undefined }), config.match.cohort_scale);
  const v = matchVerdict(s.best, s.second, config.match);
  if (v.kind === 'candidate') return { faces: a.faceCount, decision: 'matched', villager: v.villagerId, distance: v.distance, margin: v.margin, liveness, quality };
  if (v.kind === 'uncertain') return { faces: a.faceCount, decision: 'uncertain', villager: null, distance: v.distance, margin: v.margin, liveness, quality };
  return { faces: a.faceCount, decision: 'unknown', villager: null, distance: s.best?.distance ?? null, margin: v.kind === 'unknown' ? v.margin : null, liveness, quality };
}
