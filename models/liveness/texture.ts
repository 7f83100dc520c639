/**
 * Texture cue of the passive liveness check: what a printed photo or a screen does to the skin's
 * fine detail, measured on one frame of the face. The face is cut out aligned (the five points
 * of the 68 landmarks onto the recognizer's template, so every face is framed alike whatever
 * its size in the frame) into a small grey square, and described by histograms of uniform local
 * binary patterns (LBP, Ojala et al. 2002) at two radii, over the whole face and a 3×3 grid of
 * blocks: the recapture of a print (halftone dots, paper grain, lost micro-shading) or a screen
 * (pixel grid, moiré) changes these statistics (Määttä et al., IJCB 2011, on NUAA), plus a few
 * colour and sharpness numbers; the crop's light is normalised first and the fine detail is also
 * measured as ratios across scales (texture-light.ts), so a warm or dim recording of a real face
 * does not look like a print. A linear model (logistic regression, weights from
 * `scripts/liveness/train-texture.ts`) turns the features into a log-odds of a real face.
 *
 * Written here rather than taken from a library: LBP is ~60 lines of integer arithmetic, and
 * the npm image libraries that have it (opencv builds) are large native or wasm packages.
 */
import { readFileSync } from 'node:fs';
import { estimateSimilarity, fivePoints, ARCFACE_TEMPLATE, ALIGNED_SIZE, warpSimilarity } from '../align.ts';
import { ModelError } from '../errors.ts';
import type { RgbFrame } from '../frame.ts';
import type { Point } from '../quality.ts';
import { BAND_FEATURES, bandFeatures, greyOf, greyWorld } from './texture-light.ts';

/** Side of the aligned grey square the patterns are counted on (pixels). */
export const TEXTURE_SIZE = 64;
const GRID = 3;
const BINS = 59;

/** The 256 8-bit codes mapped onto the 58 uniform patterns (at most two 0/1 transitions around the circle) and one bin for the rest. */
const UNIFORM: Uint8Array = (() => {
  const map = new Uint8Array(256);
  let next = 0;
  for (let c = 0; c < 256; c++) {
    let t = 0;
    for (let b = 0; b < 8; b++) if (((c >> b) & 1) !== ((c >> ((b + 1) % 8)) & 1)) t++;
    map[c] = t <= 2 ? next++ : 58;
  }
  return map;
})();

/** The LBP histograms come first in the features: this many values. */
export const LBP_FEATURES = BINS * (1 + GRID * GRID) + BINS;
/** Values `cropFeatures` returns: the histograms and six colour and detail numbers. */
export const CROP_FEATURES = LBP_FEATURES + 6;
/** Number of values `textureFeatures` returns. */
export const TEXTURE_FEATURES = CROP_FEATURES + BAND_FEATURES;
/** The version of the features (and of the model files made for them): 2 normalises the light first. */
export const TEXTURE_VERSION = 2;

/** The face cut out aligned, grey (ITU-R BT.601 luma) and RGB, `TEXTURE_SIZE` square. */
export function alignedFace(frame: RgbFrame, landmarks: ArrayLike<number>): { grey: Float32Array; rgb: Float32Array } {
  const pts: Point[] = [];
  for (let i = 0; i < 68; i++) pts.push({ x: landmarks[2 * i] as number, y: landmarks[2 * i + 1] as number });
  const k = TEXTURE_SIZE / ALIGNED_SIZE;
  const m = estimateSimilarity(fivePoints(pts), ARCFACE_TEMPLATE.map((p) => ({ x: p.x * k, y: p.y * k })));
  const n = TEXTURE_SIZE * TEXTURE_SIZE;
  const rgb = new Float32Array(3 * n);
  warpSimilarity(frame, m, TEXTURE_SIZE, (i, c, v) => { rgb[3 * i + c] = v; });
  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) grey[i] = 0.299 * (rgb[3 * i] as number) + 0.587 * (rgb[3 * i + 1] as number) + 0.114 * (rgb[3 * i + 2] as number);
  return { grey, rgb };
}

