/**
 * The door's liveness gate (passive check, then the active challenge) on synthetic landmark
 * tracks: a villager who blinks or turns when asked is matched; a photo (held still, moved as
 * a plane, turned by hand) never is; a slow villager gets the repeat; the person leaving or
 * another face ends the challenge as uncertain; k spoof frames in the last n end it as a spoof.
 */
import { describe, expect, it } from 'vitest';
import { resolveEntryConfig, type EntryConfig } from '../../edge/entry/config.ts';
import { DoorLivenessGate, type LivenessStep } from '../../edge/entry/liveness-challenge.ts';
import { initialWindow, type FrameVerdict } from '../../edge/entry/decision.ts';
import { presentFrames } from '../../edge/entry/present.ts';
import { Gallery } from '../../models/gallery.ts';
import { blinking, head, noise, project } from '../models/synthetic-head.ts';

const live = head();
const flat = live.map(([x, y]) => [x, y, 0] as [number, number, number]);
const A: FrameVerdict = { kind: 'candidate', villagerId: 'A', distance: 0.2, margin: 0.3 };
const B: FrameVerdict = { kind: 'candidate', villagerId: 'B', distance: 0.2, margin: 0.3 };
const NONE: FrameVerdict = { kind: 'no_face' };
const SPOOF: FrameVerdict = { kind: 'spoof', real: 0.05, live: 0.9 };

const entry = (challenge: Record<string, unknown>, passive = true): EntryConfig =>
  resolveEntryConfig({ liveness: { passive: { enabled: passive }, challenge: { timeout_ms: 4000, ...challenge } } });

interface Frame { v: FrameVerdict; lm?: Float32Array }

/** Frames at 8 per second through one gate; the steps that prompted or decided. */
function run(cfg: EntryConfig, frames: Frame[], kind: 'blink' | 'turn' = 'blink', stepMs = 125): { prompts: LivenessStep['prompt'][]; outcome: LivenessStep['outcome']; at: number } {
  const gate = new DoorLivenessGate(cfg.liveness, cfg.frame_rate, () => kind);
  let state = initialWindow();
  const prompts: LivenessStep['prompt'][] = [];
  for (const [i, f] of frames.entries()) {
    const r = gate.step(state, f.v, f.lm, i * stepMs, cfg.match);
    state = r.state;
    if (r.prompt) prompts.push(r.prompt);
    if (r.outcome) return { prompts, outcome: r.outcome, at: i };
  }
  return { prompts, outcome: null, at: frames.length };
}

const still = (pts: typeof live, n: number, seed: number, v = A): Frame[] => {
  const j = noise(seed);
  return Array.from({ length: n }, () => ({ v, lm: project(pts, { yaw: 0, pitch: 0 }, j) }));
};
const blink = (seed: number): Frame[] => {
  const j = noise(seed);
  return [0, 0.3, 0.9, 0.9, 0.3, 0, 0].map((c) => ({ v: A, lm: project(blinking(live, c), { yaw: 0, pitch: 0 }, j) }));
};
const turn = (pts: typeof live, seed: number): Frame[] => {
  const j = noise(seed);
  return Array.from({ length: 12 }, (_, i) => ({ v: A, lm: project(pts, { yaw: 3 * i, pitch: 2 * Math.sin(i) }, j) }));
};

