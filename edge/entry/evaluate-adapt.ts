/**
 * `faces evaluate --adapt`: the door learning at the door, replayed in time order.
 *
 * Everyone is enrolled from their first photos (in name order, which for the NUAA frames is
 * capture order: session, place, frame); then the other photos come to the door in rounds:
 * in round r each person (villagers and strangers, in the seeded order) presents their r-th
 * run of `match.n` consecutive photos, decided by the door's own k-of-n window against the
 * gallery *as it is at that moment*. Each round is one day (for `adapt.max_per_day`). With
 * adaptation on, a matched run may teach the gallery its deciding frame by the rules of
 * edge/entry/adapt.ts, exactly as the door would. The same replay with adaptation off is the
 * baseline, so the two differ only in the learning.
 *
 * Then the attack: for `attackRounds` more days the strangers present all their runs again
 * every day (a stranger trying repeatedly), while the villagers keep coming (their runs again)
 * and the door keeps learning. Counted: strangers let in, and templates learned from anyone
 * but the villager they were filed under.
 *
 * Card-confirmed learning (entry.adapt.card) is replayed as the door runs it: a run the door
 * calls `uncertain` is completed with a card, the villager's own for a villager and, for a
 * stranger, the card of the villager their face was nearest to (a stolen card: the worst
 * case); the rule of edge/entry/card-adapt.ts picks the pending frame or refuses; the next day
 * a maintainer reviews what is pending. Two maintainers: one who confirms only genuine
 * templates (`cardConfirmed`: a careful maintainer comparing the thumbnail with the villager),
 * and one who confirms everything (`cardCareless`), to show what carelessness costs.
 */
import { Type, type Static } from '@sinclair/typebox';
import { cohortScaled, Gallery } from '../../models/gallery.ts';
import type { MatchConfig } from './config.ts';
import { AdaptSchema, chooseSlot, confidentMatch, type AdaptConfig, type LearnRefusal } from './adapt.ts';
import { pendingFrame, type VillagerFaces } from './card-adapt.ts';
import { initialWindow, matchVerdict, stepWindow, type FrameVerdict } from './decision.ts';
import { verdictOf, type Probe } from './evaluate-metrics.ts';

/** A probe with its descriptor (kept in memory only, never in the JSON). */
export interface DescribedProbe extends Probe { descriptor: Float32Array | null }

