/**
 * The active challenge at the door (请眨眼 / 请慢慢转头), after the passive check
 * (liveness-passive.ts) and before a face may open the door.
 *
 * `entry.liveness.challenge.mode`:
 * - `off`: the passive check's answer stands (uncertain → card or QR code).
 * - `when_uncertain`: a face match the passive check could not judge (or, with the passive check
 *   off, any face match: nothing judged it live) is challenged instead of sent to the card.
 * - `always`: every face match is challenged, even one the passive check judged live.
 * A face the passive check called flat is a spoof either way: it is never offered a challenge.
 *
 * While a challenge runs, the k-of-n window is paused: the frames go to the verifier
 * (models/liveness/challenge.ts), which looks at the landmarks only. The person must stay the
 * one who was matched: a frame naming another villager ends the challenge (uncertain), and only
 * frames naming the matched villager (candidate or uncertain) are looked at, so a stranger who
 * blinks beside a photo of the villager does not answer for them. A
 * challenge passed → `matched`; failed (after the repeats) or abandoned (the face left) →
 * `uncertain` (the door asks for the card or QR code), never `matched`. A pass whose frames
 * moved as one plane (a photo waved about) is refused as `spoof`, and so is a challenge during
 * which k of the last n frames failed the antispoof/liveness check, as in the k-of-n window.
 */
import { randomInt } from 'node:crypto';
import { ChallengeVerifier, type ChallengeKind } from '../../models/liveness/challenge.ts';
import { judgeFlatness } from '../../models/liveness/passive.ts';
import type { ChallengeConfig, LivenessConfig, MatchConfig } from './config.ts';
import { holdAfter, spentWindow, type FaceOutcome, type FrameVerdict, type WindowState } from './decision.ts';
import { PassiveGate, passiveParams, type FaceCues } from './liveness-passive.ts';

/** What the door display and speaker say for each challenge. */
export const CHALLENGE_TEXT: Record<ChallengeKind, string> = {
  blink: '请眨眨眼。/ Please blink.',
  turn: '请慢慢转头。/ Please turn your head slowly.',
};
export const CHALLENGE_REPEAT_TEXT: Record<ChallengeKind, string> = {
  blink: '没有看清，请再眨一次眼。/ Not seen: please blink again.',
  turn: '没有看清，请再慢慢转一次头。/ Not seen: please turn your head slowly again.',
};

/** A request to the person at the door: a new challenge (attempt 1) or its repeat. */
export interface ChallengePrompt { kind: ChallengeKind; attempt: number; attempts: number; text: string }

/** `unanswered`: `faces present` only, the frames ran out while the person was asked (the door always waits for an end). */
export type ChallengeResult = 'passed' | 'failed' | 'left' | 'other_face' | 'flat' | 'spoof' | 'unanswered';

/** The challenge's part of a decision (entry_events detail `challenge`, the scenario output). */
export interface ChallengeRecord {
  kind: ChallengeKind;
  result: ChallengeResult;
  /** Attempts made (1 = passed or failed on the first). */
  attempts: number;
  /** From the first prompt to the decision (frame times). */
  ms: number;
  /** Why it was asked: `always`, or the passive check's answer. */
  why: string;
}

export type GateOutcome = FaceOutcome & { challenge?: ChallengeRecord };

interface Running {
  verifier: ChallengeVerifier;
  villagerId: string;
  distance: number;
  margin: number;
  frames: number;
  startedAt: number;
  attempt: number;
  why: string;
  /** Consecutive frames without a face. */
  gone: number;
  /** The last match.n frames with a face: whether the antispoof/liveness check failed each (as in the k-of-n window). */
  spoofs: boolean[];
}

export interface LivenessStep {
  state: WindowState;
  outcome: GateOutcome | null;
  /** Something to say at the door now (a challenge began or is repeated). */
  prompt?: ChallengePrompt;
}

/**
 * The door's liveness: the passive check, then (by config) the active challenge. The same
 * object serves the door (EntryPipeline) and `faces present`, so both decide alike.
 */
export class DoorLivenessGate {
  readonly passive: PassiveGate;
  private running: Running | null = null;

  /**
   * `frameRate`: the camera's; an attempt lasts `timeout_ms` and at least the frames the camera
   * sends in that time, so a store PC that analyses fewer frames than it gets (a loaded machine)
   * still looks at the person for as many frames as it promised.
   */
  constructor(private readonly cfg: LivenessConfig, private readonly frameRate = 0, private readonly pick: (kinds: readonly ChallengeKind[]) => ChallengeKind = randomKind) {
    this.passive = new PassiveGate(cfg.passive);
  }

  private get ch(): ChallengeConfig { return this.cfg.challenge; }

  /** A challenge is waiting for the person's answer. */
  get challenging(): boolean { return this.running !== null; }

  /** The running challenge as a record, ended `unanswered` at `now` (the frames ran out), or null. */
  unanswered(now: number): ChallengeRecord | null {
    const c = this.running;
    return c ? { kind: c.verifier.kind, result: 'unanswered', attempts: c.attempt, ms: Math.round(now - c.startedAt), why: c.why } : null;
  }

  reset(): void {
    this.running = null;
    this.passive.reset();
  }

