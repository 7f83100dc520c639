/**
 * Offline study (issue #8): more templates at enrolment from the same enrolment photos seen in
 * other light. Each enrolled photo is also analysed after a photometric change (a colour cast,
 * gamma, a side light, lower contrast) and the descriptor of the changed photo joins the
 * villager's templates, as the door's camera enrolment could do without asking anything more of
 * the villager. The probes stay as `faces evaluate` saw them (the door's own photos, unchanged).
 *
 * The base runs come from `faces evaluate --cache` files through `faces evaluate`'s own enrolment
 * and probes (scripts/cached-runs.ts); the changed photos go through the enrolment engine as
 * `faces evaluate` builds it (SSD, the pad retry, the quality gate) and are kept in their own
 * cache file (--aug-cache), so a second run loads no model. Each variant (a set of changes) is
 * calibrated by docs/face-thresholds.md's rule (`safePoint`: zero false accepts on every calibration run
 * also at threshold + 0.02 and margin − 0.02, then the most presentations on the door runs)
 * and printed per run; --apply VARIANT@T:M prints the per-run figures at a point (held-out sets).
 *
 *   npx tsx scripts/relight-study.ts [--cache-dir /work/data/cache] [--aug-cache /work/data/cache/relight.json] \
 *     [--sets nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a] [--enrol5 nuaa-client,nuaa-client-dim] \
 *     [--seeds 1,2,3] [--variants base,warm+cool,…] [--apply VARIANT@T:M,…]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEntryConfig, qualityGate, engineChoice } from '../edge/entry/config.ts';
import { listPeople } from '../edge/entry/evaluate.ts';
import { decodeDescriptor } from '../edge/entry/evaluate-cache.ts';
import { marginGrid, pointAt, presentations, safePoint, type Probe } from '../edge/entry/evaluate-metrics.ts';
import type { DescribedProbe } from '../edge/entry/evaluate-adapt.ts';
import { decodeImage } from '../models/image.ts';
import { FaceEngine } from '../models/face-engine.ts';
import type { RgbFrame } from '../models/frame.ts';
import { cachedRuns, readCaches, type CachedRun } from './cached-runs.ts';

const { values: o } = parseArgs({
  options: {
    'cache-dir': { type: 'string', default: '/work/data/cache' }, root: { type: 'string', default: '/work/data/faces' }, 'aug-cache': { type: 'string' },
    sets: { type: 'string', default: 'nuaa-client,nuaa-client-dim,lfw-eastasian,lfw-western-a' }, enrol5: { type: 'string', default: 'nuaa-client,nuaa-client-dim' },
    seeds: { type: 'string', default: '1,2,3' }, door: { type: 'string', default: 'nuaa-client' }, variants: { type: 'string' }, apply: { type: 'string' },
  },
});
const fail = (en: string, zh: string): never => {
  console.error(`${en} / ${zh}`);
  process.exit(2);
};
const list = (s: string): string[] => s.split(',').filter(Boolean);

/** The photometric changes: each a function of an 8-bit channel value, its channel (0 R, 1 G, 2 B) and the pixel's column (0..1). */
type Change = (v: number, c: number, x: number) => number;
const gamma = (g: number, gain = 1): Change => (v) => 255 * gain * (v / 255) ** g;
const CHANGES: Record<string, Change> = {
  warm: (v, c) => v * ([1.12, 1.0, 0.85][c] as number),
  cool: (v, c) => v * ([0.88, 1.0, 1.15][c] as number),
  bright: gamma(0.7),
  dark: gamma(1.4, 0.8),
  left: (v, _c, x) => v * (1.15 - 0.55 * x),
  right: (v, _c, x) => v * (0.6 + 0.55 * x),
  flat: (v) => 128 + 0.7 * (v - 128),
};
function changed(frame: RgbFrame, f: Change): RgbFrame {
  const { width, height, data } = frame;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[i + c] = Math.max(0, Math.min(255, Math.round(f(data[i + c] as number, c, x / (width - 1 || 1)))));
    }
  }
  return { width, height, data: out };
}

const augFile = o['aug-cache'] ?? path.join(o['cache-dir'], 'relight.json');
let aug: Record<string, string | null> = {};
try {
  aug = JSON.parse(await readFile(augFile, 'utf8')) as Record<string, string | null>;
} catch { /* a first run */ }
const entry = resolveEntryConfig({});
let engine: FaceEngine | null = null;
/** The changed photo's enrolment descriptor (null: the enrolment refuses it), from the cache or the engine. */
async function augmented(file: string, change: string): Promise<Float32Array | null> {
  const k = `${change}|${file}`;
  if (!(k in aug)) {
    if (!engine) {
      engine = new FaceEngine({ detector: 'ssd', padRetry: true, detectorInputSize: Math.max(entry.detector_input_size, 416), detectorMinScore: entry.detector_min_score, liveness: false, recognizer: { kind: 'faceapi' }, ...engineChoice(entry, '/tmp', 'never') });
      await engine.start();
    }
    const frame = changed(await decodeImage(await readFile(file)), CHANGES[change] as Change);
    const a = await engine.analyse(frame, { allFaces: true, gate: qualityGate(entry.quality), liveness: false });
    const f = a.faces[0];
    aug[k] = a.nearFaces > 1 || !f || f.rejected || !f.descriptor ? null : Buffer.from(new Uint8Array(f.descriptor.buffer, f.descriptor.byteOffset, f.descriptor.byteLength)).toString('base64');
  }
  const s = aug[k];
  return s ? decodeDescriptor(s) : null;
}

