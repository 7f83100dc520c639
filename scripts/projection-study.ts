/**
 * Offline study (issue #8): a learned linear map of the 128-d face-api descriptor before the
 * door's distance + threshold + margin rule. WCCN (whitening by the within-class scatter, shrunk
 * toward the identity) or LDA (the top d discriminant directions), then unit length again,
 * applied to the enrolled templates and to the probes alike (scripts/linear-projection.ts).
 * Two training sources:
 * - `ext`: labelled photos of other people (a `faces evaluate --cache` file of a folder
 *   <person>/<photo>: --train, by default <cache-dir>/lfw-train.json, the LFW people disjoint from
 *   every evaluation set of scripts/datasets/build-lfw-train.sh);
 * - `gal`: each run's own enrolment only (each enrolled person's templates, mirror images
 *   included), what a store has at its door without any outside data.
 * Read from `faces evaluate --cache` files through `faces evaluate`'s own enrolment and probes
 * (scripts/cached-runs.ts), no model run:
 *
 *   npx tsx scripts/projection-study.ts [--cache-dir /work/data/cache] [--train lfw-train.json] \
 *     [--sets nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a] [--enrol5 nuaa-client,nuaa-client-dim] \
 *     [--seeds 1,2,3] [--door nuaa-client [--door-enrol 5]] [--variants base,wccn-ext:0.3:c,lda-ext:0.1:64,wccn-gal:0.5,lda-gal:0.5:8 | grid]
 *   npx tsx scripts/projection-study.ts --sets lfw-western-b,asian-celeb --enrol5 '' --apply VARIANT@T:M,…
 *
 * Variants: `base` (the descriptor as it is), `wccn-SRC:λ[:c]` (c: subtract the training mean
 * first), `lda-SRC:λ:d` (d capped at the classes − 1 that carry any between-class variance).
 * Each is calibrated by docs/face-thresholds.md's rule (`safePoint`: zero false accepts on every run also
 * at threshold + 0.02 and margin − 0.02, then the most presentations on the --door runs, the
 * best mean TAR per frame, the smallest threshold; --door-enrol N: only the door set's runs
 * enrolled with N photos rank), and the best variant of each family (method
 * × source) by the same order. A projection changes the scale of distances, and the rule's 0.02
 * shifts and 0.005 threshold steps are in the base's units; so each variant is also calibrated on
 * its distances divided by s, the median genuine distance (a probe to its own person's nearest
 * template) over the base's: the same person's variation counts as much as before. Prints a
 * table per family's best variant (both ways) and a JSON line. --apply VARIANT@T:M[:S]: the
 * per-run figures at a point (S: divide the distances by the calibration's s first).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEntryConfig } from '../edge/entry/config.ts';
import { marginGrid, pointAt, presentations, safePoint, type Probe, type SafePoint } from '../edge/entry/evaluate-metrics.ts';
import type { DescribedProbe } from '../edge/entry/evaluate-adapt.ts';
import { decodeDescriptor } from '../edge/entry/evaluate-cache.ts';
import { cachedRuns, readCaches, type CachedRun } from './cached-runs.ts';
import { lda, project, scatter, symmetricEigen, wccn, type Classes, type Eigen, type Projection, type Scatter } from './linear-projection.ts';

const { values: o } = parseArgs({
  options: {
    'cache-dir': { type: 'string', default: '/work/data/cache' }, root: { type: 'string', default: '/work/data/faces' }, train: { type: 'string' },
    sets: { type: 'string', default: 'nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a' }, enrol5: { type: 'string', default: 'nuaa-client,nuaa-client-dim' },
    seeds: { type: 'string', default: '1,2,3' }, door: { type: 'string', default: 'nuaa-client' }, 'door-enrol': { type: 'string' }, margins: { type: 'string', default: '0.02,0.40' },
    variants: { type: 'string', default: 'grid' }, apply: { type: 'string' }, help: { type: 'boolean', default: false },
  },
});
const fail = (en: string, zh: string): never => {
  console.error(`${en} / ${zh}`);
  process.exit(2);
};
const list = (s: string): string[] => s.split(',').filter(Boolean);
if (o.help) fail('usage: projection-study.ts [--cache-dir D] [--train F.json] [--sets …] [--enrol5 …] [--variants grid|V,…] [--apply V@T:M,…]', '用法见文件开头的说明');
const SAFETY = 0.02;
const match = resolveEntryConfig({}).match;
const trainFile = o.train ?? path.join(o['cache-dir'], 'lfw-train.json');

type Source = 'ext' | 'gal';
interface Variant { name: string; method: 'base' | 'wccn' | 'lda'; source: Source | null; lambda: number; centre: boolean; d: number }
function parseVariant(spec: string): Variant {
  if (spec === 'base') return { name: spec, method: 'base', source: null, lambda: 1, centre: false, d: 0 };
  const [head, a, b] = spec.split(':');
  const [method, source] = (head ?? '').split('-');
  const lambda = Number(a);
  if ((method !== 'wccn' && method !== 'lda') || (source !== 'ext' && source !== 'gal') || !(lambda > 0 && lambda <= 1)) return fail(`bad variant ${JSON.stringify(spec)}: base, wccn-ext|gal:λ[:c], lda-ext|gal:λ:d (0 < λ ≤ 1)`, `变体格式错误：${spec}`);
  if (method === 'wccn' && b !== undefined && b !== 'c') return fail(`bad variant ${JSON.stringify(spec)}: the third part of wccn is c (centred) or nothing`, `变体格式错误：${spec}`);
  const d = method === 'lda' ? Number(b) : 0;
  if (method === 'lda' && !(Number.isInteger(d) && d >= 1)) return fail(`bad variant ${JSON.stringify(spec)}: lda needs d ≥ 1`, `变体格式错误：${spec}`);
  return { name: spec, method, source, lambda, centre: method === 'lda' || b === 'c', d };
}
const GRID = [
  'base',
  ...[0.05, 0.1, 0.2, 0.3, 0.5, 0.7].flatMap((l) => [`wccn-ext:${l}`, `wccn-ext:${l}:c`]),
  ...[0.1, 0.3].flatMap((l) => [16, 32, 48, 64, 96, 127].map((d) => `lda-ext:${l}:${d}`)),
  ...[0.1, 0.2, 0.3, 0.5, 0.7, 0.9].flatMap((l) => [`wccn-gal:${l}`, `wccn-gal:${l}:c`]),
  // λ = 1 and centred: the training mean subtracted, nothing whitened (what the centring alone does)
  'wccn-ext:1:c', 'wccn-gal:1:c',
  ...[0.3, 0.7].flatMap((l) => [4, 8, 16].map((d) => `lda-gal:${l}:${d}`)),
];

/** The training classes of the external source: one descriptor per photo (the door's, else the enrolment's) plus its mirror image's when cached. */
async function externalClasses(file: string): Promise<Classes> {
  let parsed: { entries: Record<string, { face: { rejected: string | null; descriptor: string | null } | null }> };
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as typeof parsed;
  } catch (err) {
    return fail(`--train ${file}: ${(err as Error).message}`, `--train ${file}：无法读取训练缓存`);
  }
  const byPhoto = new Map<string, Map<string, Float32Array>>();
  for (const [k, v] of Object.entries(parsed.entries)) {
    const [, role, photo] = k.split('|') as [string, string, string];
    if (!v.face?.descriptor || v.face.rejected) continue;
    const roles = byPhoto.get(photo) ?? new Map<string, Float32Array>();
    roles.set(role, decodeDescriptor(v.face.descriptor));
    byPhoto.set(photo, roles);
  }
  const byPerson = new Map<string, Float32Array[]>();
  for (const [photo, roles] of byPhoto) {
    const person = path.basename(path.dirname(photo));
    const xs = byPerson.get(person) ?? [];
    const main = roles.get('door') ?? roles.get('enrol');
    if (main) xs.push(main);
    const m = roles.get('enrol-mirror');
    if (m) xs.push(m);
    byPerson.set(person, xs);
  }
  return [...byPerson.values()];
}

