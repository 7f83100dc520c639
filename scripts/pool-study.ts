/**
 * Offline study (issue #8): probe-side temporal pooling. Within one presentation, the door
 * could decide on the mean of the descriptors seen so far (scaled to unit length again) instead
 * of on each frame: single-frame noise averages out, for villagers and strangers alike. Read
 * from `faces evaluate --cache` files through `faces evaluate`'s own enrolment and presentation
 * cutting (scripts/cached-runs.ts, `presentationRuns`), no model run:
 *
 *   npx tsx scripts/pool-study.ts --cache-dir /work/data/cache \
 *     [--sets nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a] [--enrol5 nuaa-client,nuaa-client-dim]
 *     [--seeds 1,2,3] [--door nuaa-client,nuaa-client-dim] [--min-frames 2]
 *   npx tsx scripts/pool-study.ts --cache-dir … --sets lfw-western-b,asian-celeb --enrol5 '' \
 *     --apply frame:0.30:0.11,pooled:T:M,either:T:M:TF:MF
 *   npx tsx scripts/pool-study.ts --cache-dir … --runs nuaa-client:5+3:1-3,famous-cn:1:1-10,… \
 *     --either-only [--frame 0.205:0.08] [--json FILE]
 *
 * --runs SET:ENROLS:SEEDS,… names each set's enrolments (3, 5, 1; '+' for several) and seeds (a range)
 * and replaces --sets / --enrol5 / --seeds. --frame T:M is the frame vote's point for `either`
 * (default: the shipped entry.match point); --either-only calibrates only `either` at that frame
 * point (no frame safe point, no pool alone). --json FILE writes every reported run's tallies.
 *
 * Rules (a presentation: one person's probes in file order, runs of match.n = 5):
 * - `frame`: the shipped per-frame rule, k 2 of n 5 through the door's stepWindow;
 * - `pooled`: after each frame, the unit mean of the presentation's scored frames so far (no-face
 *   and low-quality frames skipped) is searched in the gallery like a frame (best and second
 *   villager, threshold, margin); the door opens once at least --min-frames frames are pooled
 *   and the pooled descriptor names a villager;
 * - `either`: the door opens when the per-frame rule (at its own point TF / MF) or the pooled
 *   rule names a villager (both naming different ones at the same frame: not opened).
 * Each is calibrated by docs/face-thresholds.md's rule: zero false accepts on every run also at threshold
 * + 0.02 and margin − 0.02. For `frame` that is `safePoint` (every single frame). For the pooled
 * part, every pooled prefix of ≥ --min-frames frames in *every* window of n consecutive probes
 * (stride 1, not only the cut presentations; a person with fewer probes is one shorter window)
 * must not name a wrong villager. Among safe points:
 * the most presentations accepted on the --door runs, then the mean share of genuine sliding
 * windows that open, then the smallest threshold. The cache files are `<cache-dir>/<set>.json`.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEntryConfig, type MatchConfig } from '../edge/entry/config.ts';
import { initialWindow, poolSum, stepWindow, withPool } from '../edge/entry/decision.ts';
import { marginGrid, pointAt, presentationRuns, presentations, safePoint, verdictOf, type Probe } from '../edge/entry/evaluate-metrics.ts';
import type { DescribedProbe } from '../edge/entry/evaluate-adapt.ts';
import { Gallery, pooledQuery, type GallerySearch } from '../models/gallery.ts';
import { cachedRuns, readCaches, type CachedRun } from './cached-runs.ts';

const { values: o } = parseArgs({
  options: {
    'cache-dir': { type: 'string', default: '/work/data/cache' }, root: { type: 'string', default: '/work/data/faces' },
    sets: { type: 'string', default: 'nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a' }, enrol5: { type: 'string', default: 'nuaa-client,nuaa-client-dim' },
    seeds: { type: 'string', default: '1,2,3' }, door: { type: 'string', default: 'nuaa-client,nuaa-client-dim' },
    'min-frames': { type: 'string', default: '2' }, 'max-step': { type: 'string' }, explore: { type: 'boolean', default: false }, margins: { type: 'string', default: '0.02,0.30' }, apply: { type: 'string' },
    runs: { type: 'string' }, frame: { type: 'string' }, 'either-only': { type: 'boolean', default: false }, json: { type: 'string' },
  },
});
const list = (s: string): string[] => s.split(',').filter(Boolean);
const sets = list(o.sets);
const enrol5 = list(o.enrol5);
const seeds = list(o.seeds).map(Number);
const doorSets = new Set(list(o.door));
const minFrames = Number(o['min-frames']);
interface Point { t: number; m: number }
const SAFETY = 0.02;
const match: MatchConfig = resolveEntryConfig({}).match;
// --frame T:M: the frame vote's point for `either` (default: the shipped entry.match point)
const shippedFrame: Point = o.frame ? (([t, m]) => ({ t: t as number, m: m as number }))(o.frame.split(':').map(Number)) : { t: match.threshold, m: match.margin };
// the schema's min_frames and max_step (a face farther from the pool's mean starts a new pool)
const poolDefaults = { ...(resolveEntryConfig({ match: { pool: { min_frames: minFrames, ...(o['max-step'] ? { max_step: Number(o['max-step']) } : {}) } } }).match.pool as NonNullable<MatchConfig['pool']>) };
const n = match.n;

/** One window of consecutive probes with the pooled search at each frame (null: no descriptor) and the pool's size after it. */
interface Window { person: string; genuine: boolean; frames: DescribedProbe[]; pooled: Array<{ count: number; s: GallerySearch | null }> }
interface Run { key: string; set: string; door: boolean; probes: Probe[]; cut: Window[]; sliding: Window[] }