describe('the liveness challenge at the door', () => {
  it('off: a villager standing still (passive uncertain) is asked for the card, not challenged', () => {
    const r = run(entry({ mode: 'off' }), still(live, 20, 1));
    expect(r.prompts).toEqual([]);
    expect(r.outcome).toMatchObject({ kind: 'uncertain', nearest: 'A' });
    expect(r.outcome?.challenge).toBeUndefined();
  });

  it('when_uncertain: standing still, then a blink when asked → matched, with the challenge recorded', () => {
    const r = run(entry({ mode: 'when_uncertain' }), [...still(live, 14, 2), ...blink(3)]);
    expect(r.prompts).toMatchObject([{ kind: 'blink', attempt: 1, attempts: 2, text: expect.stringContaining('请眨眨眼') }]);
    expect(r.outcome).toMatchObject({ kind: 'matched', villagerId: 'A', challenge: { kind: 'blink', result: 'passed', attempts: 1, why: 'passive uncertain' } });
  });

  it('a photo held still never blinks: the prompt is repeated once, then uncertain (card or QR code)', () => {
    const r = run(entry({ mode: 'when_uncertain' }), still(flat, 120, 4));
    expect(r.prompts.map((p) => [p?.kind, p?.attempt])).toEqual([['blink', 1], ['blink', 2]]);
    expect(r.prompts[1]?.text).toContain('请再眨一次眼');
    expect(r.outcome).toMatchObject({ kind: 'uncertain', nearest: 'A', challenge: { result: 'failed', attempts: 2 } });
    // two attempts of 4 s each, at 125 ms per frame
    expect(r.outcome?.challenge?.ms).toBeGreaterThanOrEqual(8000);
  });

  it('an elderly villager who blinks only after the repeat is let in', () => {
    const r = run(entry({ mode: 'when_uncertain' }), [...still(live, 12, 5), ...still(live, 40, 6), ...blink(7)]);
    expect(r.prompts.map((p) => p?.attempt)).toEqual([1, 2]);
    expect(r.outcome).toMatchObject({ kind: 'matched', challenge: { result: 'passed', attempts: 2 } });
  });

  it('repeats: 0 gives one attempt only', () => {
    const r = run(entry({ mode: 'when_uncertain', repeats: 0 }), [...still(live, 12, 5), ...still(live, 40, 6), ...blink(7)]);
    expect(r.prompts.map((p) => p?.attempt)).toEqual([1]);
    expect(r.outcome).toMatchObject({ kind: 'uncertain', challenge: { result: 'failed', attempts: 1 } });
  });

  it('a photo moved as a plane is a spoof for the passive check: no challenge is offered', () => {
    const j = noise(8);
    const frames = Array.from({ length: 12 }, (_, i) => ({ v: A, lm: project(flat, { yaw: -30 + (60 / 11) * i, pitch: 20 * Math.sin(i), dx: 2 * i, dy: -i }, j) }));
    const r = run(entry({ mode: 'always' }), frames);
    expect(r.prompts).toEqual([]);
    expect(r.outcome?.kind).toBe('spoof');
  });

  it('turn: a head turning slowly passes, a photo turned by hand does not', () => {
    const cfg = entry({ mode: 'always', kinds: ['turn'] }, false);
    const ok = run(cfg, [...still(live, 2, 9), ...turn(live, 10)], 'turn');
    expect(ok.prompts).toMatchObject([{ kind: 'turn', text: expect.stringContaining('请慢慢转头') }]);
    expect(ok.outcome).toMatchObject({ kind: 'matched', challenge: { kind: 'turn', result: 'passed', why: 'always' } });
    const photo = run(cfg, [...still(flat, 2, 11), ...Array.from({ length: 6 }, () => turn(flat, 12)).flat()], 'turn');
    expect(photo.outcome).toMatchObject({ kind: 'uncertain', challenge: { kind: 'turn', result: 'failed' } });
  });

  it('always: even a face the passive check judged live is challenged', () => {
    const cfg = entry({ mode: 'always', kinds: ['blink'] });
    const j = noise(13);
    // a head nodding and turning: passive live
    const moving = Array.from({ length: 12 }, (_, i) => ({ v: A, lm: project(live, { yaw: 12 * Math.sin(i / 2), pitch: 8 * Math.cos(i / 3) }, j) }));
    const r = run(cfg, [...moving, ...blink(14)]);
    expect(r.prompts).toHaveLength(1);
    expect(r.outcome).toMatchObject({ kind: 'matched', challenge: { result: 'passed', why: 'always' } });
  });

  it('when_uncertain with the passive check off: every face match is challenged', () => {
    const r = run(entry({ mode: 'when_uncertain' }, false), [...still(live, 2, 15), ...blink(16)]);
    expect(r.outcome).toMatchObject({ kind: 'matched', challenge: { why: 'passive off' } });
  });

  it('frames the antispoof calls a spoof during the challenge: k of the last n end it as a spoof, even with a blink among them', () => {
    // passive check off: the challenge is the liveness guard; a screen the antispoof catches every other frame
    const cfg = entry({ mode: 'when_uncertain' }, false);
    const j = noise(25);
    const blinkWithSpoofs: Frame[] = [0, 0.3, 0.9, 0.9, 0.3, 0, 0].flatMap((c) => {
      const lm = project(blinking(live, c), { yaw: 0, pitch: 0 }, j);
      return [{ v: A, lm }, { v: SPOOF, lm }];
    });
    const r = run(cfg, [...still(live, 2, 26), ...blinkWithSpoofs]);
    expect(r.prompts).toHaveLength(1);
    expect(r.outcome).toMatchObject({ kind: 'spoof', challenge: { result: 'spoof', why: 'passive off' } });
    // decided on the k-th spoof frame: the blink was not finished yet
    expect(r.at).toBe(2 + 3);
    // one spoof frame (fewer than k in the last n) does not stop a villager who blinks
    const once = run(cfg, [...still(live, 2, 27), { v: SPOOF, lm: project(live, { yaw: 0, pitch: 0 }, j) }, ...blink(28)]);
    expect(once.outcome).toMatchObject({ kind: 'matched', challenge: { result: 'passed' } });
  });

  it('another villager in front of the camera, or the person leaving, ends the challenge as uncertain', () => {
    const cfg = entry({ mode: 'always' }, false);
    const other = run(cfg, [...still(live, 2, 17), ...still(live, 3, 18, B)]);
    expect(other.outcome).toMatchObject({ kind: 'uncertain', nearest: 'A', challenge: { result: 'other_face' } });
    const left = run(cfg, [...still(live, 2, 19), ...Array.from({ length: cfg.match.face_gone_frames }, () => ({ v: NONE }))]);
    expect(left.outcome).toMatchObject({ kind: 'uncertain', challenge: { result: 'left' } });
  });

  it('frames without landmarks or with unknown matches during the challenge still time out', () => {
    const cfg = entry({ mode: 'always', repeats: 0 }, false);
    const unknown: FrameVerdict = { kind: 'unknown', distance: 0.9, margin: 0.1 };
    const r = run(cfg, [...still(live, 2, 20), ...Array.from({ length: 60 }, () => ({ v: unknown }))]);
    expect(r.outcome).toMatchObject({ kind: 'uncertain', challenge: { result: 'failed', attempts: 1 } });
  });

  it('a busy store PC (one frame analysed a second) still looks at the person for the frames the camera would send', () => {
    // 4 s at 8 frames a second: 32 frames per attempt, though 32 s pass at this pace
    const cfg = entry({ mode: 'always', repeats: 0 }, false);
    const r = run(cfg, [...still(live, 2, 21), ...still(live, 20, 22), ...blink(23)], 'blink', 1000);
    expect(r.outcome).toMatchObject({ kind: 'matched', challenge: { result: 'passed', attempts: 1 } });
    const photo = run(cfg, still(flat, 60, 24), 'blink', 1000);
    expect(photo.outcome).toMatchObject({ kind: 'uncertain', challenge: { result: 'failed' } });
    // challenged from the second frame (k = 2), failed on the 32nd frame after it (at 1 s a frame, without the frame count it would end after 4)
    expect(photo.at).toBe(1 + 32);
  });
});

