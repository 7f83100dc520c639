/** Learning at the door: the pure rules (edge/entry/adapt.ts) and the time-ordered replay (evaluate-adapt.ts) on made-up descriptors. */
import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { chooseSlot, confidentMatch, l2, type AdaptConfig } from '../../edge/entry/adapt.ts';
import { AdaptationSchema, replayAdaptation, type DescribedProbe } from '../../edge/entry/evaluate-adapt.ts';
import { presentations } from '../../edge/entry/evaluate-metrics.ts';
import type { FrameVerdict } from '../../edge/entry/decision.ts';
import { formatAdaptation } from '../../edge/cli/faces-evaluate.ts';

// The made-up descriptors below are laid out around a door at threshold 0.30 / margin 0.11 (the
// defaults until 2026-12-02) with learning at 0.22: the rules are what is tested, not the shipped point.
const entry = resolveEntryConfig({ match: { threshold: 0.3, margin: 0.11 }, adapt: { max_distance: 0.22 } });
const adapt: AdaptConfig = { ...entry.adapt, enabled: true };

const cand = (villagerId: string, distance: number, margin: number): FrameVerdict => ({ kind: 'candidate', villagerId, distance, margin });

/** A unit vector: `base` axis turned toward axis `toward` by `angle` radians (distance 2·sin(angle/2) from the base). */
function unit(base: number, toward = base, angle = 0, dim = 128): Float32Array {
  const d = new Float32Array(dim);
  d[base] = Math.cos(angle);
  if (toward !== base) d[toward] = Math.sin(angle);
  return d;
}
/** The angle whose chord is `dist`. */
const at = (dist: number): number => 2 * Math.asin(dist / 2);

describe('the rules of learning at the door', () => {
  it('learns only from a window whose every near frame named the same villager, and a deciding frame well inside the strict rule', () => {
    expect(confidentMatch([cand('a', 0.2, 0.3), cand('a', 0.15, 0.3)], 'a', adapt)).toBeNull();
    expect(confidentMatch([cand('a', 0.2, 0.3), cand('a', 0.25, 0.3)], 'a', adapt)).toBe('not_confident');
    expect(confidentMatch([cand('a', 0.2, 0.3), cand('a', 0.15, 0.12)], 'a', adapt)).toBe('not_confident');
    expect(confidentMatch([cand('b', 0.28, 0.11), cand('a', 0.15, 0.3), cand('a', 0.15, 0.3)], 'a', adapt)).toBe('ambiguous');
    expect(confidentMatch([{ kind: 'uncertain', villagerId: 'b', distance: 0.33, margin: 0 }, cand('a', 0.15, 0.3)], 'a', adapt)).toBe('ambiguous');
    expect(confidentMatch([{ kind: 'spoof', real: 0.1, live: 0.9 }, cand('a', 0.15, 0.3), cand('a', 0.15, 0.3)], 'a', adapt)).toBe('ambiguous');
    // frames without a face or failing the gate do not make a window ambiguous
    expect(confidentMatch([{ kind: 'no_face' }, { kind: 'low_quality', why: 'blurred' }, cand('a', 0.15, 0.3)], 'a', adapt)).toBeNull();
  });

  it('adds while there is room, skips what adds nothing or exceeds the day, and replaces only to spread the set', () => {
    const enrolled = [unit(0)];
    const cfg = { min_novelty: 0.08, max_per_villager: 2, max_per_day: 1, max_drift: 0.37 };
    expect(chooseSlot(enrolled, [], unit(0, 1, at(0.4)), 0, cfg)).toEqual({ action: 'skip', why: 'drift' });
    expect(chooseSlot(enrolled, [], unit(0, 1, at(0.05)), 0, cfg)).toEqual({ action: 'skip', why: 'not_novel' });
    expect(chooseSlot(enrolled, [], unit(0, 1, at(0.2)), 0, cfg)).toEqual({ action: 'add' });
    expect(chooseSlot(enrolled, [], unit(0, 1, at(0.2)), 1, cfg)).toEqual({ action: 'skip', why: 'daily_cap' });
    // full: two learned frames close together (one is redundant); a frame off in another direction replaces one of them
    const learned = [unit(0, 1, at(0.2)), unit(0, 1, at(0.3))];
    const r = chooseSlot(enrolled, learned, unit(0, 2, at(0.2)), 0, cfg);
    expect(r.action).toBe('replace');
    // a frame between the ones kept spreads nothing
    expect(chooseSlot(enrolled, learned, unit(0, 1, at(0.1)), 0, cfg)).toEqual({ action: 'skip', why: 'not_more_diverse' });
  });

  it('the door refuses a learning rule looser than its own accept rule', () => {
    expect(() => resolveEntryConfig({ adapt: { max_distance: 0.35 } })).toThrow(/stricter/);
    expect(() => resolveEntryConfig({ adapt: { min_margin: 0.05 } })).toThrow(/stricter/);
    expect(() => resolveEntryConfig({ adapt: { max_distance: 0.21 } })).toThrow(/stricter/);
    expect(resolveEntryConfig({}).adapt.enabled).toBe(false);
  });
});