/** The door's config for a rule: frame point (none: a frame never names anyone), pool point (none: pooling off). */
const configOf = (frame: Point | null, pool: Point | null): MatchConfig => ({
  ...match,
  threshold: frame ? frame.t : -1, margin: frame ? frame.m : 2, uncertain_threshold: frame ? frame.t : -1,
  pool: pool ? { ...poolDefaults, threshold: pool.t, margin: pool.m } : undefined,
});

/**
 * The pooled searches of a window, through the door's own pool (stepWindow, poolSum, withPool) with
 * nothing ever deciding: until a rule's first decision its pool is this one, so any threshold and
 * margin can be tried on them without searching again.
 */
function windowOf(gallery: Gallery, frames: DescribedProbe[]): Window {
  // n beyond the window's length: no window decision resets the pool before the last frame's count is read
  const never = { ...configOf(null, { t: -1, m: 2 }), n: frames.length + 1 };
  let state = initialWindow();
  const pooled = frames.map((p, j) => {
    const d = p.descriptor ?? undefined;
    const sum = poolSum(state, never);
    const s = d && sum ? gallery.search(pooledQuery(sum, d)) : null;
    state = stepWindow(state, withPool(verdictOf(p, never), d, s, never), j, never).state;
    return { count: state.pool?.count ?? 0, s };
  });
  const first = frames[0] as DescribedProbe;
  return { person: first.person, genuine: first.genuine, frames, pooled };
}

function prepare(r: CachedRun): Run {
  const gallery = new Gallery(1024, ([...r.own.values()][0]?.[0] as Float32Array).length);
  for (const [person, templates] of r.own) gallery.add(person, templates);
  const cut = presentationRuns(r.probes, n).map((w) => windowOf(gallery, w));
  const byPerson = new Map<string, DescribedProbe[]>();
  for (const p of r.probes) byPerson.set(p.person, [...(byPerson.get(p.person) ?? []), p]);
  const sliding: Window[] = [];
  // a person with fewer than n probes (ordinary photos) is one shorter window, so that their frames are checked too
  for (const ps of byPerson.values()) for (let i = 0; i + Math.min(n, ps.length) <= ps.length && ps.length >= minFrames; i++) sliding.push(windowOf(gallery, ps.slice(i, i + Math.min(n, ps.length))));
  return { key: r.key, set: r.set, door: doorSets.has(r.set), probes: r.probes, cut, sliding };
}

