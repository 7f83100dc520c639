/**
 * The passive liveness check at the door (and in `faces present`, which must decide the same).
 * The landmarks of the face's consecutive frames that name a villager (candidate or uncertain)
 * are kept, each with the villager it names; when the k-of-n window names a villager, the match
 * stands only if the landmarks of the frames naming that villager did not move as one plane
 * (models/liveness/passive.ts). Frames naming nobody (unknown, low quality, spoof) or another
 * villager are no evidence that this villager is alive: a live stranger who raises a photo of a
 * villager without leaving the camera's view must not lend the photo their head's motion. Flat: `spoof`. Not judged yet: the door waits for more frames of
 * the face, up to `max_frames`; still not judged then: `uncertain` (the door asks for the card
 * or QR code). Never `matched` without the check saying live. Evidence never outlives a
 * decision: once the window decides anything (or holds a repeat in the cooldown), the kept
 * frames are dropped, so only frames after the previous decision vouch for the next one.
 */
import { judgePassive, PairCache, warmFlatness, type PassiveJudgement, type PassiveParams } from '../../models/liveness/passive.ts';
import { loadTextureModel, textureLogit, type TextureModel } from '../../models/liveness/texture.ts';
import { isModelError } from '../../models/errors.ts';
import { EdgeError } from '../errors.ts';
import type { MatchConfig, PassiveConfig } from './config.ts';
import { holdAfter, stepWindow, type FaceOutcome, type FrameVerdict, type WindowState } from './decision.ts';

export const passiveParams = (c: PassiveConfig, texture?: TextureModel | null, withNet = false): PassiveParams => ({
  minFrames: c.min_frames, minMotion: c.min_motion, minPairs: c.min_pairs, liveRatio: c.live_ratio, flatRatio: c.flat_ratio, noiseRatio: c.noise_ratio,
  ...(texture ? { texture: { threshold: texture.threshold } } : {}),
  ...(withNet && c.onnx_model ? { net: { minLive: c.onnx_model.min_live } } : {}),
});

/** What the engine measured on a frame's face for the passive check's cues (FaceAnalysis's fields). */
export interface FaceCues {
  texture?: ArrayLike<number> | undefined;
  liveNet?: number | undefined;
}

/** The configured texture model (`texture_model`), or null; a missing or malformed file is a clear bilingual config error. */
export function textureModelOf(c: PassiveConfig): TextureModel | null {
  if (!c.texture_model) return null;
  try {
    return loadTextureModel(c.texture_model);
  } catch (err) {
    if (isModelError(err)) throw new EdgeError('CONFIG_INVALID', `entry.liveness.passive.texture_model: ${err.message}`, { cause: err, zh: `门禁配置有误：纹理活体模型 ${c.texture_model} 缺失、格式不对或版本过旧（请用 scripts/liveness/train-texture.ts 重新训练）` });
    throw err;
  }
}


const describe = (j: PassiveJudgement): string =>
  `passive ${j.verdict}: ratio ${j.ratio === null ? '-' : j.ratio.toFixed(3)} over ${j.pairs} pairs of ${j.frames} frames${j.texture === null ? '' : `, texture ${j.texture.toFixed(2)}`}${j.net === undefined || j.net === null ? '' : `, net ${j.net.toFixed(3)}`}`;

export class PassiveGate {
  private track: Float32Array[] = [];
  // the villager each kept frame names
  private names: string[] = [];
  // texture log-odds of the same frames (with a texture model)
  private logits: number[] = [];
  // the liveness net's probabilities of the same frames (with onnx_model)
  private lives: number[] = [];
  private gone = 0;
  private readonly texture: TextureModel | null;
  // pairs of frames already measured (the landmark arrays are the keys, so dropped frames go with them)
  private readonly cache = new PairCache();
  /** The last judgement made (for the decision's detail and the evaluation). */
  last: PassiveJudgement | null = null;

  constructor(private readonly cfg: PassiveConfig) {
    this.texture = cfg.enabled ? textureModelOf(cfg) : null;
    if (cfg.enabled) warmFlatness(passiveParams(cfg));
  }

  get enabled(): boolean { return this.cfg.enabled; }

  /** Whether the face engine must compute texture features (`AnalyseOptions.texture`) for this check. */
  get wantsTexture(): boolean { return this.texture !== null; }

