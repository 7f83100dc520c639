/**
 * The active challenge verified from landmarks: a blink (eye aspect ratio falls and recovers)
 * and a head turn that is not one plane; a photo fails both; a slow villager gets one repeat.
 */
import { describe, expect, it } from 'vitest';
import { ChallengeVerifier, eyeAspectRatio, type ChallengeParams } from '../../models/liveness/challenge.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { blinking, head, noise, project } from './synthetic-head.ts';

const live = head();
const flat = live.map(([x, y]) => [x, y, 0] as [number, number, number]);
const params: ChallengeParams = {
  timeoutMs: 5000, attempts: 2, closedShare: 0.6, minYawChange: 15,
  passive: passiveParams(resolveEntryConfig({}).liveness.passive),
};
const run = (v: ChallengeVerifier, frames: Array<Float32Array | null>, stepMs = 125): string[] => frames.map((f, i) => v.frame(f, i * stepMs));

describe('active challenge', () => {
  it('sees a blink in the eye aspect ratio', () => {
    const j = noise(1);
    expect(eyeAspectRatio(project(live, { yaw: 0, pitch: 0 }, j, 0))).toBeGreaterThan(2 * eyeAspectRatio(project(blinking(live, 0.9), { yaw: 0, pitch: 0 }, j, 0)));
    const lids = [0, 0, 0.2, 0.9, 0.9, 0.3, 0, 0];
    const states = run(new ChallengeVerifier('blink', params, 0), lids.map((c) => project(blinking(live, c), { yaw: 2, pitch: 0 }, j)));
    expect(states.at(-1)).toBe('passed');
  });

  it('a photo never blinks: one repeat, then failed', () => {
    const j = noise(2);
    const frames = Array.from({ length: 100 }, (_, i) => project(flat, { yaw: 5 * Math.sin(i / 5), pitch: 3 }, j));
    const v = new ChallengeVerifier('blink', params, 0);
    const states = run(v, frames);
    expect(states).toContain('retry');
    expect(states.at(-1)).toBe('failed');
  });

  it('a slow head turn passes; a photo turned by hand does not', () => {
    const turn = (pts: typeof live, seed: number) => {
      const j = noise(seed);
      return Array.from({ length: 12 }, (_, i) => project(pts, { yaw: 3 * i, pitch: 2 * Math.sin(i) }, j));
    };
    expect(run(new ChallengeVerifier('turn', params, 0), turn(live, 3)).at(-1)).toBe('passed');
    expect(run(new ChallengeVerifier('turn', params, 0), turn(flat, 4)).at(-1)).toBe('pending');
  });

  it('an elderly villager who blinks only in the repeat passes', () => {
    const j = noise(5);
    const still = Array.from({ length: 45 }, () => project(live, { yaw: 0, pitch: 0 }, j)); // 5.6 s: the first attempt times out
    const lids = [0, 0.9, 0.9, 0].map((c) => project(blinking(live, c), { yaw: 0, pitch: 0 }, j));
    const v = new ChallengeVerifier('blink', params, 0);
    const states = run(v, [...still, ...lids]);
    expect(states).toContain('retry');
    expect(states.at(-1)).toBe('passed');
  });
});
