/**
 * Offline study of score fusion (issue #8): two recognizers' unit descriptors a and b of the
 * same faces, fused as [w·a, √(1−w²)·b] (unit length; squared distance w²·d_a² + (1−w²)·d_b²),
 * evaluated through `faces evaluate`'s own enrolment, gallery search and k-of-n window without
 * running a model: the descriptors come from two `faces evaluate --cache` files made with the
 * same detectors (one per recognizer; the faces and quality verdicts are the same in both).
 *
 *   npx tsx scripts/recognizer-fusion.ts grid --a faceapi.json --b faceres.json --root /work/data/faces \
 *     --sets nuaa-client,lfw-eastasian,lfw-western-a --seeds 1,2,3 [--weights 0.5,0.6,…] [--door nuaa-client] [--margins 0.04,0.20]
 *   npx tsx scripts/recognizer-fusion.ts apply … --weight W --threshold T --margin M
 *
 * grid: for each weight, per set and seed, the largest zero-FA threshold at margin 0.10 and its
 * TAR per frame and per presentation; then the operating point chosen by docs/face-thresholds.md's rule:
 * zero false accepts on every set and seed even at threshold + 0.02 and margin − 0.02, and among
 * those the best per-presentation TAR on the door-like set (then per-frame TAR over all sets,
 * then the smallest threshold). apply: one weight, threshold and margin, per set and seed.
 * w = 1 is recognizer a alone, w = 0 recognizer b alone: `--a X --b X --weights 1` calibrates one
 * recognizer by the same rule (as done for the onnx-arcface model in docs/face-recognizers.md).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEntryConfig, type MatchConfig } from '../edge/entry/config.ts';
import { collectProbes, listPeople } from '../edge/entry/evaluate.ts';
import { decodeDescriptor, type AnalysisCache, type CachedAnalysis } from '../edge/entry/evaluate-cache.ts';
import { bestThreshold, marginGrid, pointAt, presentations, safePoint, type Probe } from '../edge/entry/evaluate-metrics.ts';
import type { FaceAnalyser } from '../edge/entry/enrol.ts';
import { fuseDescriptors } from '../models/recognizer.ts';

interface Stored { faceCount: number; nearFaces: number; face: { rejected: string | null; descriptor: string | null } | null }


/** A cache file's entries by `role|file|size|mtime` (the recognizer part of the key dropped). */
async function loadCache(file: string): Promise<Map<string, Stored>> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { entries: Record<string, Stored> };
  return new Map(Object.entries(parsed.entries).map(([k, v]) => [k.slice(k.indexOf('|') + 1), v]));
}

/** A stand-in for AnalysisCache that answers with the fused descriptor of both caches. */
function fusedCache(a: Map<string, Stored>, b: Map<string, Stored>, weight: number, mismatches: { n: number }): AnalysisCache {
  return {
    async analyse(role: string, file: string): Promise<CachedAnalysis> {
      const st = await stat(file);
      const key = `${role}|${file}|${st.size}|${Math.floor(st.mtimeMs)}`;
      const x = a.get(key);
      const y = b.get(key);
      if (!x || !y) throw new Error(`${key}: not in ${x ? 'the second' : 'the first'} cache (run faces evaluate with this seed for both recognizers)`);
      if (x.faceCount !== y.faceCount || x.nearFaces !== y.nearFaces || (x.face?.rejected ?? null) !== (y.face?.rejected ?? null)) mismatches.n++;
      if (!x.face) return { faceCount: x.faceCount, nearFaces: x.nearFaces, face: null };
      const da = x.face.descriptor;
      const db = y.face?.descriptor ?? null;
      const descriptor = da && db ? fuseDescriptors([decodeDescriptor(da), decodeDescriptor(db)], weight) : null;
      return { faceCount: x.faceCount, nearFaces: x.nearFaces, face: { rejected: x.face.rejected ?? (descriptor ? null : 'no descriptor'), descriptor } };
    },
  } as unknown as AnalysisCache;
}

const noEngine: FaceAnalyser = { analyse: () => Promise.reject(new Error('not in the cache')) };

const { positionals, values: o } = parseArgs({
  allowPositionals: true,
  options: {
    a: { type: 'string' }, b: { type: 'string' }, root: { type: 'string', default: '/work/data/faces' },
    sets: { type: 'string' }, seeds: { type: 'string', default: '1,2,3' }, door: { type: 'string', default: 'nuaa-client' },
    weights: { type: 'string', default: '0,0.3,0.4,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.85,0.9,0.95,1' },
    weight: { type: 'string' }, threshold: { type: 'string' }, margin: { type: 'string' }, enrol: { type: 'string', default: '3' },
    // grid's margins: from,to (steps of 0.01); an ArcFace-family model's distances spread wider than face-api's
    margins: { type: 'string', default: '0.04,0.20' },
  },
});
const mode = positionals[0];
if ((mode !== 'grid' && mode !== 'apply') || !o.a || !o.b || !o.sets) {
  console.error('usage: recognizer-fusion.ts grid|apply --a CACHE --b CACHE --sets s1,s2 [--seeds 1,2,3] [--weights …] | apply --weight W --threshold T --margin M');
  process.exit(2);
}
const sets = o.sets.split(',');
const seeds = o.seeds.split(',').map(Number);
const entry = resolveEntryConfig({});
const base: MatchConfig = entry.match;
const [ca, cb] = await Promise.all([loadCache(o.a), loadCache(o.b)]);
const people = new Map(await Promise.all(sets.map(async (s) => [s, await listPeople(path.join(o.root, s))] as const)));

