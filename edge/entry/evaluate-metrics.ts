/**
 * The numbers behind `faces evaluate`, as pure functions over scored probes: operating points
 * (TAR at a FAR), the threshold/margin search, k-of-n presentations through the door's own
 * window, and the distance histograms. Kept apart from the photo handling so they can be
 * checked on made-up probes.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { MatchConfig } from './config.ts';
import { pooledQuery, type GallerySearch } from '../../models/gallery.ts';
import { initialWindow, matchVerdict, poolSum, stepWindow, withPool, type FrameVerdict } from './decision.ts';

/** One identification attempt: a photo of an enrolled person (genuine) or of a stranger. */
export interface Probe {
  person: string;
  file: string;
  genuine: boolean;
  outcome: 'no_face' | 'low_quality' | 'scored';
  /** Nearest villager and distance (null when nothing was scored). */
  best: { villagerId: string; distance: number } | null;
  /** Second-best *different* villager. */
  second: { distance: number } | null;
  /** Distance to the nearest template of the probe's own person (genuine probes only). */
  ownDistance: number | null;
}

const Num = Type.Number();
export const OperatingPointSchema = Type.Object({
  threshold: Num,
  margin: Num,
  /** Genuine probes accepted as their own person, over every genuine probe (no-face ones too). */
  tar: Num,
  /** FAR: strangers accepted as someone (`strangersAccepted`), over stranger probes that had a face. */
  far: Num,
  /** Every wrong admission: `strangersAccepted` + `misidentified` (the safety rule wants it zero). */
  falseAccepts: Type.Integer(),
  /** Stranger probes accepted as some villager (FAR's numerator). */
  strangersAccepted: Type.Integer(),
  /** Genuine probes of enrolled people accepted as another villager. */
  misidentified: Type.Integer(),
  /** `misidentified` over genuine probes that had a face. */
  misidentifiedRate: Num,
}, { additionalProperties: false });
export type OperatingPoint = Static<typeof OperatingPointSchema>;

const marginOf = (p: Probe): number => (p.best ? (p.second ? p.second.distance - p.best.distance : 2 - p.best.distance) : -1);

export function pointAt(probes: readonly Probe[], threshold: number, margin: number): OperatingPoint {
  let genuine = 0, genuineScored = 0, tarHits = 0, strangers = 0, strangersAccepted = 0, misidentified = 0;
  for (const p of probes) {
    if (p.genuine) genuine++;
    if (p.outcome === 'scored') {
      if (p.genuine) genuineScored++;
      else strangers++;
    }
    // only acceptance counts here: the uncertain band (ask for a card) never lets anyone in
    const v = matchVerdict(p.best, p.second, { threshold, margin, uncertain_threshold: threshold });
    if (v.kind !== 'candidate') continue;
    if (!p.genuine) strangersAccepted++;
    else if (v.villagerId === p.person) tarHits++;
    else misidentified++;
  }
  return {
    threshold, margin, tar: genuine ? tarHits / genuine : 0, far: strangers ? strangersAccepted / strangers : 0,
    falseAccepts: strangersAccepted + misidentified, strangersAccepted, misidentified, misidentifiedRate: genuineScored ? misidentified / genuineScored : 0,
  };
}

/** Wrong admissions allowed: a total, or per population (strangers accepted, enrolled people misidentified). */
export type FalseAcceptBudget = number | { strangers: number; misidentified: number };

/** The budget of a rate: `rate` of the stranger probes with a face, and `rate` of the genuine ones (misidentified). */
export function budgetAt(probes: readonly Probe[], rate: number): FalseAcceptBudget {
  const scored = probes.filter((p) => p.outcome === 'scored');
  const strangers = scored.filter((p) => !p.genuine).length;
  return { strangers: Math.floor(rate * strangers + 1e-9), misidentified: Math.floor(rate * (scored.length - strangers) + 1e-9) };
}

/** The distance of the (budget + 1)-th false candidate: thresholds from there on exceed the budget. */
const limitOf = (distances: readonly number[], budget: number): number => {
  const sorted = [...distances].sort((a, b) => a - b);
  return sorted.length > budget ? (sorted[budget] as number) : Infinity;
};

/**
 * The largest threshold whose false accepts stay within the budget at this margin (a number:
 * all wrong admissions together; per population: FAR's strangers and the misidentified enrolled
 * people each within theirs): every candidate threshold is a probe's best distance, so the
 * search is exact.
 */
