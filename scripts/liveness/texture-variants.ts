/**
 * Feature variants of the texture cue, for the cross-validation only (`cv-texture-variants.ts`):
 * what the door computes (`v1`, models/liveness/texture.ts) beside the same features on a crop
 * whose light and colour were normalised first, and numbers of fine detail that do not depend on
 * the face's contrast or brightness. A variant that carries across people better is what would
 * move into texture.ts; nothing here runs at the door.
 */
import { estimateSimilarity, fivePoints, ARCFACE_TEMPLATE, ALIGNED_SIZE, warpSimilarity } from '../../models/align.ts';
import type { RgbFrame } from '../../models/frame.ts';
import { alignedFace, cropFeatures, TEXTURE_SIZE } from '../../models/liveness/texture.ts';
import type { Point } from '../../models/quality.ts';

const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** Means of the three channels over the central part of the square crop (no background at the corners). */
function channelStats(rgb: Float32Array, size: number): { mean: number[]; sd: number[] } {
  const m0 = Math.round(size * 0.2), m1 = Math.round(size * 0.8);
  const s = [0, 0, 0], s2 = [0, 0, 0];
  let n = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const i = 3 * (y * size + x);
    for (let c = 0; c < 3; c++) { const v = rgb[i + c] as number; s[c] = (s[c] as number) + v; s2[c] = (s2[c] as number) + v * v; }
    n++;
  }
  const mean = s.map((v) => v / n);
  return { mean, sd: s2.map((v, c) => Math.sqrt(Math.max(0, v / n - (mean[c] as number) ** 2))) };
}

function greyOf(rgb: Float32Array): Float32Array {
  const n = rgb.length / 3;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = luma(rgb[3 * i] as number, rgb[3 * i + 1] as number, rgb[3 * i + 2] as number);
  return g;
}

/** Grey world: each channel scaled so that its mean over the face is 128 (removes the light's colour and level). */
export function greyWorld(rgb: Float32Array, size: number): Float32Array {
  const { mean } = channelStats(rgb, size);
  const k = mean.map((m) => (m > 1 ? 128 / m : 1));
  return rgb.map((v, i) => Math.min(255, v * (k[i % 3] as number)));
}

