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

// Scratch space of the fits, reused by every call (and Math.sqrt rather than Math.hypot, which
// allocates on every call in V8 11): the door measures 11 pairs of frames per frame
// on its main thread, and the fits' temporaries (and the numbers boxed to carry them) were most of
// what that thread allocated per frame (young-generation collections in the hot loop). JS runs
// one call at a time, so one set of buffers serves every caller.
const ATA = new Float64Array(64);
const ATB = new Float64Array(8);
const ROW = new Float64Array(8);
const SOL = new Float64Array(8);
const H_SCRATCH = new Float64Array(9);
// normaliser's results: [scale, cx, cy]
const NORM_A = new Float64Array(3);
const NORM_B = new Float64Array(3);

/** Distance between the eye centres (px): the face's own scale, so that measures do not depend on how near it is. */
export function interocular(p: ArrayLike<number>): number {
  let lx = 0, ly = 0, rx = 0, ry = 0;
  for (let k = 0; k < 6; k++) {
    const l = LEFT_EYE[k] as number, r = RIGHT_EYE[k] as number;
    lx += p[2 * l] as number; ly += p[2 * l + 1] as number;
    rx += p[2 * r] as number; ry += p[2 * r + 1] as number;
  }
  const dx = rx / 6 - lx / 6, dy = ry / 6 - ly / 6;
  return Math.sqrt(dx * dx + dy * dy);
}

/** Hartley normalisation: centroid at 0, mean distance √2. Writes [scale, cx, cy] into `out`. */
function normaliser(p: ArrayLike<number>, n: number, out: Float64Array): Float64Array {
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) { cx += p[2 * i] as number; cy += p[2 * i + 1] as number; }
  cx /= n; cy /= n;
  let d = 0;
  for (let i = 0; i < n; i++) { const dx = (p[2 * i] as number) - cx, dy = (p[2 * i + 1] as number) - cy; d += Math.sqrt(dx * dx + dy * dy); }
  d /= n;
  out[0] = d > 1e-9 ? Math.SQRT2 / d : 1; out[1] = cx; out[2] = cy;
  return out;
}

/** Solves the n×n system A x = b in place (Gaussian elimination, partial pivoting) into `x`; false when singular. */
function solve(a: Float64Array, b: Float64Array, n: number, x: Float64Array): boolean {
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c] as number) > Math.abs(a[piv * n + c] as number)) piv = r;
    if (Math.abs(a[piv * n + c] as number) < 1e-12) return false;
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
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r] as number;
    for (let k = r + 1; k < n; k++) s -= (a[r * n + k] as number) * (x[k] as number);
    x[r] = s / (a[r * n + r] as number);
  }
  return true;
}

/** ATA += ROW·ROWᵀ, ATB += ROW·rhs (rows written in place: no allocation in the loop). */
function accumulate(rhs: number): void {
  for (let i = 0; i < 8; i++) {
    const ri = ROW[i] as number;
    if (ri === 0) continue;
    ATB[i] = (ATB[i] as number) + ri * rhs;
    for (let j = 0; j < 8; j++) ATA[i * 8 + j] = (ATA[i * 8 + j] as number) + ri * (ROW[j] as number);
  }
}

/** The fit into `out` (9 values, h33 = 1); false when the points are degenerate. */
function fitInto(a: ArrayLike<number>, b: ArrayLike<number>, out: Float64Array): boolean {
  const n = Math.min(a.length, b.length) >> 1;
  if (n < 4) return false;
  normaliser(a, n, NORM_A);
  normaliser(b, n, NORM_B);
  const sa = NORM_A[0] as number, ax = NORM_A[1] as number, ay = NORM_A[2] as number;
  const sb = NORM_B[0] as number, bx = NORM_B[1] as number, by = NORM_B[2] as number;
  ATA.fill(0);
  ATB.fill(0);
  for (let i = 0; i < n; i++) {
    const x = ((a[2 * i] as number) - ax) * sa;
    const y = ((a[2 * i + 1] as number) - ay) * sa;
    const u = ((b[2 * i] as number) - bx) * sb;
    const v = ((b[2 * i + 1] as number) - by) * sb;
    ROW[0] = x; ROW[1] = y; ROW[2] = 1; ROW[3] = 0; ROW[4] = 0; ROW[5] = 0; ROW[6] = -u * x; ROW[7] = -u * y;
    accumulate(u);
    ROW[0] = 0; ROW[1] = 0; ROW[2] = 0; ROW[3] = x; ROW[4] = y; ROW[5] = 1; ROW[6] = -v * x; ROW[7] = -v * y;
    accumulate(v);
  }
  if (!solve(ATA, ATB, 8, SOL)) return false;
  // undo the normalisations: H = Tb⁻¹ · Hn · Ta, with Ta = [sa 0 −sa·ax; 0 sa −sa·ay; 0 0 1], Tb⁻¹ = [1/sb 0 bx; 0 1/sb by; 0 0 1]
  const h0 = SOL[0] as number, h1 = SOL[1] as number, h2 = SOL[2] as number, h3 = SOL[3] as number;
  const h4 = SOL[4] as number, h5 = SOL[5] as number, h6 = SOL[6] as number, h7 = SOL[7] as number;
  // Hn · Ta, row by row
  const m00 = h0 * sa, m01 = h1 * sa, m02 = -h0 * sa * ax - h1 * sa * ay + h2;
  const m10 = h3 * sa, m11 = h4 * sa, m12 = -h3 * sa * ax - h4 * sa * ay + h5;
  const m20 = h6 * sa, m21 = h7 * sa, m22 = -h6 * sa * ax - h7 * sa * ay + 1;
  // Tb⁻¹ · (Hn · Ta)
  const s = m22;
  if (Math.abs(s) < 1e-12) return false;
  out[0] = (m00 / sb + bx * m20) / s; out[1] = (m01 / sb + bx * m21) / s; out[2] = (m02 / sb + bx * m22) / s;
  out[3] = (m10 / sb + by * m20) / s; out[4] = (m11 / sb + by * m21) / s; out[5] = (m12 / sb + by * m22) / s;
  out[6] = m20 / s; out[7] = m21 / s; out[8] = 1;
  return true;
}

/**
 * Least-squares homography mapping points `a` onto `b` (same count, at least 4), by the
 * normalised direct linear transform with h33 = 1; null when the points are degenerate.
 */
export function fitHomography(a: ArrayLike<number>, b: ArrayLike<number>): Homography | null {
  const h = new Float64Array(9);
  return fitInto(a, b, h) ? h : null;
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
  const ax = normaliser(a, n, NORM_A)[1] as number, ay = NORM_A[2] as number;
  const bx = normaliser(b, n, NORM_B)[1] as number, by = NORM_B[2] as number;
  let ra = 0;
  let rb = 0;
  for (let i = 0; i < n; i++) {
    const dax = (a[2 * i] as number) - ax, day = (a[2 * i + 1] as number) - ay;
    const dbx = (b[2 * i] as number) - bx, dby = (b[2 * i + 1] as number) - by;
    ra += Math.sqrt(dax * dax + day * day);
    rb += Math.sqrt(dbx * dbx + dby * dby);
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
  const fitted = fitInto(a, b, H_SCRATCH);
  const scale = (interocular(a) + interocular(b)) / 2;
  if (!fitted || !(scale > 1)) return null;
  return { residual: transferError(H_SCRATCH, a, b) / scale, motion: shapeMotion(a, b) / scale };
}
