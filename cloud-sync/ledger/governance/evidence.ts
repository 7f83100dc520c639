/**
 * Evidence photos (凭证照片) for task reports and self-reports, kept by the ledger.
 *
 * An upload is refused unless its bytes are a JPEG, PNG, WebP or HEIF/AVIF picture: the
 * type is read from the first bytes (the file name and the declared content type are not
 * trusted), and sharp must agree. SVG, TIFF, GIF, PDF and the like never reach the decoder.
 * Of HEIF, sharp's own build reads AV1 pictures (AVIF) only: HEVC ones (HEIC, an iPhone's
 * default) need a libvips built with libde265. The refusals say what this build reads, and a
 * HEIC photo it cannot read is refused by name with what to do (the phone page sends JPEG).
 * `limitInputPixels` stops a decompression bomb (a small file that decodes to gigapixels)
 * before it is decoded. What is kept is a re-encoded JPEG, turned upright, at most 2048 px a
 * side and without any metadata (sharp drops EXIF, GPS position included, unless asked to
 * keep it), so the ledger never serves the uploaded bytes themselves.
 */
import { createHash, randomBytes } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { villagerOf } from '../tables.ts';
import { audit, byStaff, fieldError } from './rules.ts';
import { answerKept, keepAnswer, sending } from './request-ids.ts';
import { sniffImage } from '../../../lib/image-sniff.ts';

export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
/** 40 megapixels: a phone's 50 MP mode is resized on the phone; more is not a photo of a lane. */
export const MAX_INPUT_PIXELS = 40_000_000;
const MAX_SIDE = 2048;

/** Whether this sharp decodes HEVC pictures (HEIC): its HEIF loader lists `.heic` only then. */
const HEIC_READABLE = (sharp.format.heif.input.fileSuffix ?? []).includes('.heic');

/** The formats an upload may be in, as this build of sharp reads them. */
export function readablePhotoFormats(): string[] {
  return ['JPEG', 'PNG', 'WebP', 'AVIF', ...(HEIC_READABLE ? ['HEIC'] : [])];
}

const notImage = () => {
  const formats = readablePhotoFormats();
  return fieldError('photo', `the file is not a photo (${formats.join(', ')})`, `上传的文件不是照片（须为 ${formats.join('、')} 格式）`, 400, ErrorCode.INVALID_ARGUMENT);
};
const heicUnreadable = () => fieldError('photo',
  'HEIC photos (an iPhone\'s default) cannot be read here; upload it from the villager phone page, which sends photos as JPEG, or send it as JPEG (on an iPhone: Settings › Camera › Formats › Most Compatible)',
  '无法读取 HEIC 格式的照片（苹果手机默认格式）。请在村民手机页面上传（页面会自动转成 JPEG），或转成 JPEG 后再传（苹果手机：设置 › 相机 › 格式 › 兼容性最佳）', 400, ErrorCode.INVALID_ARGUMENT);

export interface StoredPhoto { id: string; ref: string; width: number; height: number; bytes: number; sha256: string }

