/**
 * `faces evaluate-liveness`: the passive check on folders of presentations (one sub-folder of
 * consecutive frames per presentation), bona fide (`--real`) and attacks (`--attack`), with
 * APCER and BPCER in the sense of ISO/IEC 30107-3: APCER is the share of attack presentations
 * judged live (the face would open the door), BPCER the share of bona fide presentations not
 * judged live (flat or uncertain: the villager is asked for the card or QR code). `bpcerFlat`
 * counts only those called a spoof. Frames are analysed as the door analyses them.
 */
import type { RgbFrame } from '../../models/face-engine.ts';
import { judgeFlatness, judgePassive, type PassiveVerdict } from '../../models/liveness/passive.ts';
import { textureLogit, type TextureModel } from '../../models/liveness/texture.ts';
import { qualityGate, type EntryConfig } from './config.ts';
import type { FaceAnalyser } from './enrol.ts';
import { frameOf, type PersonPhotos } from './evaluate.ts';
import { passiveParams } from './liveness-passive.ts';

export interface PresentationResult {
  name: string;
  frames: number;
  /** Frames where the door's detector found no face. */
  noFace: number;
  verdict: PassiveVerdict;
  /** The geometry's own verdict (the texture aside). */
  geometry: PassiveVerdict;
  ratio: number | null;
  pairs: number;
  /** Mean texture log-odds over the judged frames (null without a texture model). */
  texture: number | null;
  /** Mean probability of a live face from the liveness net (`onnx_model`) over the judged frames (null without one). */
  net: number | null;
}

export interface CurvePoint { liveRatio: number; apcer: number; bpcer: number }
export interface TextureCurvePoint { threshold: number; apcer: number; bpcer: number }

export interface LivenessEvaluation {
  real: { dir: string; presentations: number };
  attack: { dir: string; presentations: number };
  config: EntryConfig['liveness']['passive'];
  /** At the configured thresholds. */
  atConfig: { apcer: number; bpcer: number; bpcerFlat: number; attacksLive: number; realLive: number; realFlat: number; realUncertain: number; attacksFlat: number; attacksUncertain: number };
  /** APCER and BPCER as live_ratio varies (the other settings as configured). */
  curve: CurvePoint[];
  /** The curve's point of least BPCER with APCER ≤ 2 %, or null. */
  bestAtApcer2: CurvePoint | null;
  /** With a texture model: APCER and BPCER as the texture threshold varies (the geometry's veto kept), else null. */
  textureCurve: TextureCurvePoint[] | null;
  /** The texture curve's point of least BPCER with APCER ≤ 2 %, or null. */
  textureBestAtApcer2: TextureCurvePoint | null;
  /** With a liveness net: APCER and BPCER as `min_live` varies (the geometry's veto kept, the texture aside), else null. */
  netCurve: TextureCurvePoint[] | null;
  netBestAtApcer2: TextureCurvePoint | null;
  presentations: { real: PresentationResult[]; attack: PresentationResult[] };
}

/** The door's view of one presentation: the first `max_frames` frames with a face, judged. */
export async function judgePresentation(analyser: FaceAnalyser, config: EntryConfig, p: PersonPhotos, decode: (file: string) => Promise<RgbFrame> = frameOf, texture: TextureModel | null = null): Promise<PresentationResult> {
  const cfg = config.liveness.passive;
  const gate = qualityGate(config.quality);
  const track: Float32Array[] = [];
  const logits: number[] = [];
  const lives: number[] = [];
  const net = cfg.onnx_model !== null;
  let noFace = 0;
  let frames = 0;
  for (const file of p.files) {
    if (track.length >= cfg.max_frames) break;
    frames++;
    const a = await analyser.analyse(await decode(file), { allFaces: false, gate, liveness: false, ...(texture ? { texture: true } : {}), ...(net ? { livenessNet: true } : {}) });
    const face = a.faces[0];
    if (!face?.landmarks) { noFace++; continue; }
    track.push(face.landmarks);
    if (texture) logits.push(face.texture ? textureLogit(texture, face.texture) : -Infinity);
    if (net) lives.push(face.liveNet ?? 0);
  }
  const params = passiveParams(cfg, texture, net);
  const j = judgePassive(track, params, undefined, texture ? logits : undefined, net ? lives : undefined);
  const geometry = texture || net ? judgeFlatness(track, params).verdict : j.verdict;
  return { name: p.person, frames, noFace, verdict: j.verdict, geometry, ratio: j.ratio, pairs: j.pairs, texture: j.texture, net: j.net ?? null };
}