interface Trained { s: Scatter; eig: Eigen }
const train = (classes: Classes): Trained => {
  const s = scatter(classes);
  return { s, eig: symmetricEigen(s.within, s.dim) };
};
function projectionOf(v: Variant, t: Trained): Projection {
  if (v.method === 'wccn') return wccn(t.s, t.eig, v.lambda, v.centre);
  return lda(t.s, t.eig, v.lambda, Math.min(v.d, Math.max(1, t.s.classes - 1)));
}

interface Scored { key: string; set: string; door: boolean; probes: Probe[] }
const l2 = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
};

/** The run's probes scored against its templates after `map` (null: as they are): best and second-best different villager, exact. */
function rescore(r: CachedRun, map: ((x: Float32Array) => Float32Array) | null): Probe[] {
  const unit = (x: Float32Array): Float32Array => {
    const y = map ? map(x) : new Float32Array(x);
    const n = Math.sqrt(y.reduce((s, v) => s + v * v, 0)) || 1;
    return y.map((v) => v / n);
  };
  const own = [...r.own].map(([person, ts]) => ({ person, ts: ts.map(unit) }));
  return (r.probes as DescribedProbe[]).map((p) => {
    if (p.outcome !== 'scored' || !p.descriptor) return { ...p, descriptor: null };
    const q = unit(p.descriptor);
    const ranked = own.map((v) => ({ villagerId: v.person, distance: Math.min(...v.ts.map((t) => l2(t, q))) })).sort((a, b) => a.distance - b.distance);
    const ownDistance = p.genuine ? (ranked.find((x) => x.villagerId === p.person)?.distance ?? null) : null;
    return { ...p, descriptor: null, best: ranked[0] ?? null, second: ranked[1] ? { distance: ranked[1].distance } : null, ownDistance };
  });
}