export function bestThreshold(probes: readonly Probe[], margin: number, maxFalseAccepts: FalseAcceptBudget): OperatingPoint {
  const scored = probes.filter((p) => p.best && marginOf(p) >= margin);
  // a false candidate at distance d makes every threshold ≥ d accept it
  const distance = (p: Probe): number => (p.best as { distance: number }).distance;
  const strangerD = scored.filter((p) => !p.genuine).map(distance);
  const misidentifiedD = scored.filter((p) => p.genuine && p.best?.villagerId !== p.person).map(distance);
  const limit = typeof maxFalseAccepts === 'number'
    ? limitOf([...strangerD, ...misidentifiedD], maxFalseAccepts)
    : Math.min(limitOf(strangerD, maxFalseAccepts.strangers), limitOf(misidentifiedD, maxFalseAccepts.misidentified));
  // just below the first false accept that would exceed the budget
  const below = scored.map((p) => (p.best as { distance: number }).distance).filter((d) => d < limit);
  const threshold = below.length ? Math.max(...below) : 0;
  return pointAt(probes, threshold, margin);
}

export const MARGINS: readonly number[] = [0, 0.02, 0.04, 0.06, 0.08, 0.1];

/** Threshold and margin with the highest TAR whose FAR, and rate of misidentified enrolled people, are ≤ `targetFar` (ties: the larger margin). */
export function searchTarget(probes: readonly Probe[], targetFar: number): OperatingPoint {
  const budget = budgetAt(probes, targetFar);
  let best: OperatingPoint | null = null;
  for (const m of MARGINS) {
    const p = bestThreshold(probes, m, budget);
    if (!best || p.tar > best.tar || (p.tar === best.tar && p.margin > best.margin)) best = p;
  }
  return best as OperatingPoint;
}

export const PresentationsSchema = Type.Object({
  /** Frames per presentation (the door's match.n) and the votes needed (match.k). */
  n: Type.Integer(),
  k: Type.Integer(),
  genuine: Type.Integer(),
  /** Presentations of enrolled people admitted as themselves. */
  accepted: Type.Integer(),
  tar: Num,
  impostor: Type.Integer(),
  /** Presentations that the door would admit as a wrong villager (strangers or enrolled people). */
  falseAccepts: Type.Integer(),
}, { additionalProperties: false });
export type Presentations = Static<typeof PresentationsSchema>;

export function verdictOf(p: Probe, match: Pick<MatchConfig, 'threshold' | 'margin' | 'uncertain_threshold'>): FrameVerdict {
  if (p.outcome === 'no_face') return { kind: 'no_face' };
  if (p.outcome === 'low_quality') return { kind: 'low_quality', why: 'quality gate' };
  return matchVerdict(p.best, p.second, match);
}

/** Each person's probes, in file order, cut into runs of n frames (a shorter rest is left out): one run is one person at the door. */
export function presentationRuns<P extends Probe>(probes: readonly P[], n: number): P[][] {
  const byPerson = new Map<string, P[]>();
  for (const p of probes) byPerson.set(p.person, [...(byPerson.get(p.person) ?? []), p]);
  const runs: P[][] = [];
  for (const list of byPerson.values()) for (let i = 0; i + n <= list.length; i += n) runs.push(list.slice(i, i + n));
  return runs;
}

/**
 * Each presentation run (presentationRuns) decided by the door's own k-of-n window (stepWindow)
 * from a fresh state. With match.pool, `search` (the gallery's) looks up the window's pool with
 * each probe's descriptor added, as the door's worker does.
 */
export function presentations(probes: readonly (Probe & { descriptor?: Float32Array | null })[], match: MatchConfig, search?: (query: Float32Array) => GallerySearch): Presentations {
  const out: Presentations = { n: match.n, k: match.k, genuine: 0, accepted: 0, tar: 0, impostor: 0, falseAccepts: 0 };
  for (const run of presentationRuns(probes, match.n)) {
    const genuine = (run[0] as Probe).genuine;
    let state = initialWindow();
    let decided: string | null = null;
    for (const [j, p] of run.entries()) {
      const d = p.descriptor ?? undefined;
      const sum = poolSum(state, match);
      const v = withPool(verdictOf(p, match), d, search && d && sum ? search(pooledQuery(sum, d)) : undefined, match);
      const r = stepWindow(state, v, j, match);
      state = r.state;
      if (r.outcome) {
        decided = r.outcome.kind === 'matched' ? r.outcome.villagerId : '';
        break;
      }
    }
    if (genuine) out.genuine++;
    else out.impostor++;
    if (!decided) continue;
    if (genuine && decided === (run[0] as Probe).person) out.accepted++;
    else out.falseAccepts++;
  }
  out.tar = out.genuine ? out.accepted / out.genuine : 0;
  return out;
}

export const HistogramSchema = Type.Object({
  binWidth: Num,
  /** Bin i counts distances in [i·binWidth, (i+1)·binWidth); the last bin takes everything beyond. */
  genuine: Type.Array(Type.Integer()),
  impostor: Type.Array(Type.Integer()),
}, { additionalProperties: false });
export type Histogram = Static<typeof HistogramSchema>;

