/**
 * Enrolment photos kept with `entry.store_photos` (data_dir/<photo_dir>/<villager>/) and the
 * withdrawal of a villager's face data: the templates and the consent (one ledger transaction),
 * then the photos. Withdrawal deletes the photos whatever store_photos says now: they may have
 * been kept while it was on. `faces remove` and the admin page's withdrawal both come here.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../ledger/db.ts';
import { deleteTemplatesAndConsent } from '../ledger/face-templates.ts';
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

/** Keeps a copy of an enrolment photo (with `entry.store_photos`), named by the enrolment's time. */
export function keepEnrolmentPhoto(dataDir: string, entry: Pick<EntryConfig, 'photo_dir'>, villagerId: string, file: string, at: string): void {
  const dir = villagerPhotoDir(dataDir, entry.photo_dir, villagerId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(file, path.join(dir, `${at.replace(/[:.]/g, '-')}-${path.basename(file)}`));
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
