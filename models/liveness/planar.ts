/**
 * Geometry of a flat face. A printed photo or a screen moves as one plane, so the 68 landmarks
 * of two frames of it are related by one homography (up to the landmark net's jitter); a real
 * head has depth (nose in front of the cheeks, jaw contour on the silhouette), so when it turns
 * or nods no single homography maps one frame's landmarks onto the other's.
 *
 * Points are interleaved x0,y0,x1,y1… in frame pixels (FaceAnalysis.landmarks).
 */

/** A 3×3 homography, row-major, h[8] = 1. */
export type Homography = Float64Array;

const LEFT_EYE = [36, 37, 38, 39, 40, 41];
const RIGHT_EYE = [42, 43, 44, 45, 46, 47];

function centre(p: ArrayLike<number>, idx: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of idx) { x += p[2 * i] as number; y += p[2 * i + 1] as number; }
  return [x / idx.length, y / idx.length];
}

/** Distance between the eye centres (px): the face's own scale, so that measures do not depend on how near it is. */
export function interocular(p: ArrayLike<number>): number {
  const [lx, ly] = centre(p, LEFT_EYE);
  const [rx, ry] = centre(p, RIGHT_EYE);
  return Math.hypot(rx - lx, ry - ly);
}

/** Hartley normalisation: centroid at 0, mean distance √2. Returns [scale, cx, cy]. */
function normaliser(p: ArrayLike<number>, n: number): [number, number, number] {
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) { cx += p[2 * i] as number; cy += p[2 * i + 1] as number; }
  cx /= n; cy /= n;
  let d = 0;
  for (let i = 0; i < n; i++) d += Math.hypot((p[2 * i] as number) - cx, (p[2 * i + 1] as number) - cy);
  d /= n;
  return [d > 1e-9 ? Math.SQRT2 / d : 1, cx, cy];
}

/** Solves the n×n system A x = b in place (Gaussian elimination, partial pivoting); null when singular. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c] as number) > Math.abs(a[piv * n + c] as number)) piv = r;
    if (Math.abs(a[piv * n + c] as number) < 1e-12) return null;
    if (piv !== c) {
      for (let k = 0; k < n; k++) { const t = a[c * n + k] as number; a[c * n + k] = a[piv * n + k] as number; a[piv * n + k] = t; }
      const t = b[c] as number; b[c] = b[piv] as number; b[piv] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = (a[r * n + c] as number) / (a[c * n + c] as number);
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k] = (a[r * n + k] as number) - f * (a[c * n + k] as number);
      b[r] = (b[r] as number) - f * (b[c] as number);
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r] as number;
    for (let k = r + 1; k < n; k++) s -= (a[r * n + k] as number) * (x[k] as number);
    x[r] = s / (a[r * n + r] as number);
  }
  return x;
}

/**
 * Least-squares homography mapping points `a` onto `b` (same count, at least 4), by the
 * normalised direct linear transform with h33 = 1; null when the points are degenerate.
 */
export function fitHomography(a: ArrayLike<number>, b: ArrayLike<number>): Homography | null {
  const n = Math.min(a.length, b.length) >> 1;
  if (n < 4) return null;
  const [sa, ax, ay] = normaliser(a, n);
  const [sb, bx, by] = normaliser(b, n);
  const ata = new Float64Array(64);
  const atb = new Float64Array(8);
  const row = new Float64Array(8);
  const add = (rhs: number) => {
    for (let i = 0; i < 8; i++) {
      const ri = row[i] as number;
      if (ri === 0) continue;
      atb[i] = (atb[i] as number) + ri * rhs;
      for (let j = 0; j < 8; j++) ata[i * 8 + j] = (ata[i * 8 + j] as number) + ri * (row[j] as number);
    }
  };
  for (let i = 0; i < n; i++) {
    const x = ((a[2 * i] as number) - ax) * sa;
    const y = ((a[2 * i + 1] as number) - ay) * sa;
    const u = ((b[2 * i] as number) - bx) * sb;
    const v = ((b[2 * i + 1] as number) - by) * sb;
    // two rows per point, written in place (no allocation in the loop)
    row[0] = x; row[1] = y; row[2] = 1; row[3] = 0; row[4] = 0; row[5] = 0; row[6] = -u * x; row[7] = -u * y;
    add(u);
    row[0] = 0; row[1] = 0; row[2] = 0; row[3] = x; row[4] = y; row[5] = 1; row[6] = -v * x; row[7] = -v * y;
    add(v);
  }
  const h = solve(ata, atb, 8);
  if (!h) return null;
  // undo the normalisations: H = Tb⁻¹ · Hn · Ta
  const hn = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1] as number[];
  const ta = [sa, 0, -sa * ax, 0, sa, -sa * ay, 0, 0, 1];
  const tbInv = [1 / sb, 0, bx, 0, 1 / sb, by, 0, 0, 1];
  const m = mul(tbInv, mul(hn, ta));
  const s = m[8] as number;
  if (Math.abs(s) < 1e-12) return null;
  return Float64Array.from(m, (v) => v / s);
}

function mul(p: readonly number[], q: readonly number[]): number[] {
  const r = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) r[i * 3 + j] = (r[i * 3 + j] as number) + (p[i * 3 + k] as number) * (q[k * 3 + j] as number);
  return r;
}

/** Root-mean-square distance (px) between H(a) and b. */
export function transferError(h: Homography, a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length) >> 1;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = a[2 * i] as number;
    const y = a[2 * i + 1] as number;
    const w = (h[6] as number) * x + (h[7] as number) * y + (h[8] as number);
    const u = ((h[0] as number) * x + (h[1] as number) * y + (h[2] as number)) / w;
    const v = ((h[3] as number) * x + (h[4] as number) * y + (h[5] as number)) / w;
    sum += (u - (b[2 * i] as number)) ** 2 + (v - (b[2 * i + 1] as number)) ** 2;
  }
  return Math.sqrt(sum / n);
}

/**
 * How far the landmarks moved between the frames, beyond a shift and a change of size (px RMS
 * after removing the best translation and scale): the part of the motion that could reveal depth.
 */
export function shapeMotion(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length) >> 1;
  const [, ax, ay] = normaliser(a, n);
  const [, bx, by] = normaliser(b, n);
  let ra = 0;
  let rb = 0;
  for (let i = 0; i < n; i++) {
    ra += Math.hypot((a[2 * i] as number) - ax, (a[2 * i + 1] as number) - ay);
    rb += Math.hypot((b[2 * i] as number) - bx, (b[2 * i + 1] as number) - by);
  }
  const s = ra > 1e-9 ? rb / ra : 1;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const u = ((a[2 * i] as number) - ax) * s;
    const v = ((a[2 * i + 1] as number) - ay) * s;
    sum += (u - ((b[2 * i] as number) - bx)) ** 2 + (v - ((b[2 * i + 1] as number) - by)) ** 2;
  }
  return Math.sqrt(sum / n);
}

export interface PairGeometry {
  /** Homography transfer error over the inter-ocular distance: ~0 for a plane, larger with depth. */
  residual: number;
  /** Non-rigid-in-the-image motion (shapeMotion) over the inter-ocular distance. */
  motion: number;
}

/** The two measures for one pair of frames, in units of the face's inter-ocular distance. */
export function pairGeometry(a: ArrayLike<number>, b: ArrayLike<number>): PairGeometry | null {
  const h = fitHomography(a, b);
  const scale = (interocular(a) + interocular(b)) / 2;
  if (!h || !(scale > 1)) return null;
  return { residual: transferError(h, a, b) / scale, motion: shapeMotion(a, b) / scale };
}