/** Scored probes of every set and seed at weight w. */
async function probesAt(w: number): Promise<Map<string, Probe[]>> {
  const out = new Map<string, Probe[]>();
  const mismatches = { n: 0 };
  for (const s of sets) {
    for (const seed of seeds) {
      const c = await collectProbes({ enrol: noEngine, door: noEngine }, entry, path.join(o.root!, s), people.get(s)!, { enrol: Number(o.enrol), seed, cache: fusedCache(ca, cb, w, mismatches) });
      out.set(`${s}#${seed}`, c.probes);
    }
  }
  if (mismatches.n) console.error(`w ${w}: ${mismatches.n} photos where the two caches disagree on the faces`);
  return out;
}

const match = (threshold: number, margin: number): MatchConfig => ({ ...base, threshold, margin, uncertain_threshold: threshold });
const out = (line = ''): void => { process.stdout.write(`${line}\n`); };
/** Rows of one object each as an aligned text table. */
function table(rows: readonly Record<string, unknown>[]): void {
  const head = Object.keys(rows[0] ?? {});
  const cells = [head, ...rows.map((r) => head.map((h) => String(r[h] ?? '-')))];
  const widths = head.map((_, i) => Math.max(...cells.map((c) => (c[i] as string).length)));
  for (const c of cells) out(c.map((v, i) => v.padEnd(widths[i] as number)).join('  '));
}
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function report(all: Map<string, Probe[]>, t: number, m: number): Record<string, unknown>[] {
  return [...all].map(([k, probes]) => {
    const at = pointAt(probes, t, m);
    const pr = presentations(probes, match(t, m));
    const z = bestThreshold(probes, m, 0);
    const falseD = probes.filter((p) => p.best && !(p.genuine && p.best.villagerId === p.person)).map((p) => p.best!.distance);
    const noFace = probes.filter((p) => p.outcome === 'no_face').length;
    const safe = pointAt(probes, t + 0.02, m - 0.02).falseAccepts;
    return {
      set: k, frames: `${pct(at.tar)} FA ${at.falseAccepts}`, presentations: `${pr.accepted}/${pr.genuine} FA ${pr.falseAccepts}/${pr.impostor}`,
      safetyFA: safe, nearest: falseD.length ? r3(Math.min(...falseD)) : null, zeroFaAtMargin: `${z.threshold.toFixed(3)} → ${pct(z.tar)}`, noFace: `${noFace}/${probes.length}`,
    };
  });
}

if (mode === 'apply') {
  const w = Number(o.weight), t = Number(o.threshold), m = Number(o.margin);
  out(`w ${w} threshold ${t} margin ${m} (k ${base.k} of n ${base.n})`);
  table(report(await probesAt(w), t, m));
} else {
  const [mFrom, mTo] = o.margins.split(',').map(Number) as [number, number];
  const margins = marginGrid(mFrom, mTo);
  const summary: Record<string, unknown>[] = [];
  for (const w of o.weights.split(',').map(Number)) {
    const all = await probesAt(w);
    // the brief's view: largest zero-FA threshold at margin 0.10, per set and seed
    const at10 = [...all].map(([k, probes]) => {
      const z = bestThreshold(probes, 0.1, 0);
      const pr = presentations(probes, match(z.threshold, 0.1));
      return `${k} ${z.threshold.toFixed(3)}→${pct(z.tar)} ${pr.accepted}/${pr.genuine}`;
    });
    // the safe point: zero FA everywhere at threshold + 0.02 and margin − 0.02
    const sp = safePoint([...all].map(([k, probes]) => ({ probes, door: k.startsWith(`${o.door}#`) })), base, margins);
    const best = sp ? { t: sp.threshold, m: sp.margin, door: sp.doorAccepted, doorOf: sp.doorGenuine, frames: sp.meanFrameTar * all.size } : null;
    summary.push({ w, safeThreshold: best?.t, margin: best?.m, [`${o.door} presentations`]: best ? `${best.door}/${best.doorOf}` : '-', meanFrameTar: best ? pct(best.frames / all.size) : '-' });
    out(`\nw ${w}: zero-FA threshold at margin 0.10 → TAR per frame, presentations (2 of 5):\n  ${at10.join('\n  ')}`);
    if (best) {
      out(`  chosen by the safety rule: threshold ${best.t} margin ${best.m}`);
      table(report(all, best.t, best.m));
    }
  }
  out('\nsummary');
  table(summary);
}
