/**
 * Training of the texture model (models/liveness/texture.ts): a class-balanced, L2-regularised
 * logistic regression by full-batch gradient descent on standardised features. Used through
 * the candidates of models/liveness/texture-candidates.ts by `scripts/liveness/train-texture.ts`
 * and `cv-texture.ts` (and the tests); never at the door. Hand-written (≈ 60 lines) rather than a dependency: the npm ML
 * packages are far larger than this one linear model.
 */
import { TEXTURE_FEATURES, TEXTURE_VERSION, textureLogit, type TextureModel } from './texture.ts';

export interface TextureSample {
  f: ArrayLike<number>;
  real: boolean;
  /** Frames of one presentation are scored together (mean log-odds). */
  presentation: string;
  /** Presentations of one person are left out together when choosing the threshold. */
  person: string;
}

export interface TrainOptions { lambda: number; iterations: number }

/** Fits the linear model (threshold 0: the training script sets it on people left out, texture-cv.ts). */
export function trainTexture(set: readonly TextureSample[], o: TrainOptions, trainedOn = ''): TextureModel {
  const n = set.length;
  // the length of the samples' features (the door's are TEXTURE_FEATURES; a cross-validation may try others)
  const d = set[0]?.f.length ?? TEXTURE_FEATURES;
  if (set.some((s) => s.f.length !== d)) throw new RangeError('texture samples of different feature lengths');
  const pos = set.filter((s) => s.real).length;
  if (pos === 0 || pos === n) throw new RangeError('texture training needs frames of both real faces and attacks');
  const mean = new Float64Array(d), scale = new Float64Array(d);
  for (const s of set) for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (s.f[i] as number) / n;
  for (const s of set) for (let i = 0; i < d; i++) scale[i] = (scale[i] as number) + ((s.f[i] as number) - (mean[i] as number)) ** 2 / n;
  for (let i = 0; i < d; i++) scale[i] = Math.sqrt(scale[i] as number) + 1e-6;
  const z = set.map((s) => Float64Array.from(s.f, (v, i) => (v - (mean[i] as number)) / (scale[i] as number)));
  // class-balanced: each class weighs half, however many frames it has
  const cw = set.map((s) => (s.real ? (0.5 * n) / pos : (0.5 * n) / (n - pos)));
  const w = new Float64Array(d);
  const g = new Float64Array(d);
  let b = 0;
  const lr = 0.5;
  for (let it = 0; it < o.iterations; it++) {
    g.fill(0);
    let gb = 0;
    for (let k = 0; k < n; k++) {
      const x = z[k] as Float64Array;
      let s = b;
      for (let i = 0; i < d; i++) s += (w[i] as number) * (x[i] as number);
      const e = ((1 / (1 + Math.exp(-s)) - ((set[k] as TextureSample).real ? 1 : 0)) * (cw[k] as number)) / n;
      for (let i = 0; i < d; i++) g[i] = (g[i] as number) + e * (x[i] as number);
      gb += e;
    }
    for (let i = 0; i < d; i++) w[i] = (w[i] as number) - lr * ((g[i] as number) + o.lambda * (w[i] as number));
    b -= lr * gb;
  }
  return { version: TEXTURE_VERSION, features: d, mean: Array.from(mean), scale: Array.from(scale), weights: Array.from(w), bias: b, threshold: 0, trainedOn };
}

/** Mean log-odds per presentation. */
export function scorePresentations(m: TextureModel, set: readonly TextureSample[]): Map<string, { real: boolean; score: number }> {
  const acc = new Map<string, { real: boolean; sum: number; n: number }>();
  for (const s of set) {
    const a = acc.get(s.presentation) ?? { real: s.real, sum: 0, n: 0 };
    a.sum += textureLogit(m, s.f);
    a.n++;
    acc.set(s.presentation, a);
  }
  return new Map([...acc].map(([k, a]) => [k, { real: a.real, score: a.sum / a.n }]));
}