/** Uniform LBP codes (radius r, 8 neighbours bilinearly sampled) of every pixel at least r from the border; -1 elsewhere. */
function lbpCodes(g: Float32Array, size: number, r: number): Int16Array {
  const codes = new Int16Array(size * size).fill(-1);
  const off: [number, number][] = [];
  for (let b = 0; b < 8; b++) off.push([r * Math.cos((2 * Math.PI * b) / 8), -r * Math.sin((2 * Math.PI * b) / 8)]);
  const at = (x: number, y: number): number => {
    const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
    const i = y0 * size + x0;
    const a = g[i] as number, b = g[i + 1] as number, c = g[i + size] as number, d = g[i + size + 1] as number;
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  };
  const lo = Math.ceil(r), hi = size - 1 - Math.ceil(r);
  for (let y = lo; y < hi; y++) {
    for (let x = lo; x < hi; x++) {
      const c = g[y * size + x] as number;
      let code = 0;
      for (let b = 0; b < 8; b++) {
        const [dx, dy] = off[b] as [number, number];
        // integer offsets read the pixel itself (bilinear weights 0 would still read past the row end)
        const v = Number.isInteger(dx) && Number.isInteger(dy) ? (g[(y + dy) * size + x + dx] as number) : at(x + dx, y + dy);
        if (v >= c) code |= 1 << b;
      }
      codes[y * size + x] = UNIFORM[code] as number;
    }
  }
  return codes;
}

/** Histogram of the codes in a rectangle, normalised to sum 1 and square-rooted (Hellinger: a linear model treats it better). */
function histogram(codes: Int16Array, size: number, x0: number, y0: number, x1: number, y1: number, out: Float32Array, at: number): void {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const c = codes[y * size + x] as number;
    if (c >= 0) { out[at + c] = (out[at + c] as number) + 1; n++; }
  }
  for (let i = 0; i < BINS; i++) out[at + i] = n ? Math.sqrt((out[at + i] as number) / n) : 0;
}

/**
 * The features of one frame of a face: the aligned crop brought to a neutral light (grey world,
 * texture-light.ts) and described by `cropFeatures`, then the 21 band-energy and colour numbers
 * of `bandFeatures`, which do not depend on the light's level or colour either.
 */
export function textureFeatures(frame: RgbFrame, landmarks: ArrayLike<number>): Float32Array {
  const { rgb } = alignedFace(frame, landmarks);
  greyWorld(rgb, TEXTURE_SIZE);
  const out = new Float32Array(TEXTURE_FEATURES);
  out.set(cropFeatures(greyOf(rgb), rgb));
  out.set(bandFeatures(frame, landmarks), CROP_FEATURES);
  return out;
}

/**
 * An aligned crop (`TEXTURE_SIZE` square, grey and RGB as `alignedFace` makes them) described:
 * LBP(8,1) over the face and over 3×3 blocks, LBP(8,2) over the face, then six numbers: the mean
 * and spread of the chroma (Cb, Cr), the saturation's mean, and the Laplacian's mean magnitude
 * over the mean grey (fine detail relative to light).
 */