  /** Whether the face engine must run the liveness net (`AnalyseOptions.livenessNet`) for this check. */
  get wantsNet(): boolean { return this.cfg.enabled && this.cfg.onnx_model !== null; }

  /** The engine's analysis options this check needs (texture features, the liveness net); made once. */
  get analyseOptions(): { texture?: true; livenessNet?: true } {
    return (this.analyseOpts ??= { ...(this.wantsTexture ? { texture: true as const } : {}), ...(this.wantsNet ? { livenessNet: true as const } : {}) });
  }

  private analyseOpts: { texture?: true; livenessNet?: true } | undefined;

  reset(): void {
    this.track = [];
    this.names = [];
    this.logits = [];
    this.lives = [];
    this.gone = 0;
  }

  /**
   * Keeps the landmarks of a frame that names a villager; a run of frames without a face means
   * the person left. A frame that names nobody is not kept: who it shows is not known.
   */
  observe(v: FrameVerdict, landmarks: Float32Array | undefined, faceGoneFrames: number, cues?: FaceCues): void {
    if (v.kind === 'no_face') {
      if (++this.gone >= faceGoneFrames) this.reset();
      return;
    }
    this.gone = 0;
    if (!landmarks || (v.kind !== 'candidate' && v.kind !== 'uncertain')) return;
    this.track.push(landmarks);
    this.names.push(v.villagerId);
    // without the features (the engine was not asked for them) the texture cannot vote: the frame counts as not live
    if (this.texture) this.logits.push(cues?.texture ? textureLogit(this.texture, cues.texture) : -Infinity);
    // likewise without the net's answer the frame counts as not live
    if (this.wantsNet) this.lives.push(cues?.liveNet ?? 0);
    if (this.track.length > this.cfg.max_frames) { this.track.shift(); this.names.shift(); this.logits.shift(); this.lives.shift(); }
  }

  /** The check over the kept frames that name `villagerId` (only those show that villager). */
  judge(villagerId: string): PassiveJudgement {
    const all = this.names.every((n) => n === villagerId);
    const pick = <T>(xs: T[]): T[] => (all ? xs : xs.filter((_, i) => this.names[i] === villagerId));
    this.last = judgePassive(pick(this.track), passiveParams(this.cfg, this.texture, this.wantsNet), this.cache, this.texture ? pick(this.logits) : undefined, this.wantsNet ? pick(this.lives) : undefined);
    return this.last;
  }

  /**
   * One frame through the k-of-n window and then this check. A match the check cannot judge
   * yet keeps the window open (no decision) until `max_frames` frames naming a villager were kept.
   */
  step(s: WindowState, v: FrameVerdict, landmarks: Float32Array | undefined, now: number, match: MatchConfig, cues?: FaceCues): { state: WindowState; outcome: FaceOutcome | null } {
    this.observe(v, landmarks, match.face_gone_frames, cues);
    const r = stepWindow(s, v, now, match);
    const o = r.outcome;
    // the window came to a decision (or held a repeat within the cooldown): its frames are spent
    const concluded = o !== null || (v.kind !== 'no_face' && r.state.window.length === 0);
    if (!this.cfg.enabled || o?.kind !== 'matched') {
      // evidence never outlives a decision: a villager's live frames must not vouch for a photo
      // of them raised after the door decided (a stranger's unknown window between, or a repeat)
      if (concluded) this.reset();
      return r;
    }
    const j = this.judge(o.villagerId);
    if (j.verdict === 'uncertain' && this.track.length < this.cfg.max_frames) {
      // not enough evidence yet: keep looking at the same person (the pool as it was before this frame)
      return { state: { ...s, window: [...s.window, v].slice(-match.n), noFaceRun: 0 }, outcome: null };
    }
    // live or not, the frames judged were spent on this decision; the next one needs its own
    this.reset();
    if (j.verdict === 'live') return r;
    const outcome: FaceOutcome = j.verdict === 'flat'
      ? { kind: 'spoof', frames: o.frames, detail: describe(j) }
      : { kind: 'uncertain', nearest: o.villagerId, distance: o.distance, frames: o.frames, detail: describe(j) };
    return { state: { ...r.state, last: { key: outcome.kind, at: now }, spoofHeldSince: holdAfter(r.state, outcome.kind, now) }, outcome };
  }
}
