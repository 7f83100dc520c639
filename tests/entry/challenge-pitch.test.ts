/**
 * The blink challenge is not passed by a print tipped back and upright again. A plane pitched
 * ~50° shortens the lids' opening but not the eyes' width, so the eye aspect ratio fell as in a
 * blink; the pass came after 3 frames, before the passive check's min_frames, so the "moved as
 * one plane" veto said `uncertain` and the gate let the print of A in. The blink is now measured
 * against the eye-to-mouth distance, which pitch shortens alike; A's real blink still passes.
 */
import { describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorLivenessGate } from '../../edge/entry/liveness-challenge.ts';
import { initialWindow, type FrameVerdict } from '../../edge/entry/decision.ts';
import { ChallengeVerifier, eyeAspectRatio, eyeClosure } from '../../models/liveness/challenge.ts';
import { blinking, head, noise, project } from '../models/synthetic-head.ts';

const live = head();
const flat = live.map(([x, y]) => [x, y, 0] as [number, number, number]);
const A: FrameVerdict = { kind: 'candidate', villagerId: 'A', distance: 0.15, margin: 0.3 };
const cfg = resolveEntryConfig({ liveness: { passive: { enabled: true }, challenge: { mode: 'when_uncertain', kinds: ['blink'] } } });

/** The gate's prompts and decisions over a print of A held still (the door challenges it), then `answer`. */
function door(answer: Float32Array[], held: Float32Array[]): string[] {
  const gate = new DoorLivenessGate(cfg.liveness, cfg.frame_rate, () => 'blink');
  let state = initialWindow();
  const out: string[] = [];
  [...held, ...answer].forEach((lm, i) => {
    const r = gate.step(state, A, lm, i * 125, cfg.match);
    state = r.state;
    if (r.prompt) out.push(`prompt@${i}`);
    if (r.outcome) out.push(`${r.outcome.kind === 'matched' ? 'matched:A' : r.outcome.kind}${r.outcome.challenge ? ' ' + r.outcome.challenge.result : ''}@${i}`);
  });
  return out;
}

describe('the blink challenge and a pitched print', () => {
  for (const tilt of [30, 50, 55, 70]) {
    it(`a print tipped ${tilt}° once after the blink prompt is not let in`, () => {
      const j = noise(4);
      const held = Array.from({ length: 12 }, () => project(flat, { yaw: 0, pitch: 0 }, j));
      const tipped = [0, tilt, 0].map((pitch) => project(flat, { yaw: 0, pitch }, j));
      const out = door(tipped, held);
      expect(out[0]).toBe('prompt@11');
      expect(out.some((o) => o.startsWith('matched'))).toBe(false);
    });
  }

  it('the eye aspect ratio falls under pitch as in a blink; the eye closure does not', () => {
    const j = noise(4);
    const upright = project(flat, { yaw: 0, pitch: 0 }, j, 0);
    const tipped = project(flat, { yaw: 0, pitch: 50 }, j, 0);
    expect(eyeAspectRatio(tipped)).toBeLessThan(0.7 * eyeAspectRatio(upright));
    expect(eyeClosure(tipped)).toBeGreaterThan(0.9 * eyeClosure(upright));
    // a real blink halves it
    expect(eyeClosure(project(blinking(live, 0.9), { yaw: 0, pitch: 0 }, j, 0))).toBeLessThan(0.5 * eyeClosure(project(live, { yaw: 0, pitch: 0 }, j, 0)));
  });

  it('A who blinks while nodding a little is let in', () => {
    const j = noise(6);
    const held = Array.from({ length: 12 }, () => project(flat, { yaw: 0, pitch: 0 }, j));
    const lids = [0, 0, 0.3, 0.9, 0.9, 0.2, 0, 0];
    const answer = lids.map((c, i) => project(blinking(live, c), { yaw: 2, pitch: 6 * Math.sin(i) }, j));
    const out = door(answer, held);
    expect(out.find((o) => o.startsWith('matched'))).toMatch(/^matched:A passed/);
  });

  it('a live head that only nods (no blink) does not pass the blink challenge', () => {
    const j = noise(8);
    const v = new ChallengeVerifier('blink', { timeoutMs: 5000, attempts: 1, closedShare: cfg.liveness.challenge.closed_share, minYawChange: 15, passive: { minFrames: 6, minMotion: 0.02, minPairs: 5, liveRatio: 0.5, flatRatio: 0.2, noiseRatio: 0.9 } }, 0);
    const states = [0, 20, 40, 20, 0, 0].map((pitch, i) => v.frame(project(live, { yaw: 0, pitch }, j), i * 125));
    expect(states).not.toContain('passed');
  });
});
