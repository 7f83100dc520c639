/**
 * The fusion rules of scripts/liveness/cv-fusion.ts (models/liveness/fusion-cv.ts): thresholds
 * chosen so that no training attack is live, the rule of least training BPCER, and a presentation
 * that either cue cannot judge never live.
 */
import { describe, expect, it } from 'vitest';
import { chooseAnd, chooseFusion, chooseSum, fusedLive, type FusionScore } from '../../models/liveness/fusion-cv.ts';

const s = (real: boolean, texture: number | null, net: number | null): FusionScore => ({ real, texture, net });

describe('fusion of the texture cue and the liveness net', () => {
  // the attacks: one with a high texture score, one with a high net score; no cue alone separates
  const train = [
    s(true, 2, 0.9), s(true, 1.5, 0.8), s(true, 1, 0.95), s(true, 3, 0.7),
    s(false, 2.5, 0.1), s(false, -1, 0.85), s(false, -2, 0.05),
  ];

  it('and: no training attack live, and every real face here live (each cue vetoes the attack the other lets by)', () => {
    const c = chooseAnd(train);
    expect(train.filter((p) => !p.real).some((p) => fusedLive(c.rule, p))).toBe(false);
    expect(c.trainBpcer).toBe(0);
    // the texture alone (net threshold 0) would have to refuse three real faces: the search found better
    expect(c.rule.kind === 'and' && c.rule.net).toBeGreaterThan(0.1);
  });

  it('sum: its threshold lets no training attack through', () => {
    const c = chooseSum(train);
    expect(train.filter((p) => !p.real).some((p) => fusedLive(c.rule, p))).toBe(false);
    expect(c.trainBpcer).toBeLessThan(1);
  });

  it('the nested choice is the rule of least training BPCER; a presentation without a score is never live', () => {
    const c = chooseFusion(train);
    expect(c.trainBpcer).toBe(Math.min(c.each.and.trainBpcer, c.each.sum.trainBpcer));
    expect(fusedLive(c.each.and.rule, s(true, null, 0.99))).toBe(false);
    expect(fusedLive(c.each.sum.rule, s(true, 5, null))).toBe(false);
  });
});
