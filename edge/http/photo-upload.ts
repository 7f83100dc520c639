/**
 * An uploaded photo, checked before anything is stored: at most `MAX_PHOTO_BYTES` (the
 * multipart parser stops reading beyond it: 413), a JPEG, PNG or WebP by its first bytes
 * whatever the file name or declared type says (415), and at most `MAX_PHOTO_PIXELS` pixels
 * before decoding (sharp's limitInputPixels: a small file that would unpack to gigabytes, a
 * decompression bomb, is refused unread: 422).
 */
import { EdgeError } from '../errors.ts';
import { sniffImage } from '../../lib/image-sniff.ts';
import { decodeImage } from '../../models/image.ts';
import type { RgbFrame } from '../../models/face-engine.ts';

/** A phone photo is 2–8 MB; a bigger upload is a mistake or an attack. */
export const MAX_PHOTO_BYTES = 12 * 1024 * 1024;
/** 50 megapixels: more than any phone camera, far less than a bomb. */
export const MAX_PHOTO_PIXELS = 50_000_000;

export type PhotoKind = 'jpeg' | 'png' | 'webp';

/** Sniffs and decodes; refuses with a bilingual error naming the `photo` field. */
export async function readPhoto(b: Buffer | undefined): Promise<{ kind: PhotoKind; frame: RgbFrame }> {
  if (!b || b.length === 0) throw new EdgeError('INVALID_ARGUMENT', 'no photo was uploaded', { zh: '没有上传照片', details: { field: 'photo', status: 400 } });
  // HEIF is not among what the door's decoder reads: refused like any other non-photo
  const sniffed = sniffImage(b);
  const kind = sniffed === 'heif' ? undefined : sniffed;
  if (!kind) throw new EdgeError('INVALID_ARGUMENT', 'the file is not a JPEG, PNG or WebP photo', { zh: '上传的文件不是照片（只接受 JPEG、PNG、WebP）', details: { field: 'photo', status: 415, error: 'UNSUPPORTED_IMAGE' } });
  try {
    return { kind, frame: await decodeImage(b, { maxSide: 1280, maxInputPixels: MAX_PHOTO_PIXELS }) };
  } catch (err) {
    const huge = /pixel limit/i.test((err as Error).message);
    throw new EdgeError('INVALID_ARGUMENT', huge ? `the image has more than ${MAX_PHOTO_PIXELS / 1e6} million pixels; refused unread` : `the photo cannot be decoded: ${(err as Error).message}`, {
      zh: huge ? `图片像素过多（超过 ${MAX_PHOTO_PIXELS / 1e6} 百万像素），已拒绝` : '照片已损坏或无法读取',
      details: { field: 'photo', status: 422, error: huge ? 'IMAGE_TOO_LARGE' : 'IMAGE_INVALID' },
    });
  }
}
