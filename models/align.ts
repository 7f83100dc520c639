/**
 * Five-point face alignment in the insightface convention, for ArcFace-family recognizers:
 * eye centres, nose tip and mouth corners (from the 68 landmarks) are mapped by a similarity
 * transform onto the standard 112×112 template, the face is resampled there (bilinear), and
 * the pixels become NCHW RGB floats (x − 127.5) / 127.5. A model trained otherwise can ask for
 * an exact affine map of eyes and nose instead (`affineFromThree`, as OpenCV's
 * getAffineTransform on three points), BGR order, or another mean and scale (`InputNorm`).
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

/** A general forward affine map: x' = a·x + b·y + tx, y' = c·x + d·y + ty. */
export interface Affine { a: number; b: number; c: number; d: number; tx: number; ty: number }

/** The similarity as an affine map (the same numbers: `[a, -b; b, a]`). */
export const affineOf = (m: Similarity): Affine => ({ a: m.a, b: -m.b, c: m.b, d: m.a, tx: m.tx, ty: m.ty });

export const applyAffine = (m: Affine, pt: Point): Point => ({ x: m.a * pt.x + m.b * pt.y + m.tx, y: m.c * pt.x + m.d * pt.y + m.ty });

/**
 * The affine map taking three points exactly onto three others (OpenCV's getAffineTransform):
 * shear and unequal scale included, so the eyes and nose land on the template whatever the pose.
 */
export function affineFromThree(src: readonly Point[], dst: readonly Point[]): Affine {
  if (src.length !== 3 || dst.length !== 3) throw new RangeError(`expected 3 points each, got ${src.length} and ${dst.length}`);
  const [p0, p1, p2] = src as [Point, Point, Point];
  // rows [x y 1]; Cramer's rule for both output coordinates
  const det = p0.x * (p1.y - p2.y) - p0.y * (p1.x - p2.x) + (p1.x * p2.y - p2.x * p1.y);
  if (!(Math.abs(det) > 1e-9)) throw new RangeError('landmarks are degenerate (eyes and nose on one line)');
  const solve = (v0: number, v1: number, v2: number): [number, number, number] => [
    (v0 * (p1.y - p2.y) - p0.y * (v1 - v2) + (v1 * p2.y - v2 * p1.y)) / det,
    (p0.x * (v1 - v2) - v0 * (p1.x - p2.x) + (p1.x * v2 - p2.x * v1)) / det,
    (p0.x * (p1.y * v2 - p2.y * v1) - p0.y * (p1.x * v2 - p2.x * v1) + v0 * (p1.x * p2.y - p2.x * p1.y)) / det,
  ];
  const [d0, d1, d2] = dst as [Point, Point, Point];
  const [a, b, tx] = solve(d0.x, d1.x, d2.x);
  const [c, d, ty] = solve(d0.y, d1.y, d2.y);
  return { a, b, c, d, tx, ty };
}

/** How the aligned pixels become the network's input: channel order, then (x − mean) / std. */
export interface InputNorm { channels: 'rgb' | 'bgr'; mean: number; std: number }

/** The insightface convention: RGB, (x − 127.5) / 127.5. */
export const ARCFACE_INPUT: InputNorm = { channels: 'rgb', mean: 127.5, std: 127.5 };

/**
 * Resamples the frame into the aligned square as the network wants it: NCHW, RGB, (x − 127.5)/127.5
 * unless `norm` says otherwise (BGR puts blue in the first plane).
 * Each output pixel takes the source pixel the inverse transform lands on (as cv2.warpAffine
 * does, integer pixel coordinates); outside the frame is black (−mean/std after normalisation).
 */
export function alignedInput(frame: RgbFrame, m: Similarity | Affine, size = ALIGNED_SIZE, out = new Float32Array(3 * size * size), norm: InputNorm = ARCFACE_INPUT): Float32Array {
  const plane = size * size;
  const { mean, std } = norm;
  const bgr = norm.channels === 'bgr';
  warpAffine(frame, 'c' in m ? m : affineOf(m), size, (i, c, val) => {
    out[(bgr ? 2 - c : c) * plane + i] = (val - mean) / std;
  });
  return out;
}

/**
 * The resampler of every aligned crop: for each output pixel `i` (row-major in a
 * `size`×`size` square) and channel, the frame sampled bilinearly through the inverse of `m`;
 * outside the frame is 0. `write` lays the value out as the network wants it.
 */
export function warpSimilarity(frame: RgbFrame, m: Similarity, size: number, write: (i: number, c: number, val: number) => void): void {
  warpAffine(frame, affineOf(m), size, write);
}

/** `warpSimilarity` for any affine map (for a similarity the same arithmetic, to the bit). */
export function warpAffine(frame: RgbFrame, m: Affine, size: number, write: (i: number, c: number, val: number) => void): void {
  const det = m.a * m.d - m.b * m.c;
  // inverse of [a, b; c, d] is [d, -b; -c, a] / det (for a similarity: [a, b; -b, a] / (a² + b²))
  const i00 = m.d / det, i01 = -m.b / det, i10 = -m.c / det, i11 = m.a / det;
  const { width, height, data } = frame;
  const at = (x: number, y: number, c: number): number => (x < 0 || y < 0 || x >= width || y >= height ? 0 : (data[(y * width + x) * 3 + c] as number));
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const ux = u - m.tx, vy = v - m.ty;
      const x = i00 * ux + i01 * vy;
      const y = i10 * ux + i11 * vy;
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const fx = x - x0, fy = y - y0;
      for (let c = 0; c < 3; c++) {
        write(v * size + u, c, (at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx) * (1 - fy) + (at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx) * fy);
      }
    }
  }
}