const Int = Type.Integer();
const ReplaySchema = Type.Object({
  /** Every genuine photo, identified against the gallery of its moment: accepted as its own person (no-face ones count as refused). */
  frames: Type.Object({ genuine: Int, accepted: Int, tar: Type.Number(), impostor: Int, falseAccepts: Int }, { additionalProperties: false }),
  /** Runs of match.n photos through the k-of-n window (the door's presentations). */
  presentations: Type.Object({ genuine: Int, accepted: Int, tar: Type.Number(), impostor: Int, falseAccepts: Int }, { additionalProperties: false }),
  learning: Type.Object({
    learned: Int,
    replaced: Int,
    /** Learned from a photo of someone other than the villager it was filed under: must stay 0. */
    wrong: Int,
    refused: Type.Record(Type.String(), Int),
    /** Learned templates per villager at the end (villagers with none left out). */
    perVillager: Type.Record(Type.String(), Int),
  }, { additionalProperties: false }),
  /** Card-confirmed learning only: pending templates kept, confirmed and rejected by the maintainer, and refusals by the rule. */
  card: Type.Optional(Type.Object({
    uncertainWithCard: Int,
    kept: Int,
    /** Kept from a stranger carrying a villager's card. */
    keptFromStranger: Int,
    confirmed: Int,
    rejected: Int,
    refused: Type.Record(Type.String(), Int),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
export type Replay = Static<typeof ReplaySchema>;

const AttackSchema = Type.Object({
  rounds: Int,
  /** Stranger presentations during the attack days; false accepts: any presentation let in as another villager. */
  presentations: Int,
  falseAccepts: Int,
  /** Genuine presentations during the attack days (the villagers kept coming) and how many were let in. */
  genuinePresentations: Int,
  genuineAccepted: Int,
  /** Templates learned during the attack from a photo of anyone but the villager: must stay 0. */
  wrongLearned: Int,
  learned: Int,
  /**
   * The nearest any stranger's photo came to a villager, over the enrolled templates alone and
   * over the gallery after the attack: learning must not bring strangers closer.
   */
  nearestStranger: Type.Object({ enrolled: Type.Union([Type.Number(), Type.Null()]), after: Type.Union([Type.Number(), Type.Null()]) }, { additionalProperties: false }),
}, { additionalProperties: false });

export const AdaptationSchema = Type.Object({
  config: Type.Omit(AdaptSchema, ['enabled']),
  /** Days replayed: the most runs of match.n photos any person has. */
  rounds: Int,
  /** The same replay without learning. */
  baseline: ReplaySchema,
  /** Learning from confident matches only (what `entry.adapt` does at the door). */
  adapted: ReplaySchema,
  attack: AttackSchema,
  /**
   * Confident matches and card-confirmed learning (entry.adapt.card): an uncertain run completed
   * with a card leaves a pending template by the door's rule; the next day a careful maintainer
   * confirms the ones of the card's own villager and rejects the rest (simulated from the labels).
   */
  cardConfirmed: ReplaySchema,
  cardConfirmedAttack: AttackSchema,
  /** The same with a careless maintainer who confirms every pending template. */
  cardCareless: ReplaySchema,
  cardCarelessAttack: AttackSchema,
}, { additionalProperties: false });
export type Adaptation = Static<typeof AdaptationSchema>;

interface Person { person: string; genuine: boolean; runs: DescribedProbe[][] }

class LearningGallery {
  readonly gallery: Gallery;
  readonly learned = new Map<string, { d: Float32Array; day: number; from: string }[]>();
  constructor(private readonly enrolled: ReadonlyMap<string, Float32Array[]>, dimension: number) {
    this.gallery = new Gallery(1024, dimension);
    for (const [p, t] of enrolled) this.gallery.add(p, t);
  }

  /** Pending templates waiting for the maintainer (card-confirmed learning). */
  readonly pending: { villager: string; d: Float32Array; from: string }[] = [];

  /** Everyone's templates as the card rule reads them. */
  faces(): VillagerFaces[] {
    return [...this.enrolled].map(([villagerId, enrolled]) => ({ villagerId, enrolled, learned: (this.learned.get(villagerId) ?? []).map((l) => l.d) }));
  }

  /** `confirm`: a maintainer's confirmation, as edge/entry/pending-review.ts does it (no daily cap, anchored at the loose threshold at least). */
  learn(villager: string, d: Float32Array, day: number, from: string, cfg: AdaptConfig, confirm?: { uncertain_threshold: number }): 'add' | 'replace' | LearnRefusal {
    const list = this.learned.get(villager) ?? [];
    const today = confirm ? 0 : list.filter((l) => l.day === day).length;
    const rule = confirm ? { ...cfg, max_drift: Math.max(cfg.max_drift, confirm.uncertain_threshold) } : cfg;
    const slot = chooseSlot(this.enrolled.get(villager) ?? [], list.map((l) => l.d), d, today, rule);
    if (slot.action === 'skip') return slot.why;
    if (slot.action === 'add') list.push({ d, day, from });
    else list[slot.index] = { d, day, from };
    this.learned.set(villager, list);
    this.gallery.remove(villager);
    this.gallery.add(villager, [...(this.enrolled.get(villager) ?? []), ...list.map((l) => l.d)]);
    return slot.action;
  }
}

function emptyReplay(): Replay {
  return {
    frames: { genuine: 0, accepted: 0, tar: 0, impostor: 0, falseAccepts: 0 },
    presentations: { genuine: 0, accepted: 0, tar: 0, impostor: 0, falseAccepts: 0 },
    learning: { learned: 0, replaced: 0, wrong: 0, refused: {}, perVillager: {} },
  };
}

interface RunResult { decided: string | null; learned: 'add' | 'replace' | LearnRefusal | null; learnedFrom: string | null; learnedAs: string | null; card: 'kept' | string | null }

/**
 * `card`: card-confirmed learning on, with a maintainer who confirms only the card's own
 * villager's face (`careful`) or everything (`careless`).
 */
type Mode = { adapt: AdaptConfig; card: 'careful' | 'careless' | null } | null;

/** One run through a fresh k-of-n window; frame counts go into `r`. */
function presentRun(g: LearningGallery, run: readonly DescribedProbe[], match: MatchConfig, mode: Mode, day: number, r: Replay, countFrames: boolean): RunResult {
  const adapt = mode?.adapt ?? null;
  const seen: { v: FrameVerdict; p: DescribedProbe }[] = [];
  let state = initialWindow();
  let decided: string | null = null;
  let learned: RunResult['learned'] = null;
  let learnedFrom: string | null = null;
  let learnedAs: string | null = null;
  let card: string | null = null;
  for (const [j, p] of run.entries()) {
    const s = p.outcome === 'scored' && p.descriptor ? cohortScaled(g.gallery.search(p.descriptor, { cohort: match.cohort_scale !== undefined }), match.cohort_scale) : null;
    const v: FrameVerdict = s ? matchVerdict(s.best, s.second, match) : verdictOf(p, match);
    if (countFrames) {
      if (p.genuine) r.frames.genuine++;
      else if (p.outcome === 'scored') r.frames.impostor++;
      if (v.kind === 'candidate') {
        if (p.genuine && v.villagerId === p.person) r.frames.accepted++;
        else r.frames.falseAccepts++;
      }
    }
    if (decided !== null) continue;
    seen.push({ v, p });
    const window = [...state.window, v].slice(-match.n);
    const step = stepWindow(state, v, j, match);
    state = step.state;
    if (!step.outcome) continue;
    decided = step.outcome.kind === 'matched' ? step.outcome.villagerId : '';
    if (adapt && step.outcome.kind === 'matched' && p.descriptor) {
      const refusal = confidentMatch(window, step.outcome.villagerId, adapt);
      learned = refusal ?? g.learn(step.outcome.villagerId, p.descriptor, day, p.person, adapt);
      learnedFrom = p.person;
      learnedAs = step.outcome.villagerId;
    }
    if (adapt && mode?.card && step.outcome.kind === 'uncertain') {
      // the villager's own card; a stranger's is the card of the villager their face was nearest to (stolen)
      const cardOf = p.genuine ? p.person : step.outcome.nearest;
      const frames = seen.slice(-match.n);
      const choice = pendingFrame(frames.map((x) => ({ verdict: x.v, descriptor: x.p.descriptor })), cardOf, g.faces(), { uncertain_threshold: match.uncertain_threshold, margin: match.margin, min_novelty: adapt.min_novelty });
      if ('refused' in choice) card = choice.refused;
      else if (g.pending.filter((x) => x.villager === cardOf).length >= adapt.card.max_pending) card = 'pending_full';
      else {
        const kept = (frames[choice.index] as { p: DescribedProbe }).p;
        g.pending.push({ villager: cardOf, d: kept.descriptor as Float32Array, from: kept.person });
        card = 'kept';
      }
      // the card let them in: not a face acceptance
      decided = '';
    }
  }
  return { decided, learned, learnedFrom, learnedAs, card };
}

function tally(r: Replay, run: readonly DescribedProbe[], res: RunResult): void {
  const first = run[0] as DescribedProbe;
  if (first.genuine) r.presentations.genuine++;
  else r.presentations.impostor++;
  if (res.decided) {
    if (first.genuine && res.decided === first.person) r.presentations.accepted++;
    else r.presentations.falseAccepts++;
  }
  const l = res.learned;
  if (l === 'add' || l === 'replace') {
    if (l === 'add') r.learning.learned++;
    else r.learning.replaced++;
    if (res.learnedFrom !== res.learnedAs) r.learning.wrong++;
  } else if (l) {
    r.learning.refused[l] = (r.learning.refused[l] ?? 0) + 1;
  }
  if (res.card && r.card) {
    r.card.uncertainWithCard++;
    if (res.card === 'kept') {
      r.card.kept++;
      if (!first.genuine) r.card.keptFromStranger++;
    } else {
      r.card.refused[res.card] = (r.card.refused[res.card] ?? 0) + 1;
    }
  }
}

/**
 * The maintainer's daily review of what is pending: the careful one confirms a template only
 * when the face is the card's villager's (from the labels), the careless one confirms all.
 * A confirmation follows edge/entry/pending-review.ts. Returns [learned, learned wrong].
 */
function review(g: LearningGallery, mode: Mode, day: number, match: MatchConfig, r: Replay | null): [number, number] {
  if (!mode?.card) return [0, 0];
  let learned = 0;
  let wrong = 0;
  for (const p of g.pending.splice(0)) {
    if (mode.card === 'careful' && p.from !== p.villager) {
      if (r?.card) r.card.rejected++;
      continue;
    }
    const res = g.learn(p.villager, p.d, day, p.from, mode.adapt, { uncertain_threshold: match.uncertain_threshold });
    if (res !== 'add' && res !== 'replace') {
      // refused on confirmation (nothing new, or the villager's set is full): the maintainer is told and it is gone
      if (r?.card) r.card.refused[`confirm_${res}`] = (r.card.refused[`confirm_${res}`] ?? 0) + 1;
      continue;
    }
    learned++;
    if (p.from !== p.villager) wrong++;
    if (r) {
      if (r.card) r.card.confirmed++;
      if (res === 'add') r.learning.learned++;
      else r.learning.replaced++;
      if (p.from !== p.villager) r.learning.wrong++;
    }
  }
  return [learned, wrong];
}

function finish(r: Replay, g: LearningGallery): Replay {
  r.frames.tar = r.frames.genuine ? r.frames.accepted / r.frames.genuine : 0;
  r.presentations.tar = r.presentations.genuine ? r.presentations.accepted / r.presentations.genuine : 0;
  for (const [v, list] of g.learned) if (list.length) r.learning.perVillager[v] = list.length;
  return r;
}

/**
 * `order`: everyone (villagers and strangers) in the evaluation's seeded order; `probes`: each
 * person's photos after their enrolment ones, in name order.
 */
export function replayAdaptation(
  enrolled: ReadonlyMap<string, Float32Array[]>, order: readonly string[], probes: readonly DescribedProbe[],
  match: MatchConfig, adapt: AdaptConfig, attackRounds: number,
): Adaptation {
  const dimension = ([...enrolled.values()][0]?.[0] as Float32Array).length;
  const people: Person[] = [];
  for (const person of order) {
    const list = probes.filter((p) => p.person === person);
    if (!list.length) continue;
    const runs: DescribedProbe[][] = [];
    for (let i = 0; i < list.length; i += match.n) runs.push(list.slice(i, i + match.n));
    people.push({ person, genuine: (list[0] as DescribedProbe).genuine, runs });
  }
  const rounds = Math.max(0, ...people.map((p) => p.runs.length));

  const replay = (mode: Mode): { r: Replay; g: LearningGallery } => {
    const g = new LearningGallery(enrolled, dimension);
    const r = emptyReplay();
    if (mode?.card) r.card = { uncertainWithCard: 0, kept: 0, keptFromStranger: 0, confirmed: 0, rejected: 0, refused: {} };
    for (let day = 0; day < rounds; day++) {
      review(g, mode, day, match, r);
      for (const p of people) {
        const run = p.runs[day];
        if (!run) continue;
        const full = run.length === match.n;
        // a short last run is identified frame by frame, but is no presentation (as `presentations`)
        const res = presentRun(g, run, match, full ? mode : null, day, r, true);
        if (full) tally(r, run, res);
      }
    }
    return { r: finish(r, g), g };
  };
  const baseline = replay(null).r;
  const modes = { confident: { adapt, card: null }, careful: { adapt, card: 'careful' }, careless: { adapt, card: 'careless' } } as const;
  const confident = replay(modes.confident);
  const careful = replay(modes.careful);
  const careless = replay(modes.careless);
  const { enabled: _e, ...config } = adapt;
  const enrolledOnly = new LearningGallery(enrolled, dimension).gallery;
  return {
    config, rounds, baseline,
    adapted: confident.r, attack: attackOn(confident.g, people, match, modes.confident, rounds, attackRounds, enrolledOnly),
    cardConfirmed: careful.r, cardConfirmedAttack: attackOn(careful.g, people, match, modes.careful, rounds, attackRounds, enrolledOnly),
    cardCareless: careless.r, cardCarelessAttack: attackOn(careless.g, people, match, modes.careless, rounds, attackRounds, enrolledOnly),
  };
}

/**
 * The strangers come back every day for `attackRounds` days, presenting all their runs, while
 * the villagers keep coming and the door keeps learning (from where the replay left it).
 */
function attackOn(g: LearningGallery, people: readonly Person[], match: MatchConfig, mode: Mode, firstDay: number, attackRounds: number, enrolledOnly: Gallery): Adaptation['attack'] {
  const strangerPhotos = people.filter((p) => !p.genuine).flatMap((p) => p.runs.flat()).map((p) => p.descriptor).filter((d): d is Float32Array => d !== null);
  const nearestIn = (gal: Gallery): number | null => strangerPhotos.reduce<number | null>((m, d) => {
    const b = gal.search(d).best?.distance;
    return b === undefined ? m : m === null ? b : Math.min(m, b);
  }, null);
  const attack = { rounds: attackRounds, presentations: 0, falseAccepts: 0, genuinePresentations: 0, genuineAccepted: 0, wrongLearned: 0, learned: 0, nearestStranger: { enrolled: nearestIn(enrolledOnly), after: null as number | null } };
  const scratch = emptyReplay();
  for (let a = 0; a < attackRounds; a++) {
    const [learned, wrong] = review(g, mode, firstDay + a, match, null);
    attack.learned += learned;
    attack.wrongLearned += wrong;
    for (const p of people) {
      for (const run of p.runs) {
        if (run.length !== match.n) continue;
        const res = presentRun(g, run, match, mode, firstDay + a, scratch, false);
        if (p.genuine) {
          attack.genuinePresentations++;
          if (res.decided === p.person) attack.genuineAccepted++;
        } else {
          attack.presentations++;
        }
        if (res.decided && res.decided !== p.person) attack.falseAccepts++;
        if (res.learned === 'add' || res.learned === 'replace') {
          attack.learned++;
          if (res.learnedFrom !== res.learnedAs) attack.wrongLearned++;
        }
      }
    }
  }
  attack.nearestStranger.after = nearestIn(g.gallery);
  return attack;
}
