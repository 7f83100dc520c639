/**
 * Cross-validation of the texture model by people left out (k folds), for
 * `scripts/liveness/cv-texture.ts`; never at the door. Every choice a store would make from its
 * own recordings — which classifier (`TextureCandidate`), and the threshold — is made on the
 * training people only (nested: inner folds over the training people), and the people of the
 * outer fold are judged once, as the door judges: the geometry's flat veto, too few frames with a
 * face → uncertain, else the presentation's texture score against the chosen threshold.
 */
import { TEXTURE_VERSION, type TextureModel } from './texture.ts';
import type { TextureSample } from './texture-train.ts';

/** A way to turn frames into a presentation score (higher: more like a real face). */
export interface TextureCandidate {
  name: string;
  /**
   * Candidates with the same `fitKey` fit the same model on the same frames and differ only in
   * how they score a presentation with it: the fit is made once for all of them.
   */
  fitKey: string;
  fit(train: readonly TextureSample[]): unknown;
  score(model: unknown, frames: readonly ArrayLike<number>[]): number;
}

/** One presentation as the door meets it: its frames with a face, the geometry's own verdict. */
export interface CvPresentation {
  key: string;
  real: boolean;
  person: string;
  /** The attack set it comes from (e.g. `print`, `screen`), 'real' for bona fide ones. */
  set: string;
  frames: readonly TextureSample[];
  /** The geometry alone called it flat: a spoof, whatever the texture. */
  geometryFlat: boolean;
}

export interface CvOptions {
  /** Outer folds (people in each: round-robin over the sorted people). */
  folds: number;
  /** Inner folds over the training people, for choosing the candidate and the threshold. */
  innerFolds: number;
  /** Frames with a face needed to judge (the door's `min_frames`). */
  minFrames: number;
  /** Added to the threshold (just above the highest out-of-fold attack score). */
  margin: number;
  /**
   * The model that judges the held-out people: `bag`, the mean score of the inner folds' models
   * (the very models whose out-of-fold scores set the threshold, so the threshold fits their
   * scale), or `refit`, one model fitted on all the training people (its scores can sit on
   * another scale than the inner models' the threshold came from).
   */
  final: 'bag' | 'refit';
}

export interface Counts { live: number; flat: number; uncertain: number; n: number }

export interface FoldOutcome {
  threshold: number;
  /** Out-of-fold BPCER on the training people at that threshold (what the choice is made on). */
  innerBpcer: number;
  /** Per set ('real', and each attack set): verdicts of the held-out presentations. */
  sets: Record<string, Counts>;
  apcer: number;
  bpcer: number;
}

export interface FoldResult extends FoldOutcome {
  fold: number;
  people: string[];
  /** The candidate the inner folds chose (least inner BPCER; the first listed on a tie). */
  chosen: string;
  /**
   * Every candidate's outcome on this fold, by name with `final`, and by `name (other)` with the
   * other final model (for the record: choosing among them by these would be tuning on the test people).
   */
  each: Record<string, FoldOutcome>;
}

/** Splits the people into `k` folds, round-robin over their sorted ids (deterministic). */
export function peopleFolds(people: readonly string[], k: number): string[][] {
  const sorted = [...new Set(people)].sort();
  if (sorted.length < k) throw new RangeError(`${k} folds need at least ${k} people (found ${sorted.length})`);
  const folds: string[][] = Array.from({ length: k }, () => []);
  sorted.forEach((p, i) => (folds[i % k] as string[]).push(p));
  return folds;
}

const judgeable = (p: CvPresentation, o: CvOptions): boolean => !p.geometryFlat && p.frames.length >= o.minFrames;

/** Fits by (fitKey, training people), shared between candidates and between the inner and outer loops. */
class Fits {
  private readonly models = new Map<string, unknown>();
  constructor(private readonly all: readonly CvPresentation[]) {}
  model(c: TextureCandidate, people: ReadonlySet<string>): unknown {
    const key = `${c.fitKey}|${[...people].sort().join(',')}`;
    if (!this.models.has(key)) this.models.set(key, c.fit(this.all.filter((p) => people.has(p.person)).flatMap((p) => p.frames)));
    return this.models.get(key);
  }
}

/**
 * Out-of-fold scores of a candidate over `ps` (grouped by person into inner folds), the
 * threshold just above the highest such score of an attack the door could judge live (APCER 0
 * out of fold), and the BPCER that leaves.
 */
function innerChoice(c: TextureCandidate, ps: readonly CvPresentation[], o: CvOptions, fits: Fits): { threshold: number; innerBpcer: number; models: unknown[] } {
  const people = [...new Set(ps.map((p) => p.person))];
  const folds = peopleFolds(people, Math.min(o.innerFolds, people.length));
  let top = -Infinity;
  const realScores: number[] = [];
  const models: unknown[] = [];
  for (const held of folds) {
    const model = fits.model(c, new Set(people.filter((p) => !held.includes(p))));
    models.push(model);
    for (const p of ps) {
      if (!held.includes(p.person) || !judgeable(p, o)) continue;
      const score = c.score(model, p.frames.map((s) => s.f));
      if (p.real) realScores.push(score);
      else top = Math.max(top, score);
    }
  }
  const threshold = top + 1e-6 + o.margin;
  const reals = ps.filter((p) => p.real).length;
  return { threshold, innerBpcer: reals ? 1 - realScores.filter((s) => s >= threshold).length / reals : 0, models };
}