const sets = list(o.sets);
const enrol5 = list(o.enrol5);
const seeds = list(o.seeds).map(Number);
let runs: CachedRun[] = [];
if (!sets.length || seeds.some((s) => !Number.isInteger(s))) fail('--sets and --seeds must name sets and whole seeds', '--sets 与 --seeds 须为集合名与整数种子');
for (const set of sets) {
  try {
    const cache = await readCaches([path.join(o['cache-dir'], `${set}.json`)]);
    runs = runs.concat(await cachedRuns(cache, o.root, [set], seeds, 3));
    if (enrol5.includes(set)) runs = runs.concat(await cachedRuns(cache, o.root, [set], seeds, 5));
  } catch (err) {
    fail(`${set}: ${(err as Error).message}`, `${set}：缓存缺失或不完整，先运行 faces evaluate --cache`);
  }
}

/** Each run's enrolled photos: the first `enrol` of each enrolled person's photos that the enrolment took (as collectProbes). */
async function enrolledPhotos(r: CachedRun): Promise<Map<string, string[]>> {
  const cache = await readCaches([path.join(o['cache-dir'], `${r.set}.json`)]);
  const out = new Map<string, string[]>();
  for (const p of await listPeople(path.join(o.root, r.set))) {
    if (!r.own.has(p.person)) continue;
    const used: string[] = [];
    for (const f of p.files) {
      if (used.length >= r.enrol) break;
      const a = await cache.analyse('enrol', f, () => Promise.reject(new Error('not in the cache')));
      if (a.faceCount === 0 || a.nearFaces > 1 || !a.face || a.face.rejected || !a.face.descriptor) continue;
      used.push(f);
    }
    out.set(p.person, used);
  }
  return out;
}

const l2 = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
};
function rescore(r: CachedRun, own: Map<string, Float32Array[]>): Probe[] {
  const gallery = [...own].map(([person, ts]) => ({ person, ts }));
  return (r.probes as DescribedProbe[]).map((p) => {
    if (p.outcome !== 'scored' || !p.descriptor) return { ...p, descriptor: null };
    const q = p.descriptor;
    const ranked = gallery.map((v) => ({ villagerId: v.person, distance: Math.min(...v.ts.map((t) => l2(t, q))) })).sort((a, b) => a.distance - b.distance);
    const ownDistance = p.genuine ? (ranked.find((x) => x.villagerId === p.person)?.distance ?? null) : null;
    return { ...p, descriptor: null, best: ranked[0] ?? null, second: ranked[1] ? { distance: ranked[1].distance } : null, ownDistance };
  });
}

const photosOf = new Map<string, Map<string, string[]>>();
for (const r of runs) photosOf.set(r.key, await enrolledPhotos(r));
const specs = o.apply ? list(o.apply).map((s) => s.split('@')[0] as string) : list(o.variants ?? 'base,warm+cool,bright+dark,left+right,flat,warm+cool+bright+dark,warm+cool+bright+dark+left+right+flat');
for (const spec of specs) for (const c of spec === 'base' ? [] : spec.split('+')) if (!(c in CHANGES)) fail(`unknown change ${c}: ${Object.keys(CHANGES).join(', ')}`, `未知的变换 ${c}`);

async function scored(spec: string): Promise<{ key: string; set: string; door: boolean; probes: Probe[] }[]> {
  const changes = spec === 'base' ? [] : spec.split('+');
  const out = [];
  for (const r of runs) {
    const own = new Map([...r.own].map(([p, ts]) => [p, [...ts]]));
    for (const [person, files] of photosOf.get(r.key) as Map<string, string[]>) {
      for (const f of files) for (const c of changes) {
        const d = await augmented(f, c);
        if (d) own.get(person)!.push(d);
      }
    }
    out.push({ key: r.key, set: r.set, door: r.set === o.door && r.enrol === 5, probes: rescore(r, own) });
  }
  await writeFile(augFile, JSON.stringify(aug));
  return out;
}

const match = entry.match;
const out = (text: string): void => { process.stdout.write(`${text}\n`); };
const line = (key: string, probes: Probe[], t: number, m: number): string => {
  const at = pointAt(probes, t, m);
  const pr = presentations(probes, { ...match, threshold: t, margin: m, uncertain_threshold: t });
  const sh = pointAt(probes, t + 0.02, m - 0.02).falseAccepts;
  return `  ${key.padEnd(20)} frames ${(100 * at.tar).toFixed(1).padStart(5)} % FA ${at.falseAccepts}  presentations ${`${pr.accepted}/${pr.genuine}`.padStart(5)} FA ${pr.falseAccepts}/${pr.impostor}  FA at ±0.02: ${sh}`;
};
const summary: Record<string, unknown>[] = [];
for (const spec of specs) {
  const sc = await scored(spec);
  const forced = o.apply ? list(o.apply).find((s) => s.startsWith(`${spec}@`))?.split('@')[1]?.split(':').map(Number) : undefined;
  const sp = forced ? { threshold: forced[0] as number, margin: forced[1] as number } : safePoint(sc, match, marginGrid(0.02, 0.4));
  if (!sp) {
    out(`${spec}: no safe point`);
    continue;
  }
  out(`${spec} @ threshold ${sp.threshold} margin ${sp.margin}`);
  let acc = 0, gen = 0;
  for (const r of sc) {
    out(line(r.key, r.probes, sp.threshold, sp.margin));
    if (r.door) {
      const pr = presentations(r.probes, { ...match, threshold: sp.threshold, margin: sp.margin, uncertain_threshold: sp.threshold });
      acc += pr.accepted;
      gen += pr.genuine;
    }
  }
  summary.push({ variant: spec, threshold: sp.threshold, margin: sp.margin, door_presentations: `${acc}/${gen}` });
}
(engine as FaceEngine | null)?.stop();
out(JSON.stringify(summary));
