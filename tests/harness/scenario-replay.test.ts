/**
 * Replayed sequences (`enter: {by: face, frames}`): the person at rest until the door asks for
 * a turn, then turning from the start of the turn on (harness/scenario/replay.ts); and, with the
 * real face engine and the door's own liveness code, the stand-in villager's turn passes the
 * challenge at its first attempt whichever frames the door analyses (every one on an idle
 * machine, one in 2, 3, 5 or 7 on a loaded one), while the print and the screen turned by hand
 * never pass.
 *
 * Before, the sequence looped on its own clock: in process mode (frames at the camera's rate)
 * an attempt that began while the stand-in stood still never saw a turn the door could measure
 * (its round head: ≈ 13° for a 25° turn, the challenge asks 15°), and the villager was refused
 * in about one run of two on an idle machine.
 */
import { describe, expect, it } from 'vitest';
import { FaceEngine, type RgbFrame } from '../../models/face-engine.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorLivenessGate } from '../../edge/entry/liveness-challenge.ts';
import { initialWindow, type FrameVerdict } from '../../edge/entry/decision.ts';
import { faceGeometry, presentation, type PresentationKind } from '../../harness/liveness/presentations.ts';
import { portraitOf } from '../../harness/scenario/faces.ts';
import { promptsIn, SequencePlayer } from '../../harness/scenario/replay.ts';
import { greyFrame } from '../../harness/portraits.ts';

const frames = (n: number): RgbFrame[] => Array.from({ length: n }, () => greyFrame(4, 4));

describe('SequencePlayer', () => {
  it('shows the rest round and round until the door asks, then the answer from its start, round and round', () => {
    let prompts = 0;
    const p = new SequencePlayer({ frames: frames(7), answerFrom: 3 }, () => prompts);
    expect(Array.from({ length: 5 }, () => p.next())).toEqual([0, 1, 2, 0, 1]);
    prompts = 1;
    expect(Array.from({ length: 7 }, () => p.next())).toEqual([3, 4, 5, 6, 3, 4, 5]);
  });

  it('a repeated prompt starts the answer again, even in the middle of one', () => {
    let prompts = 0;
    const p = new SequencePlayer({ frames: frames(6), answerFrom: 2 }, () => prompts);
    prompts = 1;
    expect([p.next(), p.next()]).toEqual([2, 3]);
    prompts = 2;
    expect([p.next(), p.next(), p.next(), p.next(), p.next()]).toEqual([2, 3, 4, 5, 2]);
  });

  it('prompts heard before the person stepped up are not theirs; a folder (no mark) loops as recorded', () => {
    const p = new SequencePlayer({ frames: frames(4), answerFrom: 2 }, () => 3);
    expect([p.next(), p.next(), p.next()]).toEqual([0, 1, 0]);
    let prompts = 0;
    const folder = new SequencePlayer({ frames: frames(3), answerFrom: null }, () => prompts);
    prompts = 5;
    expect(Array.from({ length: 5 }, () => folder.next())).toEqual([0, 1, 2, 0, 1]);
  });

  it('counts the door\'s first and repeated prompts among its announcements', () => {
    expect(promptsIn([{ reason: 'welcome' }, { reason: 'challenge' }, { reason: 'uncertain' }, { reason: 'challenge_repeat' }])).toBe(2);
  });

  it('refuses an empty sequence or a mark that leaves no rest or no answer, in both languages', () => {
    expect(() => new SequencePlayer({ frames: [], answerFrom: null }, () => 0)).toThrow(expect.objectContaining({ message: expect.stringContaining('at least one frame'), zh: expect.stringContaining('至少需要一帧') }));
    expect(() => new SequencePlayer({ frames: frames(4), answerFrom: 0 }, () => 0)).toThrow('answerFrom 0 must leave frames at rest before it');
    expect(() => new SequencePlayer({ frames: frames(4), answerFrom: 4 }, () => 0)).toThrow(expect.objectContaining({ zh: expect.stringContaining('answerFrom（4）须在 1 到 3 之间') }));
  });
});