const marginOf = (s: GallerySearch): number => (s.best ? (s.second ? s.second.distance - s.best.distance : 2 - s.best.distance) : -1);

type Rule = { kind: 'frame'; frame: Point } | { kind: 'pooled'; pool: Point } | { kind: 'either'; frame: Point; pool: Point };

/** Whom the door lets in for this window under the rule ('' none): its stepWindow with entry.match.pool, the first decision. */
function decide(w: Window, rule: Rule): string {
  const cfg = configOf(rule.kind === 'pooled' ? null : rule.frame, rule.kind === 'frame' ? null : rule.pool);
  let state = initialWindow();
  for (const [j, p] of w.frames.entries()) {
    const r = stepWindow(state, withPool(verdictOf(p, cfg), p.descriptor ?? undefined, w.pooled[j]?.s, cfg), j, cfg);
    state = r.state;
    if (r.outcome) return r.outcome.kind === 'matched' ? r.outcome.villagerId : '';
  }
  return '';
}

interface Tally { accepted: number; genuine: number; fa: number; impostor: number }
function tally(ws: readonly Window[], rule: Rule): Tally {
  const t: Tally = { accepted: 0, genuine: 0, fa: 0, impostor: 0 };
  for (const w of ws) {
    const who = decide(w, rule);
    if (w.genuine) t.genuine++;
    else t.impostor++;
    if (!who) continue;
    if (w.genuine && who === w.person) t.accepted++;
    else t.fa++;
  }
  return t;
}

const shifted = (p: Point): Point => ({ t: p.t + SAFETY, m: p.m - SAFETY });
const shiftRule = (rule: Rule): Rule => (rule.kind === 'frame' ? { kind: 'frame', frame: shifted(rule.frame) } : rule.kind === 'pooled' ? { kind: 'pooled', pool: shifted(rule.pool) } : { kind: 'either', frame: shifted(rule.frame), pool: shifted(rule.pool) });

/** Every pooled prefix (≥ minFrames) of every sliding window that names someone other than the person: [distance, margin, "run person→villager"]. */
function falsePooled(runs: readonly Run[]): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  for (const r of runs) for (const w of r.sliding) for (const pj of w.pooled) {
    if (pj.count < minFrames || !pj.s?.best) continue;
    if (w.genuine && pj.s.best.villagerId === w.person) continue;
    out.push([pj.s.best.distance, marginOf(pj.s), `${r.key} ${w.person}→${pj.s.best.villagerId}`]);
  }
  return out;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The pooled part's point by the safety rule (frame: the per-frame part of `either`, already safe on its own). */
