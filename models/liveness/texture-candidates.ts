/**
 * The texture classifiers cross-validated by `scripts/liveness/cv-texture.ts`: the shipped one
 * (linear, frames scored alone, mean log-odds), and the variants a careful engineer tries when
 * it does not carry across people: stronger regularisation, a robust aggregate over the frames
 * (the median: one odd frame, a blur or a glare, cannot carry a presentation), features averaged
 * over the presentation before the model (multi-frame aggregation), and the LBP histograms alone
 * (the colour and brightness numbers follow the session's lighting more than the surface).
 * Every one of them is a linear model the door can run (a `TextureModel`).
 */
import { LBP_FEATURES, TEXTURE_FEATURES, textureLogit, type TextureModel } from './texture.ts';
import { trainTexture, type TextureSample, type TrainOptions } from './texture-train.ts';
import type { TextureCandidate } from './texture-cv.ts';

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The mean feature vector of each presentation's frames (one sample per presentation). */
export function presentationMeans(set: readonly TextureSample[]): TextureSample[] {
  const acc = new Map<string, { s: TextureSample; sum: Float64Array; n: number }>();
  for (const s of set) {
    const a = acc.get(s.presentation) ?? { s, sum: new Float64Array(s.f.length), n: 0 };
    for (let i = 0; i < s.f.length; i++) a.sum[i] = (a.sum[i] as number) + (s.f[i] as number);
    a.n++;
    acc.set(s.presentation, a);
  }
  return [...acc.values()].map(({ s, sum, n }) => ({ ...s, f: Float32Array.from(sum, (v) => v / n) }));
}

function meanFeatures(frames: readonly ArrayLike<number>[]): Float64Array {
  const m = new Float64Array(frames[0]?.length ?? TEXTURE_FEATURES);
  for (const f of frames) for (let i = 0; i < m.length; i++) m[i] = (m[i] as number) + (f[i] as number) / frames.length;
  return m;
}

/** The model with the colour, detail and band numbers switched off (weight 0): the LBP histograms alone. */
function lbpOnly(set: readonly TextureSample[]): TextureSample[] {
  return set.map((s) => {
    const f = Float32Array.from(s.f as ArrayLike<number>);
    f.fill(0, LBP_FEATURES);
    return { ...s, f };
  });
}

const linear = (name: string, o: TrainOptions, how: { aggregate?: 'mean' | 'median'; perPresentation?: boolean; lbp?: boolean }): TextureCandidate => ({
  name,
  // the aggregate is only how a presentation is scored: one fit serves the mean and the median
  fitKey: `linear λ${o.lambda} it${o.iterations}${how.perPresentation ? ' per-presentation' : ''}${how.lbp ? ' lbp' : ''}`,
  fit(train) {
    let set = how.lbp ? lbpOnly(train) : train;
    if (how.perPresentation) set = presentationMeans(set);
    return trainTexture(set, o);
  },
  score(model, frames) {
    const m = model as TextureModel;
    if (how.perPresentation) return textureLogit(m, meanFeatures(frames));
    // features of the LBP-only model's colour numbers carry weight 0, so frames need no masking
    return (how.aggregate === 'median' ? median : mean)(frames.map((f) => textureLogit(m, f)));
  },
});

export const TEXTURE_CANDIDATES = {
  lr: linear('lr', { lambda: 0.01, iterations: 300 }, {}),
  'lr-median': linear('lr-median', { lambda: 0.01, iterations: 300 }, { aggregate: 'median' }),
  'lr-l1': linear('lr-l1', { lambda: 1, iterations: 300 }, {}),
  'lr-pres': linear('lr-pres', { lambda: 0.1, iterations: 300 }, { perPresentation: true }),
  'lr-lbp': linear('lr-lbp', { lambda: 0.01, iterations: 300 }, { lbp: true }),
} satisfies Record<string, TextureCandidate>;

/**
 * The candidates whose presentation score is the door's: the mean of the frames' log-odds of one
 * linear model (for `lr-pres` too: the log-odds of the mean features is the mean log-odds). The
 * median is measured by the cross-validation only.
 */
export const DOOR_TEXTURE_CANDIDATES = ['lr-pres', 'lr', 'lr-l1', 'lr-lbp'] as const satisfies readonly (keyof typeof TEXTURE_CANDIDATES)[];