const sets = list(o.sets);
const enrol5 = list(o.enrol5);
const seeds = list(o.seeds).map(Number);
if (!sets.length || seeds.some((s) => !Number.isInteger(s))) fail('--sets and --seeds must name sets and whole seeds', '--sets 与 --seeds 须为集合名与整数种子');
let runs: CachedRun[] = [];
for (const set of sets) {
  let cache;
  try {
    cache = await readCaches([path.join(o['cache-dir'], `${set}.json`)]);
    runs = runs.concat(await cachedRuns(cache, o.root, [set], seeds, 3));
    if (enrol5.includes(set)) runs = runs.concat(await cachedRuns(cache, o.root, [set], seeds, 5));
  } catch (err) {
    fail(`${set}: ${(err as Error).message}`, `${set}：缓存缺失或不完整，先运行 faces evaluate --cache`);
  }
}
const specs = o.apply ? list(o.apply).map((s) => s.split('@')[0] as string) : o.variants === 'grid' ? GRID : list(o.variants);
const variants = specs.map(parseVariant);
const ext = variants.some((v) => v.source === 'ext') ? train(await externalClasses(trainFile)) : null;
if (ext) process.stderr.write(`external training: ${ext.s.classes} people, ${ext.s.samples} descriptors (${trainFile})\n`);
const galleryTrained = new Map(variants.some((v) => v.source === 'gal') ? runs.map((r) => [r.key, train([...r.own.values()])]) : []);

function scoreVariant(v: Variant): Scored[] {
  return runs.map((r) => {
    const t = v.source === 'ext' ? ext : v.source === 'gal' ? galleryTrained.get(r.key) : null;
    const p = t ? projectionOf(v, t) : null;
    return { key: r.key, set: r.set, door: r.set === o.door && (!o['door-enrol'] || r.enrol === Number(o['door-enrol'])), probes: rescore(r, p ? (x) => project(p, x) : null) };
  });
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s[Math.floor(s.length / 2)] as number) : NaN; };
const strangerMedian = (sc: Scored[]): number => median(sc.flatMap((r) => r.probes.filter((p) => !p.genuine && p.best).map((p) => (p.best as { distance: number }).distance)));
const genuineMedian = (sc: Scored[]): number => median(sc.flatMap((r) => r.probes.filter((p) => p.genuine && p.ownDistance !== null).map((p) => p.ownDistance as number)));
/** The same probes with every distance divided by s (a projection's distances in the base's units). */
const divided = (sc: Scored[], s: number): Scored[] => sc.map((r) => ({
  ...r,
  probes: r.probes.map((p) => ({ ...p, best: p.best ? { ...p.best, distance: p.best.distance / s } : null, second: p.second ? { distance: p.second.distance / s } : null, ownDistance: p.ownDistance === null ? null : p.ownDistance / s })),
}));

