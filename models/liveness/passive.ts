/**
 * The passive flatness check over consecutive frames of one face (no request to the person).
 * For every pair of frames whose landmarks changed shape enough to reveal depth (`minMotion`,
 * in inter-ocular distances), the ratio of the homography residual to that motion is taken:
 * a plane (photo, screen) keeps it low, since one homography explains the motion; a head keeps
 * it high. Landmark jitter alone (a face or a photo held still) gives a ratio near 1 (random
 * displacements are no more homographic than anything else): at or above `noiseRatio` the
 * motion is only jitter, and says nothing. Too little motion, or too few frames with a face, and the check cannot judge: the
 * answer is `uncertain`, never `live`.
 */
import { pairGeometry, type PairGeometry } from './planar.ts';

export interface PassiveParams {
  /** Frames with landmarks needed before judging. */
  minFrames: number;
  /** Smallest shape motion (per inter-ocular distance) for a pair of frames to count. */
  minMotion: number;
  /** Pairs with enough motion needed before judging. */
  minPairs: number;
  /** Median residual/motion at or above which the face is judged live. */
  liveRatio: number;
  /** Median residual/motion below which it is judged flat (between the two: uncertain). */
  flatRatio: number;
  /** Median residual/motion at or above which the motion is only the landmarks' jitter: uncertain. */
  noiseRatio: number;
  /**
   * The texture cue (models/liveness/texture.ts), when a texture model is configured: the mean
   * log-odds of a real face over the frames must reach `threshold`. It then decides alone for
   * still faces (the geometry cannot judge them); the geometry keeps its veto (flat: a spoof).
   */
  texture?: { threshold: number };
  /**
   * An operator-supplied liveness net (models/liveness/onnx-cue.ts): the mean probability of a
   * live face over the frames must reach `minLive`. Like the texture, it decides for still faces,
   * and with the texture both must agree; the geometry keeps its veto.
   */
  net?: { minLive: number };
}

export type PassiveVerdict = 'live' | 'flat' | 'uncertain';

export interface PassiveJudgement {
  verdict: PassiveVerdict;
  /** Median residual/motion over the pairs that moved enough; null when none did. */
  ratio: number | null;
  /** Pairs of frames that moved enough to count. */
  pairs: number;
  frames: number;
  /** Mean texture log-odds of a real face over the frames (null without a texture model). */
  texture: number | null;
  /** Mean probability of a live face from the liveness net over the frames (absent without one). */
  net?: number | null;
}

/**
 * Pair measures already computed, keyed by the landmark arrays themselves: at the door each new
 * frame adds only its pairs with the frames kept (11 fits instead of 66 over 12 frames).
 */
export class PairCache {
  private readonly byFirst = new WeakMap<object, WeakMap<object, PairGeometry | null>>();

  get(a: ArrayLike<number>, b: ArrayLike<number>): PairGeometry | null {
    let inner = this.byFirst.get(a);
    if (!inner) this.byFirst.set(a, (inner = new WeakMap()));
    if (inner.has(b)) return inner.get(b) ?? null;
    const g = pairGeometry(a, b);
    inner.set(b, g);
    return g;
  }
}

const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/**
 * Judges consecutive frames of one face: landmark sets (68 points each, frame pixels) and, with a
 * texture model, each frame's texture log-odds (`logits`, same order), and with a liveness net
 * each frame's probability of a live face (`live`, same order). With either cue: flat geometry →
 * flat; else every configured cue at or above its threshold over at least `minFrames` frames →
 * live; else uncertain.
 */
export function judgePassive(tracks: readonly ArrayLike<number>[], p: PassiveParams, cache?: PairCache, logits?: readonly number[], live?: readonly number[]): PassiveJudgement {
  const geo = judgeFlatness(tracks, p, cache);
  const useTexture = p.texture !== undefined && logits !== undefined;
  const useNet = p.net !== undefined && live !== undefined;
  if (!useTexture && !useNet) return geo;
  const texture = useTexture ? mean(logits) : null;
  const net = useNet ? mean(live) : null;
  const textureOk = !useTexture || (texture !== null && logits.length >= p.minFrames && texture >= (p.texture as { threshold: number }).threshold);
  const netOk = !useNet || (net !== null && live.length >= p.minFrames && net >= (p.net as { minLive: number }).minLive);
  const verdict: PassiveVerdict = geo.verdict === 'flat' ? 'flat' : textureOk && netOk ? 'live' : 'uncertain';
  return { ...geo, verdict, texture, ...(useNet ? { net } : {}) };
}

/** Judges landmark sets of consecutive frames of one face (68 points each, frame pixels) by their geometry alone. */
export function judgeFlatness(tracks: readonly ArrayLike<number>[], p: PassiveParams, cache?: PairCache): PassiveJudgement {
  const ratios: number[] = [];
  for (let i = 0; i < tracks.length; i++) {
    for (let j = i + 1; j < tracks.length; j++) {
      const a = tracks[i] as ArrayLike<number>;
      const b = tracks[j] as ArrayLike<number>;
      const g = cache ? cache.get(a, b) : pairGeometry(a, b);
      if (g && g.motion > 0 && g.motion >= p.minMotion) ratios.push(g.residual / g.motion);
    }
  }
  const frames = tracks.length;
  if (ratios.length === 0) return { verdict: 'uncertain', ratio: null, pairs: 0, frames, texture: null };
  ratios.sort((a, b) => a - b);
  const ratio = ratios[(ratios.length - 1) >> 1] as number;
  if (frames < p.minFrames || ratios.length < p.minPairs) return { verdict: 'uncertain', ratio, pairs: ratios.length, frames, texture: null };
  const verdict: PassiveVerdict = ratio >= p.noiseRatio ? 'uncertain' : ratio >= p.liveRatio ? 'live' : ratio < p.flatRatio ? 'flat' : 'uncertain';
  return { verdict, ratio, pairs: ratios.length, frames, texture: null };
}

/**
 * Runs the check once on made-up landmarks so that its first real use (the first villager of
 * the day) does not pay the JIT compilation of the fits (tens of ms on a slow store PC).
 */
export function warmFlatness(p: PassiveParams): void {
  const tracks: Float32Array[] = [];
  for (let f = 0; f < 8; f++) {
    const pts = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      const a = (2 * Math.PI * i) / 68;
      pts[2 * i] = 320 + 60 * Math.cos(a) + f * Math.sin(i * 1.7);
      pts[2 * i + 1] = 240 + 70 * Math.sin(a) + f * Math.cos(i * 2.3);
    }
    tracks.push(pts);
  }
  for (let r = 0; r < 20; r++) judgeFlatness(tracks, p, r % 2 ? new PairCache() : undefined);
}