/** Checks and re-encodes `input`; throws a field error on `photo` when it is not a usable picture. */
export async function cleanPhoto(input: Buffer): Promise<{ jpeg: Buffer; width: number; height: number }> {
  if (input.length > MAX_UPLOAD_BYTES) throw tooLarge();
  if (input.length === 0) throw fieldError('photo', 'the file is empty', '上传的文件是空的');
  const kind = sniffImage(input);
  if (!kind) throw notImage();
  let meta: Metadata;
  try {
    // The header only (nothing is decoded yet), so no pixel limit here: the size is checked below.
    meta = await sharp(input, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch {
    throw notImage();
  }
  if (meta.format !== kind) throw notImage();
  // The header is read, but not the picture: HEVC needs a decoder sharp's own build lacks.
  if (meta.format === 'heif' && meta.compression === 'hevc' && !HEIC_READABLE) throw heicUnreadable();
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_INPUT_PIXELS) throw tooManyPixels(meta.width ?? 0, meta.height ?? 0);
  try {
    const { data, info } = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .rotate() // upright by its EXIF orientation, before the EXIF goes
      .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 82, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    return { jpeg: data, width: info.width, height: info.height };
  } catch (err) {
    if (/pixel limit/i.test((err as Error).message)) throw tooManyPixels(meta.width ?? 0, meta.height ?? 0);
    throw notImage();
  }
}

export const tooLarge = () => fieldError('photo', `the photo is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`, `照片太大，不能超过 ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`, 413, ErrorCode.INVALID_ARGUMENT);
const tooManyPixels = (w: number, h: number) => fieldError('photo', `the picture has too many pixels (${w}×${h}; at most ${MAX_INPUT_PIXELS / 1e6} megapixels)`, `照片像素过多（${w}×${h}，最多 ${MAX_INPUT_PIXELS / 1e6} 百万像素）`, 400);

/**
 * Keeps a cleaned photo for `villager` (absent: the village's own) in `village`. With a `request`
 * id (request-ids.ts) the same photo sent again answers the photo kept (`duplicate`), before it is
 * decoded, and keeps no second copy.
 */
export async function storePhoto(db: SqlDb, village: string, villager: string | undefined, input: Buffer, actor: string, now: Date, request?: string, by?: string): Promise<{ photo: StoredPhoto; duplicate: boolean }> {
  if (villager !== undefined) {
    const v = await villagerOf(db, villager);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
  }
  const sent = request === undefined ? undefined : sending(actor, request, village, 'evidence.upload', { villager: villager ?? null, photo: createHash('sha256').update(input).digest('hex') });
  const before = sent && await answerKept<StoredPhoto>(db, sent);
  if (before) return { photo: before, duplicate: true };
  const { jpeg, width, height } = await cleanPhoto(input);
  const id = `ev-${randomBytes(12).toString('base64url')}`;
  const sha256 = createHash('sha256').update(jpeg).digest('hex');
  const photo: StoredPhoto = { id, ref: `photo:${id}`, width, height, bytes: jpeg.length, sha256 };
  return db.transaction(async (tx) => {
    // the same photo sent at once: the first kept answers the others
    const held = sent && await answerKept<StoredPhoto>(tx, sent);
    if (held) return { photo: held, duplicate: true };
    await tx.run('INSERT INTO gov_evidence (id, village, villager_id, uploaded_by, mime, width, height, bytes, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [id, village, villager ?? null, actor, 'image/jpeg', width, height, jpeg, sha256, now.toISOString()]);
    await audit(tx, village, `evidence:${id}`, 'evidence.upload', actor, { villager: villager ?? null, width, height, bytes: jpeg.length, ...(request ? { request } : {}), ...byStaff(by) }, now);
    if (sent) await keepAnswer(tx, sent, photo, now);
    return { photo, duplicate: false };
  });
}

/** A kept photo; `purged_at` when its retention ended (its bytes are then empty; evidence-retention.ts). */
export async function photoOf(db: SqlDb, village: string, id: string): Promise<{ villager_id: string | null; mime: string; bytes: Buffer; purged_at: string | null } | undefined> {
  const rows = await db.query<{ villager_id: string | null; mime: string; bytes: Buffer | Uint8Array; purged_at: string | null }>('SELECT villager_id, mime, bytes, purged_at FROM gov_evidence WHERE id = $1 AND village = $2', [id, village]);
  const r = rows[0];
  return r && { villager_id: r.villager_id, mime: r.mime, bytes: Buffer.from(r.bytes), purged_at: r.purged_at };
}

/**
 * Evidence named in a report: `photo:ev-…`, alone or followed by words (a witness's name: `photo:ev-… 证明人：王大妈`,
 * an item that needs a witness may carry a photo too), must name a photo kept here, in this village, and of
 * `villager`: for a villager's own report (`by` villager) their upload (or the village's for
 * them), never the village's photo of no one, which they may not see; for a record the village
 * files, also a photo of no one. Other references (a witness's name, a photo kept elsewhere)
 * are taken as written.
 */
export async function checkEvidenceRef(db: SqlDb, village: string, villager: string, evidence: string | undefined, by: 'villager' | 'village'): Promise<void> {
  // any evidence that opens with a photo's reference is checked, whatever follows (words, or
  // blanks alone), as the pages show a photo's link for each (village-claims.js)
  const m = /^photo:(ev-[A-Za-z0-9_-]+)(?=\s|$)/.exec(evidence ?? '');
  if (!m) return;
  const p = await photoOf(db, village, m[1]!);
  if (!p || (p.villager_id === null ? by === 'villager' : p.villager_id !== villager)) throw fieldError('evidence', `no photo ${m[1]} in this village`, `找不到凭证照片 ${m[1]}`, 400);
  if (p.purged_at) throw fieldError('evidence', `photo ${m[1]} was purged at the end of its retention; upload it again`, `凭证照片 ${m[1]} 已按保存期限删除，请重新上传`, 400);
}
