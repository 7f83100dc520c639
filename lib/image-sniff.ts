/**
 * The picture format of an upload from its first bytes, whatever its name or declared type says.
 * Shared by the store's face-photo upload and the village ledger's evidence photos. Hand-written
 * because `file-type`, the well-kept library for this, needs Node 22; four signatures are enough.
 */
export type ImageKind = 'jpeg' | 'png' | 'webp' | 'heif';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const HEIF_BRANDS = ['heic', 'heix', 'hevc', 'mif1', 'msf1', 'avif', 'avis'];

/** The picture type from its first bytes, or undefined. */
export function sniffImage(b: Buffer): ImageKind | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG)) return 'png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' && HEIF_BRANDS.includes(b.toString('latin1', 8, 12))) return 'heif';
  return undefined;
}
