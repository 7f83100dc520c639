/**
 * The passive check judges only frames of the villager the window names. A live stranger who
 * moves their head and then raises a printed photo of a villager, without the face leaving the
 * camera's view, must not lend the photo their head's motion: the door (and `faces present`,
 * the same gate) never opens for it.
 */
import { describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorLivenessGate } from '../../edge/entry/liveness-challenge.ts';
import { initialWindow, type FrameVerdict } from '../../edge/entry/decision.ts';
import { judgeFlatness } from '../../models/liveness/passive.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { blinking, head, noise, project } from '../models/synthetic-head.ts';

const live = head();
// a print of a face: its landmarks on one plane, a little stretched
const flat = live.map(([x, y]) => [x * 1.08, y * 0.95, 0] as [number, number, number]);
const A: FrameVerdict = { kind: 'candidate', villagerId: 'A', distance: 0.2, margin: 0.3 };
const B: FrameVerdict = { kind: 'candidate', villagerId: 'B', distance: 0.2, margin: 0.3 };
const UNKNOWN: FrameVerdict = { kind: 'unknown', distance: 0.6, margin: 0.1 };
const LOW: FrameVerdict = { kind: 'low_quality', why: 'blurry' };

const cfg = resolveEntryConfig({ liveness: { passive: { enabled: true }, challenge: { mode: 'off' } } });

interface Frame { v: FrameVerdict; lm: Float32Array }

/** Every decision of one gate over the frames (8 per second), as `kind` or `matched:villager`. */
function decisions(frames: Frame[]): string[] {
  const gate = new DoorLivenessGate(cfg.liveness, cfg.frame_rate, () => 'blink');
  let state = initialWindow();
  const out: string[] = [];
  for (const [i, f] of frames.entries()) {
    const r = gate.step(state, f.v, f.lm, i * 125, cfg.match);
    state = r.state;
    if (r.outcome) out.push(r.outcome.kind === 'matched' ? `matched:${r.outcome.villagerId}` : r.outcome.kind);
  }
  return out;
}

/** A live head turning and nodding (yaw steps of 9°, pitch up to 8°), shown as `v`. */
const moving = (n: number, v: FrameVerdict, seed = 7): Frame[] => {
  const j = noise(seed);
  return Array.from({ length: n }, (_, i) => ({ v, lm: project(live, { yaw: 9 * i - 45, pitch: 8 * Math.sin(i) }, j) }));
};
const photo = (n: number, v: FrameVerdict = A, seed = 7): Frame[] => {
  const j = noise(seed);
  return Array.from({ length: n }, () => ({ v, lm: project(flat, { yaw: 0, pitch: 0 }, j) }));
};

describe('the passive check judges only the named villager\'s frames', () => {
  it('the stranger\'s head alone is judged live (so it is their motion that must not count for the photo)', () => {
    expect(judgeFlatness(moving(10, UNKNOWN).map((f) => f.lm), passiveParams(cfg.liveness.passive)).verdict).toBe('live');
    // the same frames naming A open the door: the check itself does not refuse them
    expect(decisions(moving(12, A))).toEqual(['matched:A']);
  });

  it('a live stranger (unknown) who then raises a photo of A is never matched', () => {
    // the window first calls the stranger unknown; the photo then waits for the check and is asked for the card
    expect(decisions([...moving(10, UNKNOWN), ...photo(12)])).toEqual(['unknown', 'uncertain']);
  });

  it('nor when the stranger\'s frames are low quality, or name another villager', () => {
    expect(decisions([...moving(10, LOW), ...photo(12)])).toEqual(['low_quality', 'uncertain']);
    // villager B, alive, is let in; the photo of A that B raises next is not
    expect(decisions([...moving(10, B), ...photo(12)])).toEqual(['matched:B', 'uncertain']);
  });

  it('nor when the stranger shows their own head between frames of the photo', () => {
    // the photo names A (the window waits for the check), the stranger moves, the photo again
    const d = decisions([...photo(2), ...moving(3, UNKNOWN), ...photo(2), ...moving(3, UNKNOWN), ...photo(2), ...moving(3, UNKNOWN), ...photo(12)]);
    expect(d).not.toContain('matched:A');
  });

  it('a villager whose frames are sometimes not recognised is still judged on their own frames', () => {
    const frames = moving(16, A).map((f, i) => (i % 4 === 3 ? { ...f, v: UNKNOWN } : f));
    expect(decisions(frames)).toEqual(['matched:A']);
  });
});

describe('the active challenge is answered only by the matched villager\'s frames', () => {
  const challenged = resolveEntryConfig({ liveness: { passive: { enabled: true }, challenge: { mode: 'when_uncertain', timeout_ms: 4000 } } });
  /** The decisions, with the challenge's result, of a photo of A held still and then `answer`. */
  const after = (kind: 'blink' | 'turn', answer: Frame[]): string[] => {
    const gate = new DoorLivenessGate(challenged.liveness, challenged.frame_rate, () => kind);
    let state = initialWindow();
    const out: string[] = [];
    for (const [i, f] of [...photo(12), ...answer].entries()) {
      const r = gate.step(state, f.v, f.lm, i * 125, challenged.match);
      state = r.state;
      if (r.outcome) out.push(`${r.outcome.kind === 'matched' ? `matched:${r.outcome.villagerId}` : r.outcome.kind}${r.outcome.challenge ? ` ${r.outcome.challenge.result}` : ''}`);
    }
    return out;
  };
  const j = noise(11);
  const turn = (v: FrameVerdict): Frame[] => Array.from({ length: 24 }, (_, i) => ({ v, lm: project(live, { yaw: 2 * i, pitch: 0 }, j) }));
  const blink = (v: FrameVerdict): Frame[] => Array.from({ length: 24 }, (_, i) => ({ v, lm: project(i >= 8 && i < 11 ? blinking(live, 1) : live, { yaw: 0, pitch: 0 }, j) }));

  it('a stranger (unknown) who blinks or turns after a photo of A was challenged does not pass for A', () => {
    // the stranger stays in front of the camera until every attempt ran out
    const stays = Array.from({ length: 80 }, () => ({ v: UNKNOWN, lm: project(live, { yaw: 0, pitch: 0 }, j) }));
    for (const [kind, answer] of [['turn', turn(UNKNOWN)], ['blink', blink(UNKNOWN)]] as const) {
      const d = after(kind, [...answer, ...stays]);
      expect(d[0]).toBe('uncertain failed');
      expect(d).not.toContain('matched:A passed');
    }
  });

  it('A who blinks or turns when asked is let in', () => {
    expect(after('turn', turn(A))[0]).toBe('matched:A passed');
    expect(after('blink', blink(A))[0]).toBe('matched:A passed');
  });
});
