/**
 * Which frame of a replayed sequence the camera shows next (`enter: {by: face, frames}`), the
 * same in both runners: the in-process runner asks once per analysed frame, the process runner
 * once per camera frame (1/frame_rate).
 *
 * A sequence made by the runner (`frames: {make: …}`) knows where its person answers the door's
 * challenge (`answerFrom`): the frames before it are the person at rest, shown round and round
 * until the door asks (请慢慢转头, an announcement `challenge` or `challenge_repeat`); then the
 * turn plays from its first frame, and again, until the door decides or asks again (a repeat
 * starts it afresh): a person asked to turn their head slowly keeps turning it while the door
 * stays shut. So the first turn starts when the door asks for it, as a person's does, and what
 * the door decides does not depend on where in a loop its attempt happened to begin. On a door
 * that analyses a frame or two a second, a single 3 s turn would give it too few frames to
 * judge; turning on, the person gives it frames of the turn for as long as it looks.
 * A folder of frames (`answerFrom` null) is a recording with no such mark: it plays round and
 * round as recorded.
 */
import type { RgbFrame } from '../../models/face-engine.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';

export interface ReplaySequence {
  frames: RgbFrame[];
  /** First frame of the answer to a challenge; the frames before it are the person at rest. Null: no mark (a folder). */
  answerFrom: number | null;
}

export class SequencePlayer {
  private rest = -1;
  private answer: number | null = null;
  private answered: number;

  /** `prompts`: challenges the door has asked for so far (its first and repeated prompts). */
  constructor(readonly sequence: ReplaySequence, private readonly prompts: () => number) {
    const { frames, answerFrom } = sequence;
    if (frames.length === 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'a replayed sequence needs at least one frame', { zh: '回放序列至少需要一帧' });
    if (answerFrom !== null && (!Number.isInteger(answerFrom) || answerFrom < 1 || answerFrom >= frames.length)) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `answerFrom ${answerFrom} must leave frames at rest before it and frames of the answer from it (1–${frames.length - 1})`, { zh: `answerFrom（${answerFrom}）须在 1 到 ${frames.length - 1} 之间` });
    }
    // prompts heard before the person stepped up were not for them
    this.answered = prompts();
  }

  /** Index of the frame to show now. */
  next(): number {
    const { frames, answerFrom } = this.sequence;
    if (answerFrom === null) return (this.rest = (this.rest + 1) % frames.length);
    const asked = this.prompts();
    if (asked > this.answered) {
      // asked (again): the turn from its start, even if the last one was not finished
      this.answered = asked;
      return (this.answer = answerFrom);
    }
    if (this.answer !== null) return (this.answer = this.answer + 1 < frames.length ? this.answer + 1 : answerFrom);
    return (this.rest = (this.rest + 1) % answerFrom);
  }

  frame(): RgbFrame {
    return this.sequence.frames[this.next()] as RgbFrame;
  }
}

/** Prompts heard so far, from the store's announcements. */
export const promptsIn = (announcements: ReadonlyArray<{ reason: string }>): number =>
  announcements.filter((a) => a.reason === 'challenge' || a.reason === 'challenge_repeat').length;
