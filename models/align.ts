/**
 * Five-point face alignment in the insightface convention, for ArcFace-family recognizers:
 * eye centres, nose tip and mouth corners (from the 68 landmarks) are mapped by a similarity
 * transform onto the standard 112×112 template, the face is resampled there (bilinear), and
 * the pixels become NCHW RGB floats (x − 127.5) / 127.5.
 *
 * Written here rather than taken from a library: it is ~80 lines of arithmetic, and the only
 * candidates (OpenCV builds for Node) are large native or wasm packages for one warp.
 */
import type { RgbFrame } from './frame.ts';
import type { Point } from './quality.ts';

export const ALIGNED_SIZE = 112;

/** insightface's arcface_dst: left eye, right eye, nose tip, left and right mouth corner (image left/right). */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/** Forward map `[a, -b, tx; b, a, ty]`: x' = a·x − b·y + tx, y' = b·x + a·y + ty. */
export interface Similarity { a: number; b: number; tx: number; ty: number }

const mean = (pts: readonly Point[], from: number, to: number): Point => {
  let x = 0, y = 0;
  for (let i = from; i <= to; i++) { x += (pts[i] as Point).x; y += (pts[i] as Point).y; }
  return { x: x / (to - from + 1), y: y / (to - from + 1) };
};

/** The five points from the 68 (iBUG order): 36–41 and 42–47 are the eyes, 30 the nose tip, 48 and 54 the mouth corners. */
export function fivePoints(landmarks68: readonly Point[]): Point[] {
  if (landmarks68.length !== 68) throw new RangeError(`expected 68 landmarks, got ${landmarks68.length}`);
  return [mean(landmarks68, 36, 41), mean(landmarks68, 42, 47), landmarks68[30] as Point, landmarks68[48] as Point, landmarks68[54] as Point];
}

/** Least-squares similarity (rotation, uniform scale, translation; no reflection) taking `src` onto `dst`. */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  const sm = mean(src, 0, n - 1);
  const dm = mean(dst, 0, n - 1);
  let p = 0, q = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const sx = (src[i] as Point).x - sm.x, sy = (src[i] as Point).y - sm.y;
    const dx = (dst[i] as Point).x - dm.x, dy = (dst[i] as Point).y - dm.y;
    p += sx * dx + sy * dy;
    q += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (!(norm > 1e-9)) throw new RangeError('landmarks are degenerate (all at one point)');
  const a = p / norm, b = q / norm;
  return { a, b, tx: dm.x - (a * sm.x - b * sm.y), ty: dm.y - (b * sm.x + a * sm.y) };
}

export const applySimilarity = (m: Similarity, pt: Point): Point => ({ x: m.a * pt.x - m.b * pt.y + m.tx, y: m.b * pt.x + m.a * pt.y + m.ty });

/**
 * Resamples the frame into the aligned square as the network wants it: NCHW, RGB, (x − 127.5)/127.5.
 * Each output pixel takes the source pixel the inverse transform lands on (as cv2.warpAffine
 * does, integer pixel coordinates); outside the frame is black (−1 after normalisation).
 */
export function alignedInput(frame: RgbFrame, m: Similarity, size = ALIGNED_SIZE, out = new Float32Array(3 * size * size)): Float32Array {
  const plane = size * size;
  warpSimilarity(frame, m, size, (i, c, val) => {
    out[c * plane + i] = (val - 127.5) / 127.5;
  });
  return out;
}

/**
 * The one resampler of every aligned crop: for each output pixel `i` (row-major in a
 * `size`×`size` square) and channel, the frame sampled bilinearly through the inverse of `m`;
 * outside the frame is 0. `write` lays the value out as the network wants it.
 */
export function warpSimilarity(frame: RgbFrame, m: Similarity, size: number, write: (i: number, c: number, val: number) => void): void {
  const det = m.a * m.a + m.b * m.b;
  // inverse of [a, -b; b, a] is [a, b; -b, a] / det
  const ia = m.a / det, ib = m.b / det;
  const { width, height, data } = frame;
  const at = (x: number, y: number, c: number): number => (x < 0 || y < 0 || x >= width || y >= height ? 0 : (data[(y * width + x) * 3 + c] as number));
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const ux = u - m.tx, vy = v - m.ty;
      const x = ia * ux + ib * vy;
      const y = -ib * ux + ia * vy;
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const fx = x - x0, fy = y - y0;
      for (let c = 0; c < 3; c++) {
        write(v * size + u, c, (at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx) * (1 - fy) + (at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx) * fy);
      }
    }
  }
}