  step(s: WindowState, v: FrameVerdict, landmarks: Float32Array | undefined, now: number, match: MatchConfig, cues?: FaceCues): LivenessStep {
    if (this.running) return this.answer(this.running, s, v, landmarks, now, match);
    const r = this.passive.step(s, v, landmarks, now, match, cues);
    const o = r.outcome;
    if (!o || this.ch.mode === 'off') return r;
    const j = this.passive.last;
    if (o.kind === 'matched') {
      // with the passive check on, a match stands only when it judged the face live
      if (this.ch.mode === 'when_uncertain' && this.cfg.passive.enabled) return r;
      const why = this.ch.mode === 'always' ? 'always' : 'passive off';
      return this.begin({ villagerId: o.villagerId, distance: o.distance, margin: o.margin, frames: o.frames }, s, now, why);
    }
    // only an uncertain answer of the passive check is challenged: a face not close enough to a
    // villager is not made close by a blink (its detail comes from the window, not the check)
    if (o.kind === 'uncertain' && this.cfg.passive.enabled && j?.verdict === 'uncertain' && o.detail.startsWith('passive ')) {
      return this.begin({ villagerId: o.nearest, distance: o.distance, margin: 0, frames: o.frames }, s, now, 'passive uncertain');
    }
    return r;
  }

  private begin(m: { villagerId: string; distance: number; margin: number; frames: number }, s: WindowState, now: number, why: string): LivenessStep {
    const kind = this.pick(this.ch.kinds);
    const verifier = new ChallengeVerifier(kind, {
      timeoutMs: this.ch.timeout_ms,
      attempts: this.ch.repeats + 1,
      closedShare: this.ch.closed_share,
      minYawChange: this.ch.min_yaw_change,
      minFramesPerAttempt: Math.floor((this.ch.timeout_ms / 1000) * this.frameRate),
      // a turn is far more motion than jitter: a lower ratio than the passive check's tells a head from a plane
      passive: { ...passiveParams(this.cfg.passive), liveRatio: this.ch.turn_live_ratio },
    }, now);
    this.running = { verifier, ...m, startedAt: now, attempt: 1, why, gone: 0, spoofs: [] };
    // the window is paused while the person answers; its cooldown key stays as it was
    return { state: spentWindow(s, s.last), outcome: null, prompt: this.promptOf(kind, 1) };
  }

  private promptOf(kind: ChallengeKind, attempt: number): ChallengePrompt {
    return { kind, attempt, attempts: this.ch.repeats + 1, text: attempt === 1 ? CHALLENGE_TEXT[kind] : CHALLENGE_REPEAT_TEXT[kind] };
  }

  private answer(c: Running, s: WindowState, v: FrameVerdict, landmarks: Float32Array | undefined, now: number, match: MatchConfig): LivenessStep {
    if (v.kind === 'no_face') {
      if (++c.gone >= match.face_gone_frames) return this.end(c, s, 'left', now);
    } else {
      c.gone = 0;
      // another villager in front of the camera: the challenge was not answered by the one matched
      if (v.kind === 'candidate' && v.villagerId !== c.villagerId) return this.end(c, s, 'other_face', now);
      // the antispoof's verdicts count as in the k-of-n window: k of the last n frames judged a
      // spoof make the presentation a spoof, whatever its other frames do when asked (a screen
      // caught every other frame still plays a blink)
      c.spoofs.push(v.kind === 'spoof');
      if (c.spoofs.length > match.n) c.spoofs.shift();
      if (c.spoofs.filter(Boolean).length >= match.k) return this.end(c, s, 'spoof', now);
    }
    // only the matched villager's frames answer: a stranger who blinks or turns beside a photo of
    // them (unknown, low quality) must not pass for them; such a frame counts as one without a face
    const theirs = (v.kind === 'candidate' || v.kind === 'uncertain') && v.villagerId === c.villagerId;
    const state = c.verifier.frame(theirs ? landmarks ?? null : null, now);
    if (state === 'passed') {
      // a photo waved about while "blinking" still moves as one plane
      const frames = c.verifier.attemptFrames();
      const j = this.cfg.passive.enabled ? judgeFlatness(frames, passiveParams(this.cfg.passive)) : null;
      return this.end(c, s, j?.verdict === 'flat' ? 'flat' : 'passed', now);
    }
    if (state === 'failed') return this.end(c, s, 'failed', now);
    if (state === 'retry') {
      c.attempt++;
      return { state: s, outcome: null, prompt: this.promptOf(c.verifier.kind, c.attempt) };
    }
    return { state: s, outcome: null };
  }

  private end(c: Running, s: WindowState, result: ChallengeResult, now: number): LivenessStep {
    this.running = null;
    this.passive.reset();
    const challenge: ChallengeRecord = { kind: c.verifier.kind, result, attempts: c.attempt, ms: Math.round(now - c.startedAt), why: c.why };
    const detail = `challenge ${challenge.kind} ${result} after ${challenge.attempts} attempt(s), ${challenge.ms} ms (${c.why})`;
    const outcome: GateOutcome = result === 'passed'
      ? { kind: 'matched', villagerId: c.villagerId, distance: c.distance, margin: c.margin, frames: c.frames, challenge }
      : result === 'flat' || result === 'spoof'
        ? { kind: 'spoof', frames: c.frames, detail, challenge }
        : { kind: 'uncertain', nearest: c.villagerId, distance: c.distance, frames: c.frames, detail, challenge };
    const key = outcome.kind === 'matched' ? `matched:${c.villagerId}` : outcome.kind;
    // a presentation refused as a spoof stays refused until the face leaves (decision.ts spoofHeldSince)
    return { state: spentWindow(s, { key, at: now }, result === 'left' ? null : holdAfter(s, outcome.kind, now)), outcome };
  }
}

const randomKind = (kinds: readonly ChallengeKind[]): ChallengeKind => kinds[randomInt(kinds.length)] as ChallengeKind;
