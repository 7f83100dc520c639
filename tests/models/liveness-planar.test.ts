/**
 * The flatness check on synthetic landmarks: a head (68 points with depth) turning and nodding
 * under a perspective camera is live; the same points on a plane (a printed photo) tilted and
 * shaken by hand are flat; a face or photo held still cannot be judged (uncertain, never live).
 * And at the door: a match on flat landmarks becomes a spoof, a match without enough evidence
 * waits and then asks for the card or QR code.
 */
import { describe, expect, it } from 'vitest';
import { fitHomography, pairGeometry, transferError } from '../../models/liveness/planar.ts';
import { judgeFlatness } from '../../models/liveness/passive.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { initialWindow, type FrameVerdict, type WindowState } from '../../edge/entry/decision.ts';
import { PassiveGate, passiveParams } from '../../edge/entry/liveness-passive.ts';
import { head, noise, project } from './synthetic-head.ts';

const live = head();
const flat = live.map(([x, y]) => [x, y, 0] as [number, number, number]);
const params = passiveParams(resolveEntryConfig({ liveness: { passive: { enabled: true } } }).liveness.passive);
const turning = (pts: typeof live, seed: number, amp = 25, n = 8) => {
  const j = noise(seed);
  // a head turning slowly, or a photo tilted by hand: ±amp° of yaw, some nodding, a little drift
  return Array.from({ length: n }, (_, i) => project(pts, { yaw: -amp + ((2 * amp) / (n - 1)) * i, pitch: (amp / 2) * Math.sin(i), dx: i, dy: -i / 2 }, j));
};

describe('planar geometry', () => {
  it('fits a homography exactly on a plane and not on a head', () => {
    const j = noise(1);
    const a = project(flat, { yaw: -10, pitch: 0 }, j, 0);
    const b = project(flat, { yaw: 15, pitch: 8, roll: 5, dx: 10 }, j, 0);
    const h = fitHomography(a, b);
    expect(h).not.toBeNull();
    expect(transferError(h as Float64Array, a, b)).toBeLessThan(1e-3);
    const c = project(live, { yaw: -10, pitch: 0 }, j, 0);
    const d = project(live, { yaw: 15, pitch: 8, roll: 5, dx: 10 }, j, 0);
    expect(transferError(fitHomography(c, d) as Float64Array, c, d)).toBeGreaterThan(1);
  });

  it('the fits share scratch space, but what they return stays the caller\'s', () => {
    const j = noise(4);
    const a = project(flat, { yaw: -10, pitch: 0 }, j, 0);
    const b = project(flat, { yaw: 15, pitch: 8, dx: 10 }, j, 0);
    const c = project(live, { yaw: 20, pitch: -5 }, j, 0);
    const h1 = fitHomography(a, b) as Float64Array;
    const kept = Float64Array.from(h1);
    const g1 = pairGeometry(a, b);
    const h2 = fitHomography(a, c) as Float64Array;
    expect(h2).not.toBe(h1);
    expect(Array.from(h1)).toEqual(Array.from(kept));
    pairGeometry(a, c);
    // the same pair measured again after others gives the same measures
    expect(pairGeometry(a, b)).toEqual(g1);
    expect(g1?.residual).toBeLessThan(1e-4);
  });

  it('judges a turning head live, a shaken photo flat, a still face uncertain', () => {
    for (const seed of [1, 2, 3]) {
      expect(judgeFlatness(turning(live, seed), params).verdict).toBe('live');
      // a photo tilted a little is not judged live; tilted more, it is plainly flat
      expect(judgeFlatness(turning(flat, seed), params).verdict).toBe('uncertain');
      expect(judgeFlatness(turning(flat, seed, 40), params).verdict).toBe('flat');
      const j = noise(seed);
      // held still, only the landmark net's jitter moves the points: a face and a photo alike
      for (const pts of [live, flat]) {
        const still = Array.from({ length: 12 }, () => project(pts, { yaw: 0, pitch: 0 }, j, 0.8));
        expect(judgeFlatness(still, params).verdict).toBe('uncertain');
      }
    }
    // too few frames to judge
    expect(judgeFlatness(turning(live, 4).slice(0, 3), params).verdict).toBe('uncertain');
  });
});

describe('the passive check in the door window', () => {
  const entry = resolveEntryConfig({ liveness: { passive: { enabled: true } } });
  const candidate: FrameVerdict = { kind: 'candidate', villagerId: 'wang', distance: 0.1, margin: 0.3 };
  const run = (tracks: Float32Array[]) => {
    const gate = new PassiveGate(entry.liveness.passive);
    let s: WindowState = initialWindow();
    for (const [i, lm] of tracks.entries()) {
      const r = gate.step(s, candidate, lm, i * 125, entry.match);
      s = r.state;
      if (r.outcome) return { outcome: r.outcome, frames: i + 1 };
    }
    return { outcome: null, frames: tracks.length };
  };

  it('opens only for landmarks that are not one plane, after enough frames', () => {
    const r = run(turning(live, 5));
    expect(r.outcome).toMatchObject({ kind: 'matched', villagerId: 'wang' });
    expect(r.frames).toBe(entry.liveness.passive.min_frames);
  });

  it('refuses a photo moved by hand as a spoof', () => {
    expect(run(turning(flat, 6, 40)).outcome).toMatchObject({ kind: 'spoof' });
    // tilted less, it cannot be judged: the door waits for more frames, then asks for the card or QR code
    const r = run(turning(flat, 6, 25, entry.liveness.passive.max_frames));
    expect(r.outcome).toMatchObject({ kind: 'uncertain' });
    expect(r.frames).toBe(entry.liveness.passive.max_frames);
  });

  it('a photo held still is asked for the card or QR code, never matched', () => {
    const j = noise(7);
    const still = Array.from({ length: entry.liveness.passive.max_frames }, () => project(flat, { yaw: 0, pitch: 0 }, j, 0.8));
    const r = run(still);
    expect(r.outcome).toMatchObject({ kind: 'uncertain', nearest: 'wang' });
    expect(r.frames).toBe(entry.liveness.passive.max_frames);
  });

  it('without landmarks (the check cannot see the face) it is never matched', () => {
    const r = run(Array.from({ length: entry.liveness.passive.max_frames + 2 }, () => undefined as unknown as Float32Array));
    expect(r.outcome?.kind).not.toBe('matched');
  });

  it('refuses inconsistent settings, bilingual', () => {
    expect(() => resolveEntryConfig({ liveness: { passive: { min_frames: 8, max_frames: 4 } } })).toThrow(/max_frames.*min_frames/);
    expect(() => resolveEntryConfig({ liveness: { passive: { live_ratio: 0.2, flat_ratio: 0.5 } } })).toThrow(/flat_ratio/);
  });
});