function calibratePooled(runs: readonly Run[], frame: Point | null): { pool: Point; door: number; doorGenuine: number } | null {
  const falses = falsePooled(runs);
  const [mFrom, mTo] = o.margins.split(',').map(Number) as [number, number];
  // thresholds beyond the farthest pooled distance change nothing
  const farthest = Math.max(...runs.flatMap((r) => r.sliding.flatMap((w) => w.pooled.map((pj) => pj.s?.best?.distance ?? 0))));
  type Best = { pool: Point; door: number; doorGenuine: number; windows: number };
  let best: Best | null = null as Best | null;
  for (const m of marginGrid(mFrom, mTo)) {
    const limit = Math.min(2 + SAFETY, ...falses.filter(([, fm]) => fm >= m - SAFETY).map(([d]) => d));
    const bestBefore: Best | null = best;
    const tMax = Math.floor(Math.min(limit - SAFETY - 1e-9, farthest + 0.005) * 200) / 200;
    for (let t = tMax; t >= 0.1; t = r3(t - 0.005)) {
      const rule: Rule = frame ? { kind: 'either', frame, pool: { t, m } } : { kind: 'pooled', pool: { t, m } };
      let door = 0, doorGenuine = 0, windows = 0;
      for (const r of runs) if (r.door) { const c = tally(r.cut, rule); door += c.accepted; doorGenuine += c.genuine; }
      // the sliding windows only break ties (they are most of the work)
      if (best && door < best.door && !(o.explore && t === tMax)) continue;
      for (const r of runs) {
        const s = tally(r.sliding, rule);
        windows += s.genuine ? s.accepted / s.genuine : 0;
      }
      windows /= runs.length;
      if (!best || door > best.door || (door === best.door && (windows > best.windows + 1e-9 || (Math.abs(windows - best.windows) < 1e-9 && t < best.pool.t)))) best = { pool: { t, m }, door, doorGenuine, windows };
      if (o.explore && t === tMax) {
        const by = falses.filter(([d, fm]) => fm >= m - SAFETY && d === limit).map(([, , k]) => k);
        out(`  margin ${m}: nearest false pooled prefix ${limit.toFixed(3)} (${by.join(' ')}), largest safe threshold ${t}: door ${door}/${doorGenuine}`);
      }
    }
    if (o.explore && best !== bestBefore && best) out(`    best so far ${best.pool.t} / ${best.pool.m}: door ${best.door}`);
  }
  return best;
}

const out = (line = ''): void => { process.stdout.write(`${line}\n`); };
const describe = (rule: Rule): string => {
  const p = (x: Point) => `${x.t} / ${x.m}`;
  return rule.kind === 'frame' ? `frame ${p(rule.frame)}` : rule.kind === 'pooled' ? `pooled ${p(rule.pool)} (≥ ${minFrames} frames)` : `either: frame ${p(rule.frame)} or pooled ${p(rule.pool)} (≥ ${minFrames} frames)`;
};

const records: unknown[] = [];
function report(runs: readonly Run[], rule: Rule): void {
  out(describe(rule));
  const sum = { accepted: 0, genuine: 0 };
  for (const r of runs) {
    const c = tally(r.cut, rule);
    const cs = tally(r.cut, shiftRule(rule));
    const ss = tally(r.sliding, shiftRule(rule));
    const sw = tally(r.sliding, rule);
    if (r.door) { sum.accepted += c.accepted; sum.genuine += c.genuine; }
    const ps = tally(r.sliding, rule);
    // the calibration's own criterion: pooled prefixes (≥ min-frames) of any sliding window naming a wrong villager, at the pool's point and shifted
    const fp = rule.kind === 'frame' ? [] : falsePooled([r]);
    const pp = rule.kind === 'frame' ? null : rule.pool;
    const prefixFa = pp ? fp.filter(([d, fm]) => d <= pp.t + 1e-9 && fm >= pp.m - 1e-9).length : 0;
    const prefixFaShifted = pp ? fp.filter(([d, fm]) => d <= pp.t + SAFETY + 1e-9 && fm >= pp.m - SAFETY - 1e-9).length : 0;
    const nearest = fp.length ? Math.min(...fp.filter(([, fm]) => !pp || fm >= pp.m - SAFETY - 1e-9).map(([d]) => d)) : null;
    records.push({ rule: describe(rule), kind: rule.kind, frame: rule.kind === 'pooled' ? null : rule.frame, pool: rule.kind === 'frame' ? null : rule.pool, run: r.key, set: r.set, cut: c, cutShifted: cs, sliding: sw, slidingShifted: ss, slidingFaAtPoint: ps.fa, prefixFa, prefixFaShifted, nearestFalsePrefix: nearest, frameTar: rule.kind === 'pooled' ? null : pointAt(r.probes, rule.frame.t, rule.frame.m).tar });
    const frames = rule.kind === 'pooled' ? '' : ` frames ${(100 * pointAt(r.probes, rule.frame.t, rule.frame.m).tar).toFixed(1)} %`;
    out(`  ${r.key.padEnd(22)} presentations ${`${c.accepted}/${c.genuine}`.padStart(5)} FA ${c.fa}/${c.impostor}  at +0.02/−0.02: FA ${cs.fa}, sliding windows FA ${ss.fa}/${ss.genuine + ss.impostor} (at the point ${ps.fa})  genuine windows opened ${sw.accepted}/${sw.genuine}${frames}${pp ? `  false pooled prefixes ${prefixFa} (shifted ${prefixFaShifted}, nearest ${nearest === null || !Number.isFinite(nearest) ? '-' : nearest.toFixed(3)})` : ''}`);
  }
  out(`  door runs (${[...doorSets].join(', ')}): ${sum.accepted}/${sum.genuine}`);
}