export function histogram(probes: readonly Probe[], binWidth = 0.04, bins = 30): Histogram {
  const h: Histogram = { binWidth, genuine: new Array<number>(bins).fill(0), impostor: new Array<number>(bins).fill(0) };
  const bin = (d: number) => Math.min(bins - 1, Math.floor(d / binWidth));
  for (const p of probes) {
    if (p.genuine && p.ownDistance !== null) (h.genuine[bin(p.ownDistance)] as number)++;
    if (!p.genuine && p.best) (h.impostor[bin(p.best.distance)] as number)++;
  }
  return h;
}

/** The two distributions side by side as terminal bars (scaled per column to its own peak). */
export function drawHistogram(h: Histogram, width = 30): string {
  const gMax = Math.max(1, ...h.genuine);
  const iMax = Math.max(1, ...h.impostor);
  const bar = (n: number, max: number) => '#'.repeat(Math.round((n / max) * width)).padEnd(width);
  const last = h.genuine.length - 1;
  const lines = [`${'distance'.padEnd(12)}${'genuine 本人'.padEnd(width + 8)}impostor 陌生人`];
  for (let i = 0; i <= last; i++) {
    if (!h.genuine[i] && !h.impostor[i]) continue;
    const from = (i * h.binWidth).toFixed(2);
    const label = i === last ? `≥${from}` : `${from}-${((i + 1) * h.binWidth).toFixed(2)}`;
    lines.push(`${label.padEnd(12)}${bar(h.genuine[i] ?? 0, gMax)}${String(h.genuine[i]).padStart(6)}  ${bar(h.impostor[i] ?? 0, iMax)}${String(h.impostor[i]).padStart(6)}`);
  }
  return lines.join('\n');
}

/** One evaluation run (a set and seed) for `safePoint`; `door`: a door-like run whose presentations rank the points. */
export interface SafetyRun { probes: readonly Probe[]; door: boolean }

export interface SafePoint { threshold: number; margin: number; doorAccepted: number; doorGenuine: number; meanFrameTar: number }

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * docs/face-thresholds.md's rule for choosing threshold and margin: zero false accepts on every run even
 * at threshold + `safety` and margin − `safety`; among those points, the most accepted
 * presentations on the door-like runs, then the best mean TAR per frame over all runs, then the
 * smallest threshold. Thresholds in steps of 0.005 from 0.1 up. null: no margin in `margins`
 * admits a threshold ≥ 0.1.
 */
export function safePoint(runs: readonly SafetyRun[], match: MatchConfig, margins: readonly number[], safety = 0.02): SafePoint | null {
  let best: SafePoint | null = null;
  const isFalse = (p: Probe): boolean => p.best !== null && !(p.genuine && p.best.villagerId === p.person);
  const farthest = Math.max(...runs.flatMap((r) => r.probes.filter((p) => p.best).map((p) => (p.best as { distance: number }).distance)));
  for (const m of margins) {
    // largest threshold whose + safety stays below every false candidate passing margin − safety
    const limit = Math.min(...runs.flatMap((r) => r.probes.filter((p) => isFalse(p) && marginOf(p) >= m - safety).map((p) => (p.best as { distance: number }).distance)));
    // when no false candidate passes, thresholds beyond the farthest probe change nothing
    const tMax = Math.floor(Math.min(limit - safety - 1e-9, farthest + 0.005) * 200) / 200;
    for (let t = tMax; t >= 0.1; t = r3(t - 0.005)) {
      let doorAccepted = 0, doorGenuine = 0, frames = 0;
      for (const r of runs) {
        frames += pointAt(r.probes, t, m).tar;
        if (r.door) {
          const pr = presentations(r.probes, { ...match, threshold: t, margin: m, uncertain_threshold: t });
          doorAccepted += pr.accepted;
          doorGenuine += pr.genuine;
        }
      }
      const meanFrameTar = runs.length ? frames / runs.length : 0;
      const better = !best || doorAccepted > best.doorAccepted
        || (doorAccepted === best.doorAccepted && (meanFrameTar > best.meanFrameTar + 1e-9 || (Math.abs(meanFrameTar - best.meanFrameTar) < 1e-9 && t < best.threshold)));
      if (better) best = { threshold: t, margin: m, doorAccepted, doorGenuine, meanFrameTar };
    }
  }
  return best;
}

/** Margins from `from` to `to` in steps of 0.01. */
export const marginGrid = (from: number, to: number): number[] => Array.from({ length: Math.round((to - from) / 0.01) + 1 }, (_, i) => r3(from + 0.01 * i));
