/**
 * Image decoding for photos (enrolment, identify, the `files` camera source). The one file
 * that imports sharp. Photos are scaled to fit `maxSide` so that a 10,000×10,000 picture costs
 * a bounded amount of memory downstream; sharp itself refuses decompression bombs beyond
 * `maxInputPixels`.
 */
import sharp from 'sharp';
import { ModelError } from './errors.ts';
import type { RgbFrame } from './face-engine.ts';

export interface DecodeOptions {
  /** Longest side after decoding; larger photos are scaled down. */
  maxSide: number;
  /** Refuse images with more pixels than this before decoding them. */
  maxInputPixels: number;
}

export const DEFAULT_DECODE: DecodeOptions = { maxSide: 1280, maxInputPixels: 120_000_000 };

export async function decodeImage(input: Buffer | Uint8Array, opts: DecodeOptions = DEFAULT_DECODE): Promise<RgbFrame> {
  if (input.length === 0) throw new ModelError('IMAGE_INVALID', 'image is empty (0 bytes)');
  try {
    const { data, info } = await sharp(input, { limitInputPixels: opts.maxInputPixels, failOn: 'truncated' })
      .rotate() // honour EXIF orientation: phones store portraits sideways
      .resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw new ModelError('IMAGE_INVALID', `cannot decode image: ${(err as Error).message}`, { cause: err });
  }
}