describe('faces present when the frames end during the challenge', () => {
  it('counts the frames looked at, not the prompts, and reports the challenge unanswered', async () => {
    const cfg = resolveEntryConfig({ liveness: { enabled: false, passive: { enabled: false }, challenge: { mode: 'always', kinds: ['blink'] } } });
    const descriptor = Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 0));
    const gallery = new Gallery(16, 128);
    gallery.add('A', [descriptor]);
    // a sure match on every frame, landmarks that never move (no blink)
    const landmarks = project(live, { yaw: 0, pitch: 0 }, () => 0);
    const face = { box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9, rejected: null, descriptor, landmarks, liveness: null, quality: { faceSize: 100, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 } };
    const analyser = { analyse: () => Promise.resolve({ width: 4, height: 4, faceCount: 1, nearFaces: 1, faces: [face], times: { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 } }) };
    const total = cfg.match.n + 2;
    let i = 0;
    const r = await presentFrames(analyser as never, gallery, cfg, () => Promise.resolve(i++ < total ? { width: 4, height: 4, data: new Uint8Array(48) } : null));
    expect(r.seen.filter((s) => s.startsWith('prompt:'))).toEqual(['prompt:blink#1']);
    expect(r).toMatchObject({ decision: 'uncertain', frames: total, challenge: { kind: 'blink', result: 'unanswered', attempts: 1, why: 'always' } });
  });
});
