/**
 * The flatness check on synthetic landmarks: a head (68 points with depth) turning and nodding
 * under a perspective camera is live; the same points on a plane (a printed photo) tilted and
 * shaken by hand are flat; a face or photo held still cannot be judged (uncertain, never live).
 * And at the door: a match on flat landmarks becomes a spoof, a match without enough evidence
 * waits and then asks for the card or QR code.
 */
import { describe, expect, it } from 'vitest';
import { fitHomography, transferError } from '../../models/liveness/planar.ts';
import { judgeFlatness } from '../../models/liveness/passive.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { initialWindow, type FrameVerdict, type WindowState } from '../../edge/entry/decision.ts';
import { PassiveGate, passiveParams } from '../../edge/entry/liveness-passive.ts';

/** A rough 3D face (mm, x right, y down, z towards the camera) in the 68-point layout. */
function head(): Array<[number, number, number]> {
  const p: Array<[number, number, number]> = [];
  for (let i = 0; i < 17; i++) { const t = Math.PI * (i / 16); p.push([-70 * Math.cos(t), 10 + 75 * Math.sin(t) * (i > 3 && i < 13 ? 1 : 0.8), -45 * Math.abs(Math.cos(t))]); }
  for (let i = 0; i < 10; i++) p.push([-55 + i * 12.2, -45 + 4 * Math.abs(i - 4.5), 12]);
  for (let i = 0; i < 4; i++) p.push([0, -30 + i * 10, 18 + 8 * i]);
  for (let i = 0; i < 5; i++) p.push([-14 + i * 7, 12, 22 - 3 * Math.abs(i - 2)]);
  for (const cx of [-32, 32]) for (let i = 0; i < 6; i++) { const t = (2 * Math.PI * i) / 6; p.push([cx + 12 * Math.cos(t), -25 + 5 * Math.sin(t), 4]); }
  for (let i = 0; i < 12; i++) { const t = (2 * Math.PI * i) / 12; p.push([25 * Math.cos(t), 40 + 10 * Math.sin(t), 12 - 6 * Math.abs(Math.cos(t))]); }
  for (let i = 0; i < 8; i++) { const t = (2 * Math.PI * i) / 8; p.push([15 * Math.cos(t), 40 + 4 * Math.sin(t), 13]); }
  return p;
}

/** Seeded Gaussian noise (the landmark net's jitter). */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Projects the points rotated by yaw/pitch/roll (degrees) and shifted (mm), 600 mm from a 640×480 camera. */
function project(pts: Array<[number, number, number]>, pose: { yaw: number; pitch: number; roll?: number; dx?: number; dy?: number }, jitter: () => number, sigma = 0.5): Float32Array {
  const [a, b, c] = [pose.yaw, pose.pitch, pose.roll ?? 0].map((d) => (d * Math.PI) / 180) as [number, number, number];
  const out = new Float32Array(136);
  pts.forEach(([x, y, z], i) => {
    // yaw about y, pitch about x, roll about z
    const x1 = x * Math.cos(a) + z * Math.sin(a);
    const z1 = -x * Math.sin(a) + z * Math.cos(a);
    const y2 = y * Math.cos(b) - z1 * Math.sin(b);
    const z2 = y * Math.sin(b) + z1 * Math.cos(b);
    const x3 = x1 * Math.cos(c) - y2 * Math.sin(c);
    const y3 = x1 * Math.sin(c) + y2 * Math.cos(c);
    const depth = 600 - z2;
    out[2 * i] = 320 + (600 * (x3 + (pose.dx ?? 0))) / depth + sigma * jitter();
    out[2 * i + 1] = 240 + (600 * (y3 + (pose.dy ?? 0))) / depth + sigma * jitter();
  });
  return out;
}

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