const out = (line = ''): void => { process.stdout.write(`${line}\n`); };
const pct = (x: number): string => `${(100 * x).toFixed(1)}`;
interface RunRow { key: string; tar: number; fa: number; accepted: number; genuine: number; presFa: number; impostor: number; faShift: number; faShiftAlt: number }
/** Per run at t / m: also the false accepts at the safety shift 0.02 and at 0.02 × alt. */
function rows(sc: Scored[], t: number, m: number, alt: number): RunRow[] {
  return sc.map((r) => {
    const at = pointAt(r.probes, t, m);
    const pr = presentations(r.probes, { ...match, threshold: t, margin: m, uncertain_threshold: t });
    return {
      key: r.key, tar: at.tar, fa: at.falseAccepts, accepted: pr.accepted, genuine: pr.genuine, presFa: pr.falseAccepts, impostor: pr.impostor,
      faShift: pointAt(r.probes, t + SAFETY, m - SAFETY).falseAccepts, faShiftAlt: pointAt(r.probes, t + SAFETY * alt, m - SAFETY * alt).falseAccepts,
    };
  });
}
const printRows = (rs: RunRow[], alt: string): void => {
  for (const x of rs) out(`  ${x.key.padEnd(20)} frames ${pct(x.tar).padStart(5)} % FA ${x.fa}  presentations ${`${x.accepted}/${x.genuine}`.padStart(5)} FA ${x.presFa}/${x.impostor}  FA at ±0.02: ${x.faShift}, ${alt}: ${x.faShiftAlt}`);
};

const base = scoreVariant(parseVariant('base'));
const baseStranger = strangerMedian(base);
const baseGenuine = genuineMedian(base);
// the rescoring must reproduce faces evaluate's own distances (a check of the study itself)
const drift = Math.max(0, ...runs.flatMap((r, i) => r.probes.map((p, j) => {
  const q = base[i]?.probes[j];
  return p.best && q?.best ? Math.abs(p.best.distance - q.best.distance) + (p.best.villagerId === q.best.villagerId ? 0 : 1) : 0;
})));
out(`check: base rescoring vs faces evaluate, largest |Δ best distance| ${drift.toExponential(1)}; medians: genuine ${baseGenuine.toFixed(3)}, nearest stranger ${baseStranger.toFixed(3)}`);
/** A variant's scale: how much farther the same person's photos lie than before (median genuine distance over the base's). */
const scaleOf = (sc: Scored[]): { s: number; si: number } => ({ s: genuineMedian(sc) / baseGenuine, si: strangerMedian(sc) / baseStranger });

