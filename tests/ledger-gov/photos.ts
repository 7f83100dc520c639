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

/**
 * An iPhone-style HEIC photo (64×48, HEVC): ftyp brand `heic` (mif1, heic), a `meta` box with one
 * `hvc1` item, its `hvcC` (the VPS, SPS and PPS) and `ispe`, and the picture's NAL units in
 * `mdat`. sharp cannot make one (it encodes AV1 only): the HEVC frame was encoded once by
 * ffmpeg's libx265 from its `testsrc` pattern and the boxes written around it by hand.
 */
export const heicPhoto = (): Buffer => Buffer.from([
  'AAAAGGZ0eXBoZWljAAAAAG1pZjFoZWljAAABJ21ldGEAAAAAAAAAIWhkbHIAAAAAAAAAAHBpY3QAAAAAAAAAAAAAAAAAAAAADnBpdG0AAAAAAAEAAAAeaWxv',
  'YwAAAABEAAABAAEAAAABAAABRwAAAi4AAAAjaWluZgAAAAAAAQAAABVpbmZlAgAAAAABAABodmMxAAAAAKtpcHJwAAAAjmlwY28AAAByaHZjQwEECAAAAJ+o',
  'AAAAAB7wAPz9+PgAAA8DoAABABdAAQwB//8ECAAAAwCfqAAAAwAAHroCQKEAAQAnQgEBBAgAAAMAn6gAAAMAAB6gIIMWW6uTK8BaAgAAAwACAAADAAIQogAB',
  'AAZEAcFzwIkAAAAUaXNwZQAAAAAAAABAAAAAMAAAABVpcG1hAAAAAAAAAAEAAQKBAgAAAjZtZGF0AAACKigBr3iiR44huaXR/up7XdD5Cg6w651yEyo2X+rh',
  'o7Abpy6R1PMW+cRica0pE32vq/RBCI6/crJ8gE9f3AdzfysusCpcAviMHD/6ruxPS/qCCH14d80olN/n//82Gf3Cz5BI9856o/1SpQ/kb/nl0f3/rd0jWvdp',
  'Cb4ng0XZJPkHn6oKpmxLauIjqnOTsto5G90apsA/lf61uxhSt/uIkt3ISvYNNe1GXu0JrmmGW2xto1dvStMTe3BsHN8rEnUCPCulOwmROr7i1/q9oF4iWmqm',
  '6mcPZQqgq4adj4UphxrD1YFgh41YWKjYYaFX6J20uw5goryy0oYpGN+lhxEyDWugS1fWwbLrDNWDeDFJt09MgK8++8PbRKKUpVnBBHHrUqk67Idz2OHv1vgS',
  'tYnEXzSETf9nfIlz8qRT0zFmowzW4YO9ix6g+C///Bj7H00EDK4EvR6uzttAiw6cIehXfCEeJ+x1wwhYjqWxrqFZhdU/pONar2dJqosczLd2ZhxHuWWDEaYs',
  'vYCqH+oIIl+nYnBqCvjlC0bMbFYAU2pDtpW8M9j3ngdOeoQhFggkEUCqze4Yot+G0IWYJ6Yn1g6kGknoShcf6eCD8ZvLCXWHbo+ZEb1bipPsKrknny0YQqdW',
  'PHvYvF0gzVh4f06gtFWjirf+1yF8UmRkW81md8IXVbO+gErZUFhND//vfSpCXZjXjupC3F8kJAqizF0B7QvyMqQSf/ku+bNj4/eA',
].join(''), 'base64');
