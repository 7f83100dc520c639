/**
 * A non-linear texture classifier for the cross-validation only (`cv-texture.ts --candidates
 * rf-pres`): a random forest (ml-random-forest, mljs) on each presentation's mean features. The
 * door runs linear models only (models/liveness/texture.ts), so this measures whether a small
 * non-linear model would be worth carrying there; it is never shipped.
 */
import { RandomForestClassifier } from 'ml-random-forest';
import { presentationMeans } from '../../models/liveness/texture-candidates.ts';
import { TEXTURE_FEATURES } from '../../models/liveness/texture.ts';
import type { TextureCandidate } from '../../models/liveness/texture-cv.ts';

function meanOf(frames: readonly ArrayLike<number>[]): number[] {
  const m = new Array<number>(TEXTURE_FEATURES).fill(0);
  for (const f of frames) for (let i = 0; i < TEXTURE_FEATURES; i++) m[i] = (m[i] as number) + (f[i] as number) / frames.length;
  return m;
}

export const FOREST_CANDIDATES: Record<string, TextureCandidate> = {
  'rf-pres': {
    name: 'rf-pres',
    fitKey: 'forest 100 trees, 10 % of the features each, per presentation',
    fit(train) {
      const set = presentationMeans(train);
      const rf = new RandomForestClassifier({ nEstimators: 100, maxFeatures: 0.1, seed: 7, noOOB: true, useSampleBagging: true, replacement: false });
      rf.train(set.map((s) => Array.from(s.f)), set.map((s) => (s.real ? 1 : 0)));
      return rf;
    },
    // the share of trees voting "real face"
    score: (model, frames) => (model as RandomForestClassifier).predictProbability([meanOf(frames)], 1)[0] as number,
  },
};