function count(ps: readonly CvPresentation[], verdict: (p: CvPresentation) => 'live' | 'flat' | 'uncertain'): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const p of ps) {
    const c = (out[p.set] ??= { live: 0, flat: 0, uncertain: 0, n: 0 });
    c[verdict(p)]++;
    c.n++;
  }
  return out;
}

/**
 * Nested cross-validation: for each outer fold, every candidate is scored by inner folds over
 * the training people; the one of least inner BPCER is the fold's choice and, with its inner
 * threshold, judges the held-out people (`final`: its inner models' mean score, or a refit on
 * all the training people). Each candidate's own outcome on the fold is kept beside it.
 */
export function crossValidate(ps: readonly CvPresentation[], candidates: readonly TextureCandidate[], o: CvOptions, onFold?: (r: FoldResult) => void): FoldResult[] {
  if (candidates.length === 0) throw new RangeError('no candidate to cross-validate');
  const fits = new Fits(ps);
  const folds = peopleFolds(ps.map((p) => p.person), o.folds);
  return folds.map((people, fold) => {
    const train = ps.filter((p) => !people.includes(p.person));
    const trainPeople = new Set(train.map((p) => p.person));
    const test = ps.filter((p) => people.includes(p.person));
    const each: Record<string, FoldOutcome> = {};
    let chosen: string | null = null;
    const finals: Record<string, FoldOutcome> = {};
    for (const c of candidates) {
      const { models, ...inner } = innerChoice(c, train, o, fits);
      const refit = fits.model(c, trainPeople);
      const scorers = {
        refit: (frames: ArrayLike<number>[]) => c.score(refit, frames),
        bag: (frames: ArrayLike<number>[]) => models.reduce<number>((a, m) => a + c.score(m, frames), 0) / models.length,
      };
      for (const final of ['bag', 'refit'] as const) {
        const sets = count(test, (p) => p.geometryFlat ? 'flat' : judgeable(p, o) && scorers[final](p.frames.map((s) => s.f)) >= inner.threshold ? 'live' : 'uncertain');
        const outcome = { ...inner, sets, ...rates(sets) };
        each[final === o.final ? c.name : `${c.name} (${final})`] = outcome;
        if (final === o.final) finals[c.name] = outcome;
      }
      if (chosen === null || inner.innerBpcer < (finals[chosen] as FoldOutcome).innerBpcer) chosen = c.name;
    }
    const best = finals[chosen as string] as FoldOutcome;
    const r: FoldResult = { fold, people, chosen: chosen as string, ...best, each };
    onFold?.(r);
    return r;
  });
}

/** APCER (attacks judged live, over all attack sets) and BPCER (real not judged live) of counts per set. */
export function rates(sets: Record<string, Counts>): { apcer: number; bpcer: number } {
  let al = 0, an = 0;
  for (const [set, c] of Object.entries(sets)) if (set !== 'real') { al += c.live; an += c.n; }
  const r = sets.real;
  return { apcer: an ? al / an : 0, bpcer: r && r.n ? 1 - r.live / r.n : 0 };
}

/** Counts per set added up over folds. */
export function pooled(sets: readonly Record<string, Counts>[]): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const s of sets) for (const [set, c] of Object.entries(s)) {
    const t = (out[set] ??= { live: 0, flat: 0, uncertain: 0, n: 0 });
    t.live += c.live; t.flat += c.flat; t.uncertain += c.uncertain; t.n += c.n;
  }
  return out;
}

/**
 * What the training script ships, made as each outer fold above made its choice, on all the
 * people given: every candidate scored by inner folds, the one of least out-of-fold BPCER, its
 * inner models and the threshold set on their out-of-fold scores.
 */
export function chooseTexture(ps: readonly CvPresentation[], candidates: readonly TextureCandidate[], o: Pick<CvOptions, 'innerFolds' | 'minFrames' | 'margin'>): { candidate: TextureCandidate; threshold: number; innerBpcer: number; models: unknown[]; each: Record<string, { threshold: number; innerBpcer: number }> } {
  if (candidates.length === 0) throw new RangeError('no candidate to choose from');
  const fits = new Fits(ps);
  const opts = { ...o, folds: o.innerFolds, final: 'bag' as const };
  let best: { candidate: TextureCandidate; threshold: number; innerBpcer: number; models: unknown[] } | null = null;
  const each: Record<string, { threshold: number; innerBpcer: number }> = {};
  for (const c of candidates) {
    const r = innerChoice(c, ps, opts, fits);
    each[c.name] = { threshold: r.threshold, innerBpcer: r.innerBpcer };
    if (!best || r.innerBpcer < best.innerBpcer) best = { candidate: c, ...r };
  }
  return { ...(best as NonNullable<typeof best>), each };
}

/**
 * The mean of linear texture models as one linear model (mean 0, scale 1): its log-odds of a
 * frame is the mean of theirs, so the door runs the bag as it runs any texture model.
 */
export function averageLinear(models: readonly TextureModel[], threshold: number, trainedOn: string): TextureModel {
  const first = models[0];
  if (!first) throw new RangeError('no model to average');
  const d = first.features;
  const weights = new Array<number>(d).fill(0);
  let bias = 0;
  for (const m of models) {
    bias += m.bias / models.length;
    for (let i = 0; i < d; i++) {
      const w = (m.weights[i] as number) / (m.scale[i] as number) / models.length;
      weights[i] = (weights[i] as number) + w;
      bias -= w * (m.mean[i] as number);
    }
  }
  return { version: TEXTURE_VERSION, features: d, mean: new Array<number>(d).fill(0), scale: new Array<number>(d).fill(1), weights, bias, threshold, trainedOn };
}