const rate = (n: number, d: number): number => (d === 0 ? 0 : n / d);

/** Live at a given live_ratio: a judgement (enough frames and pairs) with the ratio at or above it. */
function liveAt(r: PresentationResult, liveRatio: number, cfg: EntryConfig['liveness']['passive']): boolean {
  return r.ratio !== null && r.pairs >= cfg.min_pairs && r.frames - r.noFace >= cfg.min_frames && r.ratio >= liveRatio && r.ratio < cfg.noise_ratio;
}

export function summariseLiveness(real: PresentationResult[], attack: PresentationResult[], config: EntryConfig, dirs: { real: string; attack: string }): LivenessEvaluation {
  const cfg = config.liveness.passive;
  const count = (rs: PresentationResult[], v: PassiveVerdict) => rs.filter((r) => r.verdict === v).length;
  const atConfig = {
    apcer: rate(count(attack, 'live'), attack.length),
    bpcer: rate(real.length - count(real, 'live'), real.length),
    bpcerFlat: rate(count(real, 'flat'), real.length),
    attacksLive: count(attack, 'live'), attacksFlat: count(attack, 'flat'), attacksUncertain: count(attack, 'uncertain'),
    realLive: count(real, 'live'), realFlat: count(real, 'flat'), realUncertain: count(real, 'uncertain'),
  };
  const curve: CurvePoint[] = [];
  for (let t = 0.2; t <= 1.2001; t += 0.025) {
    const liveRatio = Math.round(t * 1000) / 1000;
    curve.push({
      liveRatio,
      apcer: rate(attack.filter((r) => liveAt(r, liveRatio, cfg)).length, attack.length),
      bpcer: rate(real.filter((r) => !liveAt(r, liveRatio, cfg)).length, real.length),
    });
  }
  const ok = curve.filter((c) => c.apcer <= 0.02);
  const bestAtApcer2 = ok.length ? ok.reduce((a, b) => (b.bpcer < a.bpcer ? b : a)) : null;
  let textureCurve: TextureCurvePoint[] | null = null;
  let textureBestAtApcer2: TextureCurvePoint | null = null;
  if ([...real, ...attack].some((r) => r.texture !== null)) {
    // live at a threshold: enough frames, the geometry not flat, the mean log-odds at or above it
    const liveTex = (r: PresentationResult, t: number): boolean => r.geometry !== 'flat' && r.texture !== null && r.frames - r.noFace >= cfg.min_frames && r.texture >= t;
    textureCurve = [];
    for (let t = -6; t <= 6.0001; t += 0.25) {
      const threshold = Math.round(t * 100) / 100;
      textureCurve.push({ threshold, apcer: rate(attack.filter((r) => liveTex(r, threshold)).length, attack.length), bpcer: rate(real.filter((r) => !liveTex(r, threshold)).length, real.length) });
    }
    const okT = textureCurve.filter((c) => c.apcer <= 0.02);
    textureBestAtApcer2 = okT.length ? okT.reduce((a, b) => (b.bpcer < a.bpcer ? b : a)) : null;
  }
  let netCurve: TextureCurvePoint[] | null = null;
  let netBestAtApcer2: TextureCurvePoint | null = null;
  if ([...real, ...attack].some((r) => r.net !== null)) {
    const liveNet = (r: PresentationResult, t: number): boolean => r.geometry !== 'flat' && r.net !== null && r.frames - r.noFace >= cfg.min_frames && r.net >= t;
    netCurve = [];
    for (let i = 0; i <= 100; i++) {
      const threshold = i / 100;
      netCurve.push({ threshold, apcer: rate(attack.filter((r) => liveNet(r, threshold)).length, attack.length), bpcer: rate(real.filter((r) => !liveNet(r, threshold)).length, real.length) });
    }
    const okN = netCurve.filter((c) => c.apcer <= 0.02);
    netBestAtApcer2 = okN.length ? okN.reduce((a, b) => (b.bpcer < a.bpcer ? b : a)) : null;
  }
  return {
    real: { dir: dirs.real, presentations: real.length },
    attack: { dir: dirs.attack, presentations: attack.length },
    config: cfg, atConfig, curve, bestAtApcer2, textureCurve, textureBestAtApcer2, netCurve, netBestAtApcer2, presentations: { real, attack },
  };
}
