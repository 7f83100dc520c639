/**
 * The parts of the texture cue that must not follow the light: a warm lamp or a dim recording
 * changes a face's colour and level, not its surface, yet a model that sees raw colour and raw
 * detail learns "warm and soft = print" from the people it was trained on. So the crop is
 * normalised by grey world (each channel's mean over the face brought to 128) before it is
 * described, and fine detail is measured as ratios of band energies (how fast the Laplacian's
 * energy falls from fine to coarse scales), which neither contrast nor brightness changes.
 */
import { estimateSimilarity, fivePoints, ARCFACE_TEMPLATE, ALIGNED_SIZE, warpSimilarity } from '../align.ts';
import type { RgbFrame } from '../frame.ts';
import type { Point } from '../quality.ts';

/** Number of values `bandFeatures` returns. */
export const BAND_FEATURES = 21;
/** Side of the aligned square the band energies are measured on: twice the LBP square, so the finest band is still there. */
const BAND_SIZE = 128;

const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** The face's central part (fractions of the side): no background at the corners. */
const C0 = 0.2, C1 = 0.8;

/** Grey world, in place: each channel scaled so that its mean over the central face is 128 (clipped at 255). */
export function greyWorld(rgb: Float32Array, size: number): Float32Array {
  const m0 = Math.round(size * C0), m1 = Math.round(size * C1);
  let r = 0, g = 0, b = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const i = 3 * (y * size + x);
    r += rgb[i] as number; g += rgb[i + 1] as number; b += rgb[i + 2] as number;
  }
  const n = (m1 - m0) * (m1 - m0);
  const k = [r, g, b].map((s) => (s / n > 1 ? (128 * n) / s : 1));
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = Math.min(255, (rgb[i] as number) * (k[0] as number));
    rgb[i + 1] = Math.min(255, (rgb[i + 1] as number) * (k[1] as number));
    rgb[i + 2] = Math.min(255, (rgb[i + 2] as number) * (k[2] as number));
  }
  return rgb;
}

/** ITU-R BT.601 luma of an RGB crop. */
export function greyOf(rgb: Float32Array): Float32Array {
  const g = new Float32Array(rgb.length / 3);
  for (let i = 0; i < g.length; i++) g[i] = luma(rgb[3 * i] as number, rgb[3 * i + 1] as number, rgb[3 * i + 2] as number);
  return g;
}

/** Halves a square grey image by 2×2 means. */
function half(g: Float32Array, size: number): Float32Array {
  const h = size >> 1;
  const out = new Float32Array(h * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < h; x++) {
    const i = 2 * y * size + 2 * x;
    out[y * h + x] = ((g[i] as number) + (g[i + 1] as number) + (g[i + size] as number) + (g[i + size + 1] as number)) / 4;
  }
  return out;
}

/** Mean |4-neighbour Laplacian| over a rectangle (fractions of the side) of a square grey image. */
function lapEnergy(g: Float32Array, size: number, x0f: number, y0f: number, x1f: number, y1f: number): number {
  const x0 = Math.max(1, Math.round(size * x0f)), y0 = Math.max(1, Math.round(size * y0f));
  const x1 = Math.min(size - 1, Math.round(size * x1f)), y1 = Math.min(size - 1, Math.round(size * y1f));
  let s = 0, n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const i = y * size + x;
    s += Math.abs(4 * (g[i] as number) - (g[i - 1] as number) - (g[i + 1] as number) - (g[i - size] as number) - (g[i + size] as number));
    n++;
  }
  return n ? s / n : 0;
}

/** The face cut out aligned (the recognizer's template scaled to `size`), RGB. */
export function alignedRgb(frame: RgbFrame, landmarks: ArrayLike<number>, size: number): Float32Array {
  const pts: Point[] = [];
  for (let i = 0; i < 68; i++) pts.push({ x: landmarks[2 * i] as number, y: landmarks[2 * i + 1] as number });
  const k = size / ALIGNED_SIZE;
  const m = estimateSimilarity(fivePoints(pts), ARCFACE_TEMPLATE.map((p) => ({ x: p.x * k, y: p.y * k })));
  const rgb = new Float32Array(3 * size * size);
  warpSimilarity(frame, m, size, (i, c, v) => { rgb[3 * i + c] = v; });
  return rgb;
}