describe('the liveness scenarios\' presentations at the door (real face engine)', () => {
  const config = resolveEntryConfig({ liveness: { passive: { enabled: true }, challenge: { mode: 'always', kinds: ['turn'], timeout_ms: 3000 } } });
  /** The door's liveness over a presentation the camera shows at 8 frames a second, of which it analyses one in `every` (from `offset`). */
  function atTheDoor(landmarks: ReadonlyArray<Float32Array | null>, answerFrom: number, every: number, offset: number): { decision: string; challenge: string | null; prompts: number } {
    const gate = new DoorLivenessGate(config.liveness, config.frame_rate, () => 'turn');
    let prompts = 0;
    const player = new SequencePlayer({ frames: frames(landmarks.length), answerFrom }, () => prompts);
    for (let k = 0; k < offset; k++) player.next();
    let state = initialWindow();
    const ms = 1000 / config.frame_rate;
    for (let cam = offset, analysed = 0; analysed < 400; analysed++) {
      // the camera's frames in between are not analysed (a busy door), but the person goes on moving
      const lm = landmarks[player.next()] ?? null;
      for (let k = 1; k < every; k++) player.next();
      cam += every;
      const v: FrameVerdict = lm ? { kind: 'candidate', villagerId: 'zhang', distance: 0.2, margin: 0.3 } : { kind: 'no_face' };
      const r = gate.step(state, v, lm ?? undefined, cam * ms, config.match);
      state = r.state;
      if (r.prompt) prompts++;
      if (r.outcome) return { decision: r.outcome.kind, challenge: r.outcome.challenge ? `${r.outcome.challenge.result} ${r.outcome.challenge.attempts}` : null, prompts };
    }
    return { decision: 'none', challenge: null, prompts };
  }

  it('the villager in person passes the turn at its first attempt, whichever frames the door analyses; the print and the screen never pass', async () => {
    // the portrait and its geometry as the runner finds them (sequences.ts), the frames as the door analyses them
    const photos = new FaceEngine({ detectorInputSize: 416, detectorMinScore: config.detector_min_score, liveness: false });
    const engine = new FaceEngine({ detector: 'ssd', detectorInputSize: config.detector_input_size, detectorMinScore: config.detector_min_score, liveness: false, engine: 'onnx', onnxThreads: 1 });
    await Promise.all([photos.start(), engine.start()]);
    try {
      const portrait = await portraitOf(photos, { photo: 'sample2.jpg', index: 0 });
      const straight = (await photos.analyse(portrait, { allFaces: false, gate: null, liveness: false })).faces[0];
      expect(straight?.landmarks).toBeDefined();
      const results: Record<string, string[]> = {};
      for (const kind of ['live', 'print', 'screen'] as PresentationKind[]) {
        const p = presentation(kind, portrait, faceGeometry(straight?.landmarks as Float32Array), 1);
        const landmarks: Array<Float32Array | null> = [];
        for (const f of p.frames) landmarks.push(((await engine.analyse(f, { allFaces: false, gate: null, liveness: false })).faces[0]?.landmarks as Float32Array | undefined) ?? null);
        const out: string[] = [];
        // every frame (an idle door), or one in 2, 3, 5, 7 (a loaded one), from several points of the rest
        for (const every of [1, 2, 3, 5, 7]) for (let offset = 0; offset < p.answerFrom; offset += 3) {
          const d = atTheDoor(landmarks, p.answerFrom, every, offset);
          out.push(`${d.decision}${d.challenge ? ` (${d.challenge})` : ''}`);
        }
        results[kind] = out;
      }
      expect(new Set(results.live)).toEqual(new Set(['matched (passed 1)']));
      for (const kind of ['print', 'screen']) for (const d of results[kind] ?? []) expect(d).toMatch(/^(uncertain \(failed 2\)|spoof)/);
    } finally {
      photos.stop();
      engine.stop();
    }
  }, 300_000);
});
