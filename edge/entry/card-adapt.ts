/**
 * Card-confirmed learning, the pure rule (shared by the door, edge/entry/card-learning.ts, and
 * `faces evaluate --adapt`, edge/entry/evaluate-adapt.ts): which frame of an `uncertain` window
 * may become a *pending* template of the villager whose own card or QR code then opened the door.
 *
 * The card says who came in, not whose face the camera saw: a stranger may carry a villager's
 * card. So a frame is kept only if the face is that villager's by the door's own measure,
 * short of the strict threshold:
 *  - no frame of the window was judged a spoof, and no frame was nearer another villager than
 *    the card's (else the whole window is refused: `spoof_in_window`, `nearer_other`);
 *  - the frame is ahead of every other villager by at least `match.margin` (`ambiguous`);
 *  - it lies within `match.uncertain_threshold` (the loose one) of the villager's *enrolled*
 *    templates (the anchor; else `beyond_loose`), so pending templates never walk away from
 *    the enrolment;
 *  - it adds something: at least `adapt.min_novelty` from each of their templates (`not_novel`).
 * Of the frames that pass, the one nearest the villager is kept. It is still only pending: a
 * maintainer confirms it before it takes part in matching.
 */
import { l2 } from './adapt.ts';
import type { FrameVerdict } from './decision.ts';

export type CardLearnRefusal = 'spoof_in_window' | 'no_descriptor' | 'not_enrolled' | 'nearer_other' | 'ambiguous' | 'beyond_loose' | 'not_novel';

export interface WindowFrame { verdict: FrameVerdict; descriptor: Float32Array | null }
export interface OwnFaces { enrolled: readonly Float32Array[]; learned: readonly Float32Array[] }
export interface VillagerFaces extends OwnFaces { villagerId: string }
/** For the frame at `index` of the window (descriptor `d`): the distance to the nearest template of any villager but the card's. */
export type NearestOther = (index: number, d: Float32Array) => number;

export interface PendingChoice {
  /** Index of the kept frame in the window. */
  index: number;
  /** To the villager's nearest template (enrolled or learned), to the enrolled ones alone, and the lead over the next villager. */
  distance: number;
  enrolledDistance: number;
  margin: number;
}

export interface CardRule { uncertain_threshold: number; margin: number; min_novelty: number }

const nearest = (d: Float32Array, set: readonly Float32Array[]): number => set.reduce((m, t) => Math.min(m, l2(d, t)), Infinity);

// when no frame passes, the reason reported is the gravest one met
const GRAVITY: readonly CardLearnRefusal[] = ['ambiguous', 'beyond_loose', 'not_novel'];

/**
 * The rule over a window, with the card's villager's own templates in hand (`own`; undefined:
 * never enrolled) and, for every frame with a descriptor, the distance to the nearest template of
 * any other villager (`nearestOther`). The door takes that distance from the recogniser's top-2 of
 * the frame, computed where the gallery lives (card-learning.ts); the replay from its gallery.
 */
export function choosePending(window: readonly WindowFrame[], own: OwnFaces | undefined, nearestOther: NearestOther, rule: CardRule): PendingChoice | { refused: CardLearnRefusal } {
  if (window.some((f) => f.verdict.kind === 'spoof')) return { refused: 'spoof_in_window' };
  if (!own || own.enrolled.length === 0) return { refused: 'not_enrolled' };
  const mine = [...own.enrolled, ...own.learned];
  let best: PendingChoice | null = null;
  const met = new Set<CardLearnRefusal>();
  let described = 0;
  for (const [index, f] of window.entries()) {
    const d = f.descriptor;
    if (!d) continue;
    described++;
    const distance = nearest(d, mine);
    const margin = Math.min(2, nearestOther(index, d)) - distance;
    // one face nearer someone else and the card is not evidence for any frame of this window
    if (margin < 0) return { refused: 'nearer_other' };
    const enrolledDistance = nearest(d, own.enrolled);
    if (margin < rule.margin) met.add('ambiguous');
    else if (enrolledDistance > rule.uncertain_threshold) met.add('beyond_loose');
    else if (distance < rule.min_novelty) met.add('not_novel');
    else if (!best || distance < best.distance) best = { index, distance, enrolledDistance, margin };
  }
  if (best) return best;
  if (!described) return { refused: 'no_descriptor' };
  return { refused: GRAVITY.find((r) => met.has(r)) as CardLearnRefusal };
}

/** The rule with every villager's templates in hand (the replay, `faces evaluate --adapt`). */
export function pendingFrame(window: readonly WindowFrame[], villagerId: string, gallery: readonly VillagerFaces[], rule: CardRule): PendingChoice | { refused: CardLearnRefusal } {
  const others = gallery.filter((g) => g.villagerId !== villagerId);
  return choosePending(window, gallery.find((g) => g.villagerId === villagerId), (_index, d) => others.reduce((m, g) => Math.min(m, nearest(d, g.enrolled), nearest(d, g.learned)), Infinity), rule);
}

/** A recogniser's top-2 by identity for one frame (models/gallery.ts `GallerySearch`). */
export interface TopTwo { best: { villagerId: string; distance: number } | null; second: { villagerId: string; distance: number } | null }

/**
 * The distance to the nearest villager other than `villagerId`, read off the top-2 by identity:
 * the best hit unless it is the villager, else the runner-up (none: no one else is enrolled).
 */
export function nearestOtherThan(top: TopTwo, villagerId: string): number {
  const hit = top.best?.villagerId === villagerId ? top.second : top.best;
  return hit ? hit.distance : Infinity;
}
