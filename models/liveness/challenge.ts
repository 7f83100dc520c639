/**
 * Verifying an active challenge from the landmarks, frame by frame: a blink (the eyes' opening,
 * measured against the eye-to-mouth distance so that pitch does not close them, falls and
 * recovers) or a slow head turn (yaw moves far enough, and the frames of the turn are not one plane, so a printed photo turned by hand does not pass). Each attempt has a deadline;
 * a failed or timed-out attempt may be repeated once (elderly villagers need time). The door's
 * prompts (请眨眼 / 请慢慢转头) and the wiring into the door decision are in edge/entry/liveness-challenge.ts.
 */
import { poseFromLandmarks, type Point } from '../quality.ts';
import { judgeFlatness, type PassiveParams } from './passive.ts';

export type ChallengeKind = 'blink' | 'turn';
export type ChallengeState = 'pending' | 'passed' | 'retry' | 'failed';

export interface ChallengeParams {
  /** Time allowed for one attempt (ms). */
  timeoutMs: number;
  /** Attempts allowed (the first and its repeats). */
  attempts: number;
  /** Blink: eye aspect ratio below this share of the open-eye baseline counts as closed. */
  closedShare: number;
  /** Turn: smallest change of yaw (degrees) from the first frame of the attempt. */
  minYawChange: number;
  /** Turn: the flatness check run over the attempt's frames (must say live). */
  passive: PassiveParams;
  /**
   * Frames (with or without a face) an attempt sees before it may time out, besides the time:
   * a busy machine that analyses fewer frames than the camera sends does not cut the person's
   * attempt short (default 0: time only).
   */
  minFramesPerAttempt?: number;
}

const dist = (p: ArrayLike<number>, i: number, j: number): number =>
  Math.hypot((p[2 * i] as number) - (p[2 * j] as number), (p[2 * i + 1] as number) - (p[2 * j + 1] as number));

/** Eye aspect ratio (Soukupová & Čech 2016), both eyes averaged: ≈ 0.3 open, ≈ 0.1 closed. */
export function eyeAspectRatio(p: ArrayLike<number>): number {
  const one = (a: number): number => (dist(p, a + 1, a + 5) + dist(p, a + 2, a + 4)) / (2 * Math.max(dist(p, a, a + 3), 1e-6));
  return (one(36) + one(42)) / 2;
}

const mean = (p: ArrayLike<number>, from: number, to: number, axis: 0 | 1): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += p[2 * i + axis] as number;
  return s / (to - from);
};

/**
 * Eye closure for the blink: the eyes' mean lid opening over the distance from the eyes' centre
 * to the mouth's. The eye aspect ratio divides by the eye's width, which a face (or a print)
 * pitched back does not shorten while it shortens the lids' opening: a print tipped back ~50°
 * and upright again "blinked". The eye-to-mouth distance is vertical like the lids, so pitch,
 * distance and scale shorten both alike and only the lids closing lowers the ratio.
 */
export function eyeClosure(p: ArrayLike<number>): number {
  const lids = (a: number): number => (dist(p, a + 1, a + 5) + dist(p, a + 2, a + 4)) / 2;
  const span = Math.hypot(mean(p, 48, 68, 0) - mean(p, 36, 48, 0), mean(p, 48, 68, 1) - mean(p, 36, 48, 1));
  return (lids(36) + lids(42)) / 2 / Math.max(span, 1e-6);
}

const yawOf = (p: ArrayLike<number>): number => {
  const pts: Point[] = [];
  for (let i = 0; i < 68; i++) pts.push({ x: p[2 * i] as number, y: p[2 * i + 1] as number });
  return poseFromLandmarks(pts).yaw;
};

export class ChallengeVerifier {
  private attempt = 1;
  private startedAt: number;
  private frames: ArrayLike<number>[] = [];
  private seen = 0;
  private openEar = 0;
  private closed = false;
  state: ChallengeState = 'pending';

  constructor(readonly kind: ChallengeKind, private readonly p: ChallengeParams, now: number) {
    this.startedAt = now;
  }

  /** Feeds one frame's landmarks (or null: no face in the frame). */
  frame(landmarks: ArrayLike<number> | null, now: number): ChallengeState {
    if (this.state === 'passed' || this.state === 'failed') return this.state;
    if (this.state === 'retry') this.restart(now);
    this.seen++;
    if (landmarks) {
      this.frames.push(landmarks);
      if (this.kind === 'blink' ? this.blinked(landmarks) : this.turned()) return (this.state = 'passed');
    }
    if (now - this.startedAt > this.p.timeoutMs && this.seen >= (this.p.minFramesPerAttempt ?? 0)) this.state = this.attempt < this.p.attempts ? 'retry' : 'failed';
    return this.state;
  }

  /** The landmarks of the current attempt's frames (to check them for a plane after a pass). */
  attemptFrames(): readonly ArrayLike<number>[] {
    return this.frames;
  }

  private restart(now: number): void {
    this.attempt++;
    this.startedAt = now;
    this.frames = [];
    this.seen = 0;
    this.openEar = 0;
    this.closed = false;
    this.state = 'pending';
  }

  private blinked(p: ArrayLike<number>): boolean {
    // against a vertical reference, not the eye's width: a pitched print must not blink
    const ear = eyeClosure(p);
    this.openEar = Math.max(this.openEar, ear);
    if (this.openEar <= 0) return false;
    if (ear < this.openEar * this.p.closedShare) this.closed = true;
    // the eyes must open again: a photo with closed eyes never "opens"
    return this.closed && ear > this.openEar * (1 + this.p.closedShare) / 2;
  }

  private turned(): boolean {
    const first = this.frames[0];
    const last = this.frames[this.frames.length - 1];
    if (!first || !last || this.frames.length < 2) return false;
    if (Math.abs(yawOf(last) - yawOf(first)) < this.p.minYawChange) return false;
    return judgeFlatness(this.frames, this.p.passive).verdict === 'live';
  }
}
