/** Pictures for the evidence tests, made here with sharp (no third-party photos in the repository). */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** A small JPEG photo. */
export const tinyJpeg = (): Promise<Buffer> => sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 120, b: 40 } } }).jpeg().toBuffer();

/** A JPEG carrying EXIF (camera, and a GPS position) and the orientation "rotate 90°". */
export const jpegWithExif = (): Promise<Buffer> =>
  sharp({ create: { width: 80, height: 40, channels: 3, background: { r: 10, g: 160, b: 90 } } })
    .jpeg()
    .withExif({ IFD0: { Make: 'VillageCam', Model: 'SECRET-MODEL-123' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '30/1 15/1 0/1' } })
    .withMetadata({ orientation: 6 })
    .toBuffer();

/** A PNG whose header claims width × height (the pixels are a tiny picture's): a decompression bomb as the decoder sees it. */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer();
  // IHDR starts at byte 8: length (4), "IHDR" (4), width (4), height (4), 5 more bytes, CRC (4).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}