const lg = (a: number, b: number): number => Math.log((a + 1e-3) / (b + 1e-3));

/**
 * Detail and light-independent colour of one frame of a face, 21 numbers: on the aligned face at
 * 128 px and a pyramid of 2×2 means down to 16 px, the log ratios of neighbouring levels'
 * Laplacian energy (and finest over coarsest) over the central face, and the finest over the
 * next per 3×3 block; the luminance's spread over its mean, its skew, the share of highlights
 * above two spreads (gloss of paper), the finest band over the spread; and after grey world the
 * chroma's spread over the luminance's and the chroma's means.
 */
export function bandFeatures(frame: RgbFrame, landmarks: ArrayLike<number>): Float32Array {
  const S = BAND_SIZE;
  const rgb = alignedRgb(frame, landmarks, S);
  const g0 = greyOf(rgb), g1 = half(g0, S), g2 = half(g1, S / 2), g3 = half(g2, S / 4);
  const e = [lapEnergy(g0, S, C0, C0, C1, C1), lapEnergy(g1, S / 2, C0, C0, C1, C1), lapEnergy(g2, S / 4, C0, C0, C1, C1), lapEnergy(g3, S / 8, C0, C0, C1, C1)] as [number, number, number, number];
  const out = new Float32Array(BAND_FEATURES);
  let k = 0;
  out[k++] = lg(e[0], e[1]);
  out[k++] = lg(e[1], e[2]);
  out[k++] = lg(e[2], e[3]);
  out[k++] = lg(e[0], e[3]);
  for (let by = 0; by < 3; by++) for (let bx = 0; bx < 3; bx++) {
    const x0 = 0.1 + (bx * 0.8) / 3, y0 = 0.1 + (by * 0.8) / 3, x1 = x0 + 0.8 / 3, y1 = y0 + 0.8 / 3;
    out[k++] = lg(lapEnergy(g0, S, x0, y0, x1, y1), lapEnergy(g1, S / 2, x0, y0, x1, y1));
  }
  const m0 = Math.round(S * C0), m1 = Math.round(S * C1);
  let s = 0, s2 = 0, s3 = 0, hi = 0, n = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) { const v = g0[y * S + x] as number; s += v; s2 += v * v; n++; }
  const mu = s / n, sd = Math.sqrt(Math.max(0, s2 / n - mu * mu));
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const v = g0[y * S + x] as number;
    s3 += ((v - mu) / (sd + 1e-3)) ** 3;
    if (v > mu + 2 * sd) hi++;
  }
  out[k++] = sd / (mu + 1);
  out[k++] = s3 / n;
  out[k++] = hi / n;
  out[k++] = lg(e[0], sd);
  const gw = greyWorld(rgb, S);
  let cb = 0, cr = 0, cb2 = 0, cr2 = 0, y2 = 0, ym = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const i = 3 * (y * S + x);
    const r = gw[i] as number, g = gw[i + 1] as number, b = gw[i + 2] as number;
    const Y = luma(r, g, b);
    const u = (b - Y) * 0.564, v = (r - Y) * 0.713;
    cb += u; cr += v; cb2 += u * u; cr2 += v * v; ym += Y; y2 += Y * Y;
  }
  cb /= n; cr /= n; ym /= n;
  const ysd = Math.sqrt(Math.max(0, y2 / n - ym * ym)) + 1;
  out[k++] = Math.sqrt(Math.max(0, cb2 / n - cb * cb)) / ysd;
  out[k++] = Math.sqrt(Math.max(0, cr2 / n - cr * cr)) / ysd;
  out[k++] = cb / 16;
  out[k] = cr / 16;
  return out;
}
