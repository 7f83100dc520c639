/**
 * Offline study (issue #8): other ways to score a probe against the gallery than the shipped
 * "nearest template of each villager", each calibrated by docs/face-thresholds.md's safety rule
 * (`safePoint`: zero false accepts on every run even at threshold + 0.02 and margin − 0.02) on
 * `faces evaluate --cache` files, through `faces evaluate`'s own enrolment and the door's k-of-n
 * window, without running a model:
 *
 *   npx tsx scripts/score-rules.ts --cache CACHE.json --sets nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a \
 *     [--seeds 1,2,3] [--enrol 3] [--rules min,mean2,probe-norm,template-norm] [--margins 0.02,0.20]
 *     [--apply RULE:T:M --sets lfw-western-b,asian-celeb]
 *
 * Rules (d_v: the probe's distance to villager v's nearest template):
 * - `min`: d_v, as the door does (a check: it reproduces `faces evaluate`);
 * - `mean2`: the mean of the probe's two nearest templates of v (several templates combined);
 * - `probe-norm`: d_v · C / μ_p, μ_p the probe's mean d_v over the whole gallery (a probe near
 *   everyone is scaled up), C the same mean for the enrolled templates themselves (cohort
 *   normalisation on the probe's side);
 * - `probe-ratio`: d_v / μ_p, without the gallery's constant (what a door can compute per frame
 *   without a pass over the gallery's templates: the threshold is then a ratio);
 * - `template-norm`: d_v · C / μ_v, μ_v the mean distance of v's templates to the other
 *   villagers (a villager who looks like many others is scaled up; Z-norm's scale on the gallery's side).
 * The cache (one file, or several joined by commas) must hold one recognizer and every photo of the runs.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEntryConfig } from '../edge/entry/config.ts';
import { l2 } from '../edge/entry/adapt.ts';
import { marginGrid, pointAt, presentations, safePoint, type Probe } from '../edge/entry/evaluate-metrics.ts';
import { cachedRuns, readCaches } from './cached-runs.ts';

const { values: o } = parseArgs({
  options: {
    cache: { type: 'string' }, root: { type: 'string', default: '/work/data/faces' }, sets: { type: 'string' },
    seeds: { type: 'string', default: '1,2,3' }, door: { type: 'string', default: 'nuaa-client' }, enrol: { type: 'string', default: '3' },
    rules: { type: 'string', default: 'min,mean2,probe-norm,template-norm' }, margins: { type: 'string', default: '0.02,0.20' }, apply: { type: 'string' },
  },
});
if (!o.cache || !o.sets) {
  console.error('usage: score-rules.ts --cache CACHE.json[,CACHE2.json] --sets s1,s2 [--seeds 1,2,3] [--enrol 3] [--rules …] [--apply RULE:T:M]');
  process.exit(2);
}
let cache;
try {
  cache = await readCaches(o.cache.split(','));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const entry = resolveEntryConfig({});

type Rule = 'min' | 'mean2' | 'probe-norm' | 'probe-ratio' | 'template-norm';
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const minTo = (d: Float32Array, templates: readonly Float32Array[]): number => Math.min(...templates.map((t) => l2(t, d)));

/** C: the enrolled templates' mean distance to the other villagers (their nearest template each). */
function cohortConstant(own: Map<string, Float32Array[]>): number {
  const ids = [...own.keys()];
  return mean(ids.map((v) => mean((own.get(v) as Float32Array[]).map((t) => mean(ids.filter((u) => u !== v).map((u) => minTo(t, own.get(u) as Float32Array[])))))));
}

/** The probes of one run scored by `rule`: best and second-best different villager. */
function rescore(own: Map<string, Float32Array[]>, probes: ReturnType<typeof Object>[], rule: Rule): Probe[] {
  const ids = [...own.keys()];
  // the gallery's own cohort statistics (enrolment only, never the probes)
  const crowd = new Map(ids.map((v) => [v, mean((own.get(v) as Float32Array[]).map((t) => mean(ids.filter((u) => u !== v).map((u) => minTo(t, own.get(u) as Float32Array[])))))]));
  const C = mean([...crowd.values()]);
  return (probes as (Probe & { descriptor: Float32Array | null })[]).map((p) => {
    if (p.outcome !== 'scored' || !p.descriptor) return { ...p, best: null, second: null, ownDistance: null };
    const d = p.descriptor;
    const raw = new Map(ids.map((v) => {
      const ds = (own.get(v) as Float32Array[]).map((t) => l2(t, d)).sort((a, b) => a - b);
      return [v, rule === 'mean2' && ds.length > 1 ? ((ds[0] as number) + (ds[1] as number)) / 2 : (ds[0] as number)];
    }));
    const muP = mean([...raw.values()]);
    const score = (v: string): number => {
      const x = raw.get(v) as number;
      if (rule === 'probe-norm') return (x * C) / muP;
      if (rule === 'probe-ratio') return x / muP;
      if (rule === 'template-norm') return (x * C) / (crowd.get(v) as number);
      return x;
    };
    const ranked = ids.map((v) => ({ villagerId: v, distance: score(v) })).sort((a, b) => a.distance - b.distance);
    return { ...p, best: ranked[0] ?? null, second: ranked[1] ? { distance: ranked[1].distance } : null, ownDistance: p.genuine && raw.has(p.person) ? score(p.person) : null };
  });
}

const out = (line = ''): void => { process.stdout.write(`${line}\n`); };
const sets = o.sets.split(',');
const seeds = o.seeds.split(',').map(Number);
const runs = await cachedRuns(cache, o.root, sets, seeds, Number(o.enrol), entry);
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const row = (key: string, probes: Probe[], t: number, m: number): string => {
  const at = pointAt(probes, t, m);
  const pr = presentations(probes, { ...entry.match, threshold: t, margin: m, uncertain_threshold: t });
  const safe = pointAt(probes, t + 0.02, m - 0.02).falseAccepts;
  return `  ${key.padEnd(20)} frames ${pct(at.tar).padStart(7)} FA ${at.falseAccepts}  presentations ${pr.accepted}/${pr.genuine} FA ${pr.falseAccepts}/${pr.impostor}  FA at +0.02/−0.02: ${safe}`;
};
if (o.apply) {
  const [rule, t, m] = o.apply.split(':') as [Rule, string, string];
  out(`${rule} at threshold ${t} margin ${m} (enrol ${o.enrol}, cache ${path.basename(o.cache)})`);
  for (const r of runs) out(row(r.key, rescore(r.own, r.probes, rule), Number(t), Number(m)));
} else {
  const [mFrom, mTo] = o.margins.split(',').map(Number) as [number, number];
  for (const rule of o.rules.split(',') as Rule[]) {
    const scored = runs.map((r) => ({ key: r.key, probes: rescore(r.own, r.probes, rule) }));
    const sp = safePoint(scored.map((r) => ({ probes: r.probes, door: r.key.startsWith(`${o.door}#`) })), entry.match, marginGrid(mFrom, mTo));
    if (!sp) { out(`${rule}: no safe point`); continue; }
    if (rule === 'probe-norm') out(`C per run: ${runs.map((r) => cohortConstant(r.own).toFixed(3)).join(' ')}`);
    out(`${rule} (enrol ${o.enrol}, ${path.basename(o.cache)}): safe point ${sp.threshold} / ${sp.margin}: ${o.door} presentations ${sp.doorAccepted}/${sp.doorGenuine}, mean TAR per frame ${pct(sp.meanFrameTar)}`);
    for (const r of scored) out(row(r.key, r.probes, sp.threshold, sp.margin));
  }
}
