/**
 * Enrolment photos kept with `entry.store_photos` (data_dir/<photo_dir>/<villager>/) and the
 * withdrawal of a villager's face data: the templates and the consent (one ledger transaction),
 * then the photos. Withdrawal deletes the photos whatever store_photos says now: they may have
 * been kept while it was on. `faces remove` and the admin page's withdrawal both come here.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../ledger/db.ts';
import { deleteTemplatesAndConsent, faceConsentOf } from '../ledger/face-templates.ts';
import { appendAudit } from '../ledger/audit.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { EntryConfig } from './config.ts';

/** A villager's folder of enrolment photos; an id that would lead out of photo_dir is refused. */
export function villagerPhotoDir(dataDir: string, photoDir: string, villagerId: string): string {
  const root = path.resolve(dataDir, photoDir);
  const dir = path.resolve(root, villagerId);
  if (path.dirname(dir) !== root) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager id ${JSON.stringify(villagerId)} cannot name a folder of enrolment photos`, { zh: `村民编号 ${JSON.stringify(villagerId)} 不能用作照片文件夹名` });
  }
  return dir;
}

/**
 * Keeps a copy of an enrolment photo (with `entry.store_photos`), named by the enrolment's time:
 * readable by the store's user only (0600 in a 0700 folder), whatever the mode of the photo copied
 * (a copy would take its mode, often 0644).
 */
export function keepEnrolmentPhoto(dataDir: string, entry: Pick<EntryConfig, 'photo_dir'>, villagerId: string, file: string, at: string): void {
  const dir = villagerPhotoDir(dataDir, entry.photo_dir, villagerId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dest = path.join(dir, `${at.replace(/[:.]/g, '-')}-${path.basename(file)}`);
  writeFileSync(dest, readFileSync(file), { mode: 0o600 });
  chmodSync(dest, 0o600); // a file of that name already there keeps its mode otherwise
}

/**
 * The retention job's sweep of data_dir/<photo_dir>: the folder of each villager without face
 * consent on record goes (their consent withdrawn or ended by retention, with photos left by a
 * crash or a failed deletion), audited `face.retention.photos`; the photos of those who consent
 * are made 0600 (kept by older versions 0644). A folder that names no villager is left alone.
 * Returns how many photo files went.
 */
export function sweepPhotosWithoutConsent(db: Db, dataDir: string, entry: Pick<EntryConfig, 'photo_dir'>, clock: Clock = systemClock): number {
  const root = path.resolve(dataDir, entry.photo_dir);
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw photoError(root, err);
  }
  let gone = 0;
  for (const id of names) {
    const v = faceConsentOf(db, id);
    if (v === undefined) continue;
    if (v.faceConsentAt !== null) {
      for (const f of readdirSync(path.join(root, id), { recursive: true, withFileTypes: true })) if (f.isFile()) chmodSync(path.join(f.parentPath, f.name), 0o600);
      continue;
    }
    const n = deleteEnrolmentPhotos(dataDir, entry, id);
    appendAudit(db, { actor: 'system', action: 'face.retention.photos', target: id, before: { photos: n }, after: { photos: 0 } }, clock);
    gone += n;
  }
  return gone;
}

/** Deletes a villager's kept enrolment photos (the folder with them); returns how many files went. */
export function deleteEnrolmentPhotos(dataDir: string, entry: Pick<EntryConfig, 'photo_dir'>, villagerId: string): number {
  const dir = villagerPhotoDir(dataDir, entry.photo_dir, villagerId);
  let files: number;
  try {
    files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw photoError(dir, err);
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    throw photoError(dir, err);
  }
  return files;
}

const photoError = (dir: string, err: unknown): EdgeError =>
  new EdgeError(ErrorCode.INTERNAL, `the enrolment photos in ${dir} could not be deleted (${(err as Error).message}): delete the folder by hand`, { cause: err, zh: `未能删除 ${dir} 中的录入照片，请手动删除该文件夹` });

/**
 * Withdrawal of consent: the villager's templates (pending ones too) and consent go in one
 * transaction, then the kept enrolment photos. The ledger is first: should the photos fail to
 * go, the face no longer opens the door and the error names the folder left.
 */
export function withdrawFaceData(db: Db, dataDir: string, entry: Pick<EntryConfig, 'photo_dir'>, villagerId: string): { templates: number; photos: number } {
  // `.` and `..` (villagers of ledgers from before they were refused) never had a folder of
  // photos (keepEnrolmentPhoto refuses them): their face data is withdrawn all the same
  const folder = !DOT_IDS.has(villagerId);
  if (folder) villagerPhotoDir(dataDir, entry.photo_dir, villagerId);
  const templates = deleteTemplatesAndConsent(db, villagerId);
  return { templates, photos: folder ? deleteEnrolmentPhotos(dataDir, entry, villagerId) : 0 };
}

const DOT_IDS: ReadonlySet<string> = new Set(['.', '..']);