const json: unknown[] = [];
if (o.apply) {
  for (const [i, spec] of list(o.apply).entries()) {
    const [, pt] = spec.split('@');
    const [t, m, given] = (pt ?? '').split(':').map(Number) as [number, number, number | undefined];
    if (!(t > 0) || !(m >= 0) || (given !== undefined && !(given > 0))) fail(`--apply ${spec}: VARIANT@THRESHOLD:MARGIN[:S]`, '--apply 格式：变体@阈值:间隔[:比例]');
    const v = variants[i] as Variant;
    const raw = v.method === 'base' ? base : scoreVariant(v);
    // S: the calibration's scale (never measured on these runs): distances ÷ S, the shift 0.02 in those units
    const sc = given ? divided(raw, given) : raw;
    out(`${spec}${given ? ` (distances ÷ ${given}; the other shift is 0.02 in projected units)` : ''}  [scale on these runs: ${JSON.stringify(scaleOf(raw))}]`);
    const rs = rows(sc, t, m, given ? 1 / given : 1);
    printRows(rs, given ? '±0.02 raw' : '±0.02');
    json.push({ variant: v.name, threshold: t, margin: m, divided: given ?? 1, runs: rs });
  }
} else {
  const margins = marginGrid(...(o.margins.split(',').map(Number) as [number, number]));
  interface Tried { v: Variant; sc: Scored[]; scaled: Scored[]; s: number; si: number; sp: SafePoint | null; spScaled: SafePoint | null }
  const tried: Tried[] = [];
  const f = (p: SafePoint | null): string => (p ? `${p.threshold} / ${p.margin}: door ${p.doorAccepted}/${p.doorGenuine}, frames ${pct(p.meanFrameTar)} %` : 'no safe point');
  for (const v of variants) {
    const sc = v.method === 'base' ? base : scoreVariant(v);
    const { s, si } = scaleOf(sc);
    const scaled = v.method === 'base' ? sc : divided(sc, s);
    const sp = safePoint(sc.map((r) => ({ probes: r.probes, door: r.door })), match, margins);
    const spScaled = v.method === 'base' ? sp : safePoint(scaled.map((r) => ({ probes: r.probes, door: r.door })), match, margins);
    tried.push({ v, sc, scaled, s, si, sp, spScaled });
    out(`${v.name.padEnd(18)} s ${s.toFixed(2)} (strangers ${si.toFixed(2)})  ${f(sp)}   ÷s: ${f(spScaled)}`);
  }
  const better = (a: SafePoint | null, b: SafePoint | null): boolean => !!a && (!b || a.doorAccepted > b.doorAccepted || (a.doorAccepted === b.doorAccepted && a.meanFrameTar > b.meanFrameTar + 1e-9));
  // λ = 1 whitens nothing: centring alone is a family of its own
  const familyOf = (v: Variant): string => (v.method === 'base' ? 'base' : v.method === 'wccn' && v.lambda === 1 ? `centre-${v.source}` : `${v.method}-${v.source}`);
  for (const fam of [...new Set(tried.map((x) => familyOf(x.v)))]) {
    const inFam = tried.filter((x) => familyOf(x.v) === fam);
    for (const which of ['sp', 'spScaled'] as const) {
      if (fam === 'base' && which === 'spScaled') continue;
      const best = inFam.reduce<Tried | null>((b, x) => (better(x[which], b?.[which] ?? null) ? x : b), null);
      const sp = best?.[which];
      const how = which === 'sp' ? 'projected distances, shift 0.02' : 'distances ÷ s, shift 0.02 there';
      if (!best || !sp) { out(`\n${fam} (${how}): no safe point`); continue; }
      out(`\n${fam}, best by the rule (${how}): ${best.v.name} (s ${best.s.toFixed(3)}) at ${sp.threshold} / ${sp.margin}, door ${sp.doorAccepted}/${sp.doorGenuine}, mean frames ${pct(sp.meanFrameTar)} %`);
      const rs = which === 'sp' ? rows(best.sc, sp.threshold, sp.margin, best.s) : rows(best.scaled, sp.threshold, sp.margin, 1 / best.s);
      printRows(rs, which === 'sp' ? '±0.02×s' : '±0.02 raw');
      json.push({ family: fam, units: which === 'sp' ? 'projected' : 'divided', variant: best.v.name, s: best.s, threshold: sp.threshold, margin: sp.margin, runs: rs });
    }
  }
  const shipped = rows(base, match.threshold, match.margin, 1);
  out(`\nbase at the shipped ${match.threshold} / ${match.margin}`);
  printRows(shipped, '±0.02');
  json.push({ family: 'shipped', variant: 'base', threshold: match.threshold, margin: match.margin, runs: shipped });
}
// the same figures as markdown rows (docs/face-studies.md): one row per result, one cell per set and enrolment, seeds side by side;
// ¹ false accepts summed over the seeds at the point shifted by 0.02 in its own units, ² at the other shift (0.02 × s for a
// point in projected distances, 0.02 in projected distances for a point in distances ÷ s)
const cells = (rs: RunRow[]): string => {
  const groups = new Map<string, RunRow[]>();
  for (const x of rs) { const g = x.key.replace(/#\d+/, ''); groups.set(g, [...(groups.get(g) ?? []), x]); }
  return [...groups.values()].map((g) => {
    const of = new Set(g.map((x) => x.genuine)).size === 1 ? String(g[0]?.genuine) : g.map((x) => x.genuine).join(', ');
    const pres = g.some((x) => x.genuine > 0) ? ` (${g.map((x) => x.accepted).join('/')} of ${of})` : '';
    const frames = g.reduce((n, x) => n + x.fa, 0);
    const pfa = g.reduce((n, x) => n + x.presFa, 0);
    const shift = g.reduce((n, x) => n + x.faShift, 0);
    const alt = g.reduce((n, x) => n + x.faShiftAlt, 0);
    return `${g.map((x) => pct(x.tar)).join(' / ')} %${pres}${frames + pfa ? ` **FA ${frames} frames, ${pfa} pres.**` : ''}${shift ? ` ¹${shift}` : ''}${alt ? ` ²${alt}` : ''}`;
  }).join(' | ');
};
out(`\n| variant | point | ${[...new Set(runs.map((r) => r.key.replace(/#\d+/, '')))].join(' | ')} |`);
for (const r of json as Array<{ family?: string; units?: string; variant: string; threshold: number; margin: number; s?: number; divided?: number; runs: RunRow[] }>) {
  const unit = r.units === 'divided' || (r.divided ?? 1) !== 1 ? ` (÷ ${(r.s ?? r.divided ?? 1).toFixed(3)})` : '';
  out(`| ${r.family ? `${r.family}: ` : ''}${r.variant} | ${r.threshold} / ${r.margin}${unit} | ${cells(r.runs)} |`);
}
out(JSON.stringify({ study: 'projection', sets, enrol5, seeds, door: o.door, results: json }));