describe('the time-ordered replay (faces evaluate --adapt)', () => {
  // villager a drifts away from its enrolment over the days (new light); b and c stay put; s is a stranger near b
  const enrolled = new Map([['a', [unit(0)]], ['b', [unit(10)]], ['c', [unit(20)]]]);
  const probe = (person: string, genuine: boolean, d: Float32Array, file: string): DescribedProbe => ({ person, file, genuine, outcome: 'scored', best: null, second: null, ownDistance: null, descriptor: d });
  const probes: DescribedProbe[] = [];
  // day 0: a at 0.15 (confident); day 1: a at 0.25–0.28 toward axis 1 (accepted, not confident); day 2..: farther along
  const aSteps = [0.12, 0.13, 0.14, 0.12, 0.13, 0.24, 0.25, 0.26, 0.27, 0.28, 0.38, 0.39, 0.4, 0.41, 0.42];
  aSteps.forEach((dist, i) => probes.push(probe('a', true, unit(0, 1, at(dist)), `a${i}`)));
  for (let i = 0; i < 15; i++) probes.push(probe('b', true, unit(10, 11, at(0.1 + (i % 3) * 0.02)), `b${i}`));
  for (let i = 0; i < 10; i++) probes.push(probe('s', false, unit(10, 12, at(0.45 + (i % 2) * 0.05)), `s${i}`));

  it('without learning it is the evaluation of every other report; learning teaches nobody a stranger', () => {
    const a = replayAdaptation(enrolled, ['s', 'a', 'b', 'c'], probes, entry.match, adapt, 5);
    expect(Value.Check(AdaptationSchema, a)).toBe(true);
    // the baseline is what `presentations` says on the same probes scored against the enrolment
    const scored = probes.map((p) => {
      const dists = [...enrolled].map(([v, t]) => ({ villagerId: v, distance: Math.min(...t.map((x) => l2(x, p.descriptor as Float32Array))) })).sort((x, y) => x.distance - y.distance);
      return { ...p, best: dists[0] ?? null, second: dists[1] ?? null };
    });
    const base = presentations(scored, entry.match);
    expect(a.baseline.presentations).toMatchObject({ genuine: base.genuine, accepted: base.accepted, falseAccepts: base.falseAccepts, impostor: base.impostor });
    // a is let in on days 0 and 1, not on day 2 (0.38–0.42 from the enrolment)
    expect(a.baseline.presentations.accepted).toBe(5);
    expect(a.adapted.learning.wrong).toBe(0);
    expect(a.attack.wrongLearned).toBe(0);
    expect(a.attack.falseAccepts).toBe(0);
    expect(a.attack.presentations).toBe(10);
    // a is followed as it drifts: a confident frame a day (day 0, then day 1 is confident against
    // what day 0 taught), so day 2, 0.38–0.42 from the enrolment, is let in too; but day 2 is
    // beyond the anchor (max_drift from the enrolment) and is not learned: no walking off
    expect(a.adapted.learning.perVillager.a).toBe(2);
    expect(a.adapted.learning.refused.drift).toBe(1);
    expect(a.adapted.presentations.accepted).toBe(6);
    expect(a.adapted.learning.wrong).toBe(0);
    expect(a.cardConfirmed.learning.wrong).toBe(0);
    expect(a.cardConfirmedAttack.falseAccepts).toBe(0);
    expect(a.attack.nearestStranger.after).toBeGreaterThanOrEqual(0.4);
    // the terminal form names each variant with its figures
    const text = formatAdaptation(a);
    expect(text).toMatch(/no learning 不学习 +per frame [\d.]+ % \(\d+\/30\), FA 0\/10; per presentation [\d.]+ % \(5\/6\)/);
    expect(text).toMatch(/confident matches .*per presentation 100\.00 % \(6\/6\).*from the wrong person 0/);
    expect(text).toMatch(/attack 攻击 \(confident matches\) +5 days: strangers let in 0 of 10 presentations/);
  });

  it('a villager refused in a new light and let in by card is known by face on a later day when the maintainer confirms', () => {
    // day 0: all of c's frames 0.31–0.33 away (uncertain: beyond the threshold); day 1: the same light
    const cProbes = [0.29, 0.31, 0.32, 0.3, 0.33, 0.3, 0.31, 0.32, 0.33, 0.34].map((dist, i) => probe('c', true, unit(20, 21, at(dist) + (i >= 5 ? 0.01 : 0)), `c${i}`));
    const a = replayAdaptation(enrolled, ['s', 'a', 'b', 'c'], [...probes, ...cProbes], entry.match, adapt, 0);
    const cRefused = (r: typeof a.baseline) => r.presentations.genuine - r.presentations.accepted;
    expect(cRefused(a.baseline)).toBeGreaterThanOrEqual(2);
    expect(a.cardConfirmed.presentations.accepted).toBeGreaterThan(a.baseline.presentations.accepted);
    expect(a.cardConfirmed.learning.perVillager.c).toBe(1);
    expect(a.cardConfirmed.learning.wrong).toBe(0);
  });

  it('a look-alike stranger with a stolen card: the careful maintainer rejects the pending frame, the careless one teaches the door the stranger', () => {
    // t: a stranger 0.32–0.35 from b (uncertain toward b only, clear of everyone else), coming with b's card
    const tProbes = Array.from({ length: 10 }, (_, i) => probe('t', false, unit(10, 13, at(0.32 + (i % 4) * 0.01)), `t${i}`));
    const a = replayAdaptation(enrolled, ['t', 's', 'a', 'b', 'c'], [...probes, ...tProbes], entry.match, adapt, 3);
    expect(Value.Check(AdaptationSchema, a)).toBe(true);
    expect(a.cardConfirmed.card?.keptFromStranger).toBeGreaterThan(0);
    expect(a.cardConfirmed.card?.rejected).toBe(a.cardConfirmed.card?.keptFromStranger);
    expect(a.cardConfirmed.learning.wrong).toBe(0);
    expect(a.cardConfirmedAttack.wrongLearned).toBe(0);
    expect(a.cardConfirmedAttack.falseAccepts).toBe(0);
    // confirming everything files the stranger's face under b: the stranger then walks in as b
    expect(a.cardCareless.learning.wrong).toBeGreaterThan(0);
    expect(a.cardCareless.presentations.falseAccepts + a.cardCarelessAttack.falseAccepts).toBeGreaterThan(0);
    expect(formatAdaptation(a)).toMatch(/confirms all .*from strangers [1-9]/);
  });
});
