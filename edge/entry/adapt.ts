/**
 * Template adaptation ("learning at the door"): after a confident, unambiguous, liveness-passed
 * face match, the frame that decided it may become an extra template of that villager, so a
 * villager enrolled in one light is also known in the door's other lights.
 *
 * Pure rules, shared by the door (edge/entry/door-learning.ts) and `faces evaluate --adapt`
 * (edge/entry/evaluate-adapt.ts), so that what is measured is what the door does. The rules
 * are deliberately much stricter than the door's accept rule: a template learned from a
 * stranger would let that stranger in next time and pull the villager's templates toward
 * them (drift). So a frame is learned only when
 *  - the door decided `matched` on its own (no challenge, no IR doubt, no card or QR code),
 *  - every frame of the window that was near anyone was near this villager only,
 *  - the deciding frame lies within `max_distance` (well under `match.threshold`) of the
 *    villager's templates and the runner-up villager is at least `min_margin` farther
 *    (well over `match.margin`),
 *  - it adds something (at least `min_novelty` from every template of the villager),
 *  - it stays within `max_drift` of an enrolled template (the anchor: learned templates may
 *    follow a villager into another light, never walk off one day at a time),
 *  - the villager has learned fewer than `max_per_day` templates today;
 * and at most `max_per_villager` learned templates are kept: when full, the new frame replaces
 * the most redundant learned one only if that keeps the set more spread out (diversity).
 * Enrolled templates are never replaced.
 */
import type { FrameVerdict } from './decision.ts';

// The config's shape lives apart (adapt-schema.ts), so that entry/config.ts need not import these rules.
export { AdaptSchema, type AdaptConfig } from './adapt-schema.ts';
import type { AdaptConfig } from './adapt-schema.ts';

type Candidate = Extract<FrameVerdict, { kind: 'candidate' }>;

export type LearnRefusal =
  | 'not_confident'   // distance or margin outside the strict rule
  | 'ambiguous'       // another villager was near in the same window
  | 'not_novel'       // too close to a template the villager already has
  | 'drift'           // too far from the enrolled templates (anchor)
  | 'daily_cap'       // learned enough today
  | 'not_more_diverse'; // full, and the frame would not spread the set

/**
 * Does the window that decided `matched` for `villagerId` allow learning its deciding frame?
 * `window` is the window's verdicts including the deciding one (last).
 */
export function confidentMatch(window: readonly FrameVerdict[], villagerId: string, cfg: Pick<AdaptConfig, 'max_distance' | 'min_margin'>): LearnRefusal | null {
  for (const w of window) {
    if ((w.kind === 'candidate' || w.kind === 'uncertain') && w.villagerId !== villagerId) return 'ambiguous';
    // a spoof-judged frame in the window means the presentation was not clean
    if (w.kind === 'spoof') return 'ambiguous';
  }
  const last = window[window.length - 1];
  if (!last || last.kind !== 'candidate' || last.villagerId !== villagerId) return 'not_confident';
  const c = last as Candidate;
  if (c.distance > cfg.max_distance || c.margin < cfg.min_margin) return 'not_confident';
  return null;
}

export function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

const nearest = (d: Float32Array, set: readonly Float32Array[]): number => set.reduce((m, t) => Math.min(m, l2(d, t)), Infinity);

export type SlotChoice = { action: 'add' } | { action: 'replace'; index: number } | { action: 'skip'; why: LearnRefusal };

/**
 * Where a new frame goes among the villager's templates: added while there is room, else in
 * place of the learned template nearest to the others (the most redundant), when the new
 * frame is farther from the rest than that one was: the kept set stays spread out.
 * `learnedToday` counts this villager's templates learned today.
 */
export function chooseSlot(enrolled: readonly Float32Array[], learned: readonly Float32Array[], fresh: Float32Array, learnedToday: number, cfg: Pick<AdaptConfig, 'min_novelty' | 'max_per_villager' | 'max_per_day' | 'max_drift'>): SlotChoice {
  if (learnedToday >= cfg.max_per_day) return { action: 'skip', why: 'daily_cap' };
  if (nearest(fresh, enrolled) > cfg.max_drift) return { action: 'skip', why: 'drift' };
  if (nearest(fresh, [...enrolled, ...learned]) < cfg.min_novelty) return { action: 'skip', why: 'not_novel' };
  if (learned.length < cfg.max_per_villager) return { action: 'add' };
  let worst = -1;
  let worstD = Infinity;
  for (let i = 0; i < learned.length; i++) {
    const others = [...enrolled, ...learned.filter((_, j) => j !== i)];
    const d = nearest(learned[i] as Float32Array, others);
    if (d < worstD) { worstD = d; worst = i; }
  }
  const freshD = nearest(fresh, [...enrolled, ...learned.filter((_, j) => j !== worst)]);
  return freshD > worstD ? { action: 'replace', index: worst } : { action: 'skip', why: 'not_more_diverse' };
}