export function cropFeatures(grey: Float32Array, rgb: Float32Array): Float32Array {
  const S = TEXTURE_SIZE;
  const out = new Float32Array(CROP_FEATURES);
  const c1 = lbpCodes(grey, S, 1);
  histogram(c1, S, 0, 0, S, S, out, 0);
  const step = S / GRID;
  for (let by = 0; by < GRID; by++) for (let bx = 0; bx < GRID; bx++) {
    histogram(c1, S, Math.round(bx * step), Math.round(by * step), Math.round((bx + 1) * step), Math.round((by + 1) * step), out, BINS * (1 + by * GRID + bx));
  }
  histogram(lbpCodes(grey, S, 2), S, 0, 0, S, S, out, BINS * (1 + GRID * GRID));
  // colour and detail, on the central part of the face (no background at the corners)
  let cb = 0, cr = 0, cb2 = 0, cr2 = 0, sat = 0, lap = 0, mean = 0, n = 0;
  const m0 = Math.round(S * 0.2), m1 = Math.round(S * 0.8);
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const i = y * S + x;
    const r = rgb[3 * i] as number, g = rgb[3 * i + 1] as number, b = rgb[3 * i + 2] as number;
    const Y = grey[i] as number;
    const u = (b - Y) * 0.564, v = (r - Y) * 0.713;
    cb += u; cr += v; cb2 += u * u; cr2 += v * v;
    const mx = Math.max(r, g, b), mn = Math.min(r, g, b);
    sat += mx > 0 ? (mx - mn) / mx : 0;
    lap += Math.abs(4 * Y - (grey[i - 1] as number) - (grey[i + 1] as number) - (grey[i - S] as number) - (grey[i + S] as number));
    mean += Y;
    n++;
  }
  cb /= n; cr /= n;
  const at = LBP_FEATURES;
  out[at] = cb / 32;
  out[at + 1] = cr / 32;
  out[at + 2] = Math.sqrt(Math.max(0, cb2 / n - cb * cb)) / 16;
  out[at + 3] = Math.sqrt(Math.max(0, cr2 / n - cr * cr)) / 16;
  out[at + 4] = sat / n;
  out[at + 5] = mean > 0 ? lap / mean : 0;
  return out;
}

/** A linear texture model: log-odds of a real face = bias + Σ weight · (feature − mean) / scale. */
export interface TextureModel {
  /** `TEXTURE_VERSION`: the features it was trained on (1: before the light was normalised, refused). */
  version: typeof TEXTURE_VERSION;
  features: number;
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
  /** Mean log-odds over a presentation's frames at or above which the texture says live (chosen by the training script). */
  threshold: number;
  /** What it was trained on (set, people, date), for the operator. */
  trainedOn: string;
}

export function textureLogit(model: TextureModel, f: ArrayLike<number>): number {
  let z = model.bias;
  for (let i = 0; i < model.features; i++) z += (model.weights[i] as number) * (((f[i] as number) - (model.mean[i] as number)) / (model.scale[i] as number));
  return z;
}

/** Checks a model read from a file: the right length and finite numbers. */
export function checkTextureModel(m: unknown): m is TextureModel {
  const t = m as Partial<TextureModel> | null;
  const arr = (a: unknown): boolean => Array.isArray(a) && a.length === TEXTURE_FEATURES && a.every((v) => Number.isFinite(v));
  return !!t && t.version === TEXTURE_VERSION && t.features === TEXTURE_FEATURES && arr(t.mean) && arr(t.scale) && arr(t.weights) && Number.isFinite(t.bias) && Number.isFinite(t.threshold)
    && (t.scale as number[]).every((v) => v > 0);
}

/** Reads a texture model file written by `scripts/liveness/train-texture.ts`; a missing or malformed file is a ModelError naming it. */
export function loadTextureModel(file: string): TextureModel {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError(missing ? 'MODEL_MISSING' : 'MODEL_UNLOADABLE', `texture model ${file}: ${missing ? 'no such file' : (err as Error).message}`, { cause: err, details: { file } });
  }
  if ((parsed as { version?: unknown } | null)?.version === 1) {
    throw new ModelError('MODEL_UNLOADABLE', `texture model ${file}: version 1 (features before the light was normalised); train it again with scripts/liveness/train-texture.ts`, { details: { file } });
  }
  if (!checkTextureModel(parsed)) {
    throw new ModelError('MODEL_UNLOADABLE', `texture model ${file}: not a texture model of ${TEXTURE_FEATURES} features (version ${TEXTURE_VERSION}, finite numbers)`, { details: { file } });
  }
  return parsed;
}
