/**
 * The passive liveness check at the door (and in `faces present`, which must decide the same).
 * The landmarks of the face's consecutive frames are kept; when the k-of-n window names a
 * villager, the match stands only if the landmarks over those frames did not move as one plane
 * (models/liveness/passive.ts). Flat: `spoof`. Not judged yet: the door waits for more frames of
 * the face, up to `max_frames`; still not judged then: `uncertain` (the door asks for the card
 * or QR code). Never `matched` without the check saying live.
 */
import { judgeFlatness, PairCache, warmFlatness, type PassiveJudgement, type PassiveParams } from '../../models/liveness/passive.ts';
import type { MatchConfig, PassiveConfig } from './config.ts';
import { stepWindow, type FaceOutcome, type FrameVerdict, type WindowState } from './decision.ts';

export const passiveParams = (c: PassiveConfig): PassiveParams => ({
  minFrames: c.min_frames, minMotion: c.min_motion, minPairs: c.min_pairs, liveRatio: c.live_ratio, flatRatio: c.flat_ratio, noiseRatio: c.noise_ratio,
});

const describe = (j: PassiveJudgement): string =>
  `passive ${j.verdict}: ratio ${j.ratio === null ? '-' : j.ratio.toFixed(3)} over ${j.pairs} pairs of ${j.frames} frames`;

export class PassiveGate {
  private track: Float32Array[] = [];
  private gone = 0;
  // pairs of frames already measured (the landmark arrays are the keys, so dropped frames go with them)
  private readonly cache = new PairCache();
  /** The last judgement made (for the decision's detail and the evaluation). */
  last: PassiveJudgement | null = null;

  constructor(private readonly cfg: PassiveConfig) {
    if (cfg.enabled) warmFlatness(passiveParams(cfg));
  }

  get enabled(): boolean { return this.cfg.enabled; }

  reset(): void {
    this.track = [];
    this.gone = 0;
  }

  /** Keeps the face's landmarks; a run of frames without a face means the person left. */
  observe(v: FrameVerdict, landmarks: Float32Array | undefined, faceGoneFrames: number): void {
    if (v.kind === 'no_face') {
      if (++this.gone >= faceGoneFrames) this.reset();
      return;
    }
    this.gone = 0;
    if (!landmarks) return;
    this.track.push(landmarks);
    if (this.track.length > this.cfg.max_frames) this.track.shift();
  }

  judge(): PassiveJudgement {
    this.last = judgeFlatness(this.track, passiveParams(this.cfg), this.cache);
    return this.last;
  }

  /**
   * One frame through the k-of-n window and then this check. A match the check cannot judge
   * yet keeps the window open (no decision) until `max_frames` frames of the face were seen.
   */
  step(s: WindowState, v: FrameVerdict, landmarks: Float32Array | undefined, now: number, match: MatchConfig): { state: WindowState; outcome: FaceOutcome | null } {
    this.observe(v, landmarks, match.face_gone_frames);
    const r = stepWindow(s, v, now, match);
    const o = r.outcome;
    if (!this.cfg.enabled || o?.kind !== 'matched') return r;
    const j = this.judge();
    // live: the same face's frames stay evidence for later decisions (the cooldown holds repeats)
    if (j.verdict === 'live') return r;
    if (j.verdict === 'uncertain' && this.track.length < this.cfg.max_frames) {
      // not enough evidence yet: keep looking at the same person
      return { state: { window: [...s.window, v].slice(-match.n), noFaceRun: 0, last: s.last }, outcome: null };
    }
    this.reset();
    const outcome: FaceOutcome = j.verdict === 'flat'
      ? { kind: 'spoof', frames: o.frames, detail: describe(j) }
      : { kind: 'uncertain', nearest: o.villagerId, distance: o.distance, frames: o.frames, detail: describe(j) };
    return { state: { ...r.state, last: { key: outcome.kind, at: now } }, outcome };
  }
}