/** Each channel standardised over the face: mean 128, spread 40 (removes level, colour and contrast). */
export function standardise(rgb: Float32Array, size: number): Float32Array {
  const { mean, sd } = channelStats(rgb, size);
  return rgb.map((v, i) => Math.max(0, Math.min(255, 128 + (40 * (v - (mean[i % 3] as number))) / ((sd[i % 3] as number) + 1))));
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

/** Mean |4-neighbour Laplacian| over a rectangle of a square grey image (fractions of its side). */
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

/** The aligned face as `alignedFace` makes it, at another size (RGB only). */
function alignedRgb(frame: RgbFrame, landmarks: ArrayLike<number>, size: number): Float32Array {
  const pts: Point[] = [];
  for (let i = 0; i < 68; i++) pts.push({ x: landmarks[2 * i] as number, y: landmarks[2 * i + 1] as number });
  const k = size / ALIGNED_SIZE;
  const m = estimateSimilarity(fivePoints(pts), ARCFACE_TEMPLATE.map((p) => ({ x: p.x * k, y: p.y * k })));
  const rgb = new Float32Array(3 * size * size);
  warpSimilarity(frame, m, size, (i, c, v) => { rgb[3 * i + c] = v; });
  return rgb;
}

export const BAND_FEATURES = 4 + 9 + 4 + 4;

/**
 * Scale-invariant detail: the aligned face at 128 px, a pyramid of 2×2 means down to 16 px, the
 * mean |Laplacian| of each level over the central face (band energies); ratios of neighbouring
 * bands (log) say how fast detail falls off from fine to coarse, whatever the contrast or light.
 * Per 3×3 block the fine-over-coarse ratio; the luminance's spread over its mean, skew and share
 * of highlights (gloss of paper or glass); and the chroma's spread relative to the luminance's
 * after grey world.
 */
export function bandFeatures(frame: RgbFrame, landmarks: ArrayLike<number>): Float32Array {
  const S = 128;
  const rgb = alignedRgb(frame, landmarks, S);
  const g0 = greyOf(rgb), g1 = half(g0, S), g2 = half(g1, S / 2), g3 = half(g2, S / 4);
  const e = [lapEnergy(g0, S, 0.2, 0.2, 0.8, 0.8), lapEnergy(g1, S / 2, 0.2, 0.2, 0.8, 0.8), lapEnergy(g2, S / 4, 0.2, 0.2, 0.8, 0.8), lapEnergy(g3, S / 8, 0.2, 0.2, 0.8, 0.8)];
  const lg = (a: number, b: number): number => Math.log((a + 1e-3) / (b + 1e-3));
  const out = new Float32Array(BAND_FEATURES);
  let k = 0;
  out[k++] = lg(e[0] as number, e[1] as number);
  out[k++] = lg(e[1] as number, e[2] as number);
  out[k++] = lg(e[2] as number, e[3] as number);
  out[k++] = lg(e[0] as number, e[3] as number);
  for (let by = 0; by < 3; by++) for (let bx = 0; bx < 3; bx++) {
    const x0 = 0.1 + (bx * 0.8) / 3, y0 = 0.1 + (by * 0.8) / 3, x1 = x0 + 0.8 / 3, y1 = y0 + 0.8 / 3;
    out[k++] = lg(lapEnergy(g0, S, x0, y0, x1, y1), lapEnergy(g1, S / 2, x0, y0, x1, y1));
  }
  // luminance distribution over the central face
  const m0 = Math.round(S * 0.2), m1 = Math.round(S * 0.8);
  let s = 0, s2 = 0, s3 = 0, hi = 0, n = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) { const v = g0[y * S + x] as number; s += v; s2 += v * v; n++; }
  const mu = s / n, sd = Math.sqrt(Math.max(0, s2 / n - mu * mu));
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) { const v = g0[y * S + x] as number; s3 += ((v - mu) / (sd + 1e-3)) ** 3; if (v > mu + 2 * sd) hi++; }
  out[k++] = sd / (mu + 1);
  out[k++] = s3 / n;
  out[k++] = hi / n;
  out[k++] = lg(e[0] as number, sd);
  // chroma against luminance after grey world
  const gw = greyWorld(rgb, S);
  let cb = 0, cr = 0, cb2 = 0, cr2 = 0, y2 = 0, ym = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const i = y * S + x;
    const r = gw[3 * i] as number, gg = gw[3 * i + 1] as number, b = gw[3 * i + 2] as number;
    const Y = luma(r, gg, b);
    const u = (b - Y) * 0.564, v = (r - Y) * 0.713;
    cb += u; cr += v; cb2 += u * u; cr2 += v * v; ym += Y; y2 += Y * Y;
  }
  cb /= n; cr /= n; ym /= n;
  const ysd = Math.sqrt(Math.max(0, y2 / n - ym * ym)) + 1;
  out[k++] = Math.sqrt(Math.max(0, cb2 / n - cb * cb)) / ysd;
  out[k++] = Math.sqrt(Math.max(0, cr2 / n - cr * cr)) / ysd;
  out[k++] = cb / 16;
  out[k++] = cr / 16;
  return out;
}

/** Every variant of one frame, by name. */
export function variantFeatures(frame: RgbFrame, landmarks: ArrayLike<number>): Record<string, Float32Array> {
  const { grey, rgb } = alignedFace(frame, landmarks);
  const gw = greyWorld(rgb, TEXTURE_SIZE);
  const st = standardise(rgb, TEXTURE_SIZE);
  return {
    v1: cropFeatures(grey, rgb),
    gw: cropFeatures(greyOf(gw), gw),
    std: cropFeatures(greyOf(st), st),
    band: bandFeatures(frame, landmarks),
  };
}
