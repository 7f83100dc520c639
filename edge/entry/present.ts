/**
 * Frames presented as one person at the door: each analysed as the door analyses a camera
 * frame, then fed through the door's own k-of-n window (frameVerdict + stepWindow), so the
 * answer is the decision the door would reach, without asking anything of the person.
 * Used by `store-edge faces present` and by tools that replay recorded door frames.
 */
import type { RgbFrame } from '../../models/face-engine.ts';
import { pooledQuery, type Gallery } from '../../models/gallery.ts';
import { qualityGate, type EntryConfig } from './config.ts';
import { frameVerdict, initialWindow, poolSum, windowOutcome, type FrameVerdict } from './decision.ts';
import { DoorLivenessGate, type ChallengeRecord } from './liveness-challenge.ts';
import type { FaceAnalyser } from './enrol.ts';

export type PresentDecision = 'matched' | 'uncertain' | 'unknown' | 'spoof' | 'low_quality' | 'no_face';

export interface Presentation {
  decision: PresentDecision;
  villager: string | null;
  /** Frames looked at until the door decided (all of them when it decided only at the end). */
  frames: number;
  /** Distance of the decided villager (matched), or of the nearest one (uncertain). */
  distance: number | null;
  /** The verdict of each frame looked at, in order. */
  seen: Array<FrameVerdict['kind'] | string>;
  /** The active challenge, when the door asked for one (`entry.liveness.challenge`). */
  challenge?: ChallengeRecord;
}

const seenOf = (v: FrameVerdict): string => (v.kind === 'low_quality' ? `low_quality:${v.why}` : v.kind);

/**
 * Frames come one at a time (`next` returns null at the end) so that a long recording is
 * never held in memory at once. Frame times are spaced by the camera's frame rate.
 */
export async function presentFrames(analyser: FaceAnalyser, gallery: Gallery, config: EntryConfig, next: () => Promise<RgbFrame | null>): Promise<Presentation> {
  const gate = qualityGate(config.quality);
  const interval = 1000 / config.frame_rate;
  let state = initialWindow();
  const liveness = new DoorLivenessGate(config.liveness, config.frame_rate);
  const seen: string[] = [];
  // frames looked at (`seen` also holds the challenge's prompts)
  let frames = 0;
  for (let i = 0; ; i++) {
    const frame = await next();
    if (!frame) break;
    frames = i + 1;
    const a = await analyser.analyse(frame, { allFaces: false, gate, liveness: config.liveness.enabled, ...liveness.passive.analyseOptions });
    const face = a.faces[0] ?? null;
    const descriptor = face?.descriptor ?? undefined;
    const match = descriptor ? gallery.search(descriptor, { cohort: config.match.cohort_scale !== undefined }) : null;
    // match.pool: the window's pool with this face added, searched as the door's worker does
    const sum = poolSum(state, config.match);
    const pooled = descriptor && sum ? gallery.search(pooledQuery(sum, descriptor)) : undefined;
    const verdict = frameVerdict({ face, match, descriptor, pooled }, config.match, config.liveness);
    seen.push(seenOf(verdict));
    const r = liveness.step(state, verdict, face?.landmarks, i * interval, config.match, face ?? undefined);
    state = r.state;
    if (r.prompt) seen.push(`prompt:${r.prompt.kind}#${r.prompt.attempt}`);
    const o = r.outcome;
    if (!o) continue;
    const challenge = o.challenge ? { challenge: o.challenge } : {};
    if (o.kind === 'matched') return { decision: 'matched', villager: o.villagerId, frames: i + 1, distance: o.distance, seen, ...challenge };
    if (o.kind === 'uncertain') return { decision: 'uncertain', villager: null, frames: i + 1, distance: o.distance, seen, ...challenge };
    return { decision: o.kind, villager: null, frames: i + 1, distance: null, seen, ...challenge };
  }
  // the frames ended while the person was still asked to blink or turn: not answered
  const unanswered = liveness.unanswered((frames - 1) * interval);
  if (unanswered) return { decision: 'uncertain', villager: null, frames, distance: null, seen, challenge: unanswered };
  // the frames ended before the window filled: the door would decide on what it saw
  if (state.window.length === 0) return { decision: 'no_face', villager: null, frames, distance: null, seen };
  const o = windowOutcome(state.window, config.match);
  return { decision: o.kind, villager: null, frames, distance: o.kind === 'uncertain' ? o.distance : null, seen };
}