/** --runs SET:E[+E…]:S-S[,…] (e.g. nuaa-client:5+3:1-3,famous-cn:1:1-10): each set with its enrolments and seeds; replaces --sets/--enrol5/--seeds. */
const runSpecs: Array<{ set: string; enrols: number[]; seeds: number[] }> = o.runs
  ? list(o.runs).map((spec) => {
    const [set, e, ss] = spec.split(':') as [string, string, string];
    const [a, b] = (ss ?? '1-3').split('-').map(Number) as [number, number];
    return { set, enrols: (e ?? '3').split('+').map(Number), seeds: Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i) };
  })
  : sets.map((set) => ({ set, enrols: enrol5.includes(set) ? [3, 5] : [3], seeds }));
let cachedAll: CachedRun[] = [];
for (const { set, enrols, seeds: ss } of runSpecs) {
  const cache = await readCaches([path.join(o['cache-dir'], `${set}.json`)]);
  for (const e of enrols) cachedAll = cachedAll.concat(await cachedRuns(cache, o.root, [set], ss, e));
}
const runs = cachedAll.map(prepare);

if (o.apply) {
  for (const spec of list(o.apply)) {
    const [kind, ...xs] = spec.split(':');
    const [a, b, c, d] = xs.map(Number) as [number, number, number, number];
    const rule: Rule = kind === 'frame' ? { kind, frame: { t: a, m: b } } : kind === 'pooled' ? { kind, pool: { t: a, m: b } } : { kind: 'either', pool: { t: a, m: b }, frame: { t: c, m: d } };
    report(runs, rule);
  }
} else if (o.explore) {
  // each margin's largest safe threshold for the pooled rule, and what limits it (--either-only: with the frame vote at --frame)
  calibratePooled(runs, o['either-only'] ? shippedFrame : null);
} else if (o['either-only']) {
  // only `either` with the frame vote at --frame (default the shipped point): the option's point for that frame point
  report(runs, { kind: 'frame', frame: shippedFrame });
  const either = calibratePooled(runs, shippedFrame);
  if (either) report(runs, { kind: 'either', frame: shippedFrame, pool: either.pool });
  else out('either: no safe point');
} else {
  report(runs, { kind: 'frame', frame: { t: match.threshold, m: match.margin } });
  const [mFrom, mTo] = o.margins.split(',').map(Number) as [number, number];
  const sp = safePoint(runs.map((r) => ({ probes: r.probes, door: r.door })), match, marginGrid(mFrom, mTo));
  if (!sp) out('frame: no safe point');
  const frame = sp ? { t: sp.threshold, m: sp.margin } : null;
  if (frame) report(runs, { kind: 'frame', frame });
  const pooled = calibratePooled(runs, null);
  if (pooled) report(runs, { kind: 'pooled', pool: pooled.pool });
  else out('pooled: no safe point');
  for (const f of [frame, shippedFrame]) {
    if (!f) continue;
    const either = calibratePooled(runs, f);
    if (either) report(runs, { kind: 'either', frame: f, pool: either.pool });
  }
  // the frame rule's own check on presentations, to compare with faces evaluate's figures
  for (const r of runs.slice(0, 1)) out(`check ${r.key}: faces evaluate's presentations at the shipped point ${JSON.stringify(presentations(r.probes, match))}`);
}
if (o.json) await writeFile(o.json, JSON.stringify(records, null, 1));
