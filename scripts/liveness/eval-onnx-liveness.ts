/**
 * Measures an operator-supplied liveness net (models/liveness/onnx-cue.ts) on presentations in
 * the layout `faces evaluate-liveness` reads, per presentation in the sense of ISO/IEC 30107-3
 * (APCER: attacks judged live; BPCER: bona fide not judged live), per attack set.
 *
 *   npx tsx scripts/liveness/eval-onnx-liveness.ts --model FILE --sha256 HEX --real DIR --attack DIR [--attack DIR2]
 *     [--cache FILE] [--folds 5] [--max-frames 12] [--json]
 *
 * Each frame is analysed as the door does (tiny detector, landmarks); the net sees the
 * detector's box (widened as the net expects). A presentation's score is the mean probability
 * of "live" over its first `max-frames` frames with a face; fewer than the door's `min_frames`
 * such frames: not judged live. Reported:
 * - at the net's own decision (score ≥ 0.5), on all people;
 * - as a curve over the threshold, on all people (hindsight, for the record);
 * - person-disjoint: the people (folder name up to the first `_`) dealt round-robin into
 *   `--folds` folds (as scripts/liveness/cv-texture.ts); for each fold the threshold is chosen on
 *   the other people only, by two rules fixed before any run — `apcer0`: just above the highest
 *   training attack score; `apcer2`: the lowest threshold leaving ≤ 2 % of training attacks
 *   live — and the fold's people are judged once. Chosen per attack set (each set's training
 *   attacks alone) and on all sets pooled.
 * The net's scores are kept in `--cache` (JSON lines, one frame each) for later runs.
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { OnnxLivenessNet } from '../../models/liveness/onnx-cue.ts';
import { peopleFolds } from '../../models/liveness/texture-cv.ts';
import { engineChoice, qualityGate, resolveEntryConfig } from '../../edge/entry/config.ts';
import { listPeople } from '../../edge/entry/evaluate.ts';
import { personOf } from './texture-samples.ts';

const { values } = parseArgs({ options: {
  model: { type: 'string' }, sha256: { type: 'string' }, real: { type: 'string' }, attack: { type: 'string', multiple: true },
  cache: { type: 'string' }, folds: { type: 'string', default: '5' }, 'max-frames': { type: 'string', default: '12' }, json: { type: 'boolean', default: false },
} });
const folds = Number(values.folds), maxFrames = Number(values['max-frames']);
if (!values.model || !values.sha256 || !values.real || !values.attack?.length || !(Number.isInteger(folds) && folds >= 2) || !(maxFrames > 0)) {
  process.stderr.write('用法 usage: eval-onnx-liveness.ts --model FILE --sha256 HEX --real DIR --attack DIR [--attack DIR …] [--cache FILE] [--folds ≥2] [--max-frames 12] [--json]\n');
  process.exit(2);
}

interface Cached { file: string; face: boolean; p?: number[] }
const cache = new Map<string, Cached>();
if (values.cache && existsSync(values.cache)) {
  for (const line of (await readFile(values.cache, 'utf8')).split('\n')) if (line) { const c = JSON.parse(line) as Cached; cache.set(c.file, c); }
}
const entry = resolveEntryConfig({});
const minFrames = entry.liveness.passive.min_frames;
const gate = qualityGate(entry.quality);
let engine: FaceEngine | null = null;
let net: OnnxLivenessNet | null = null;
const tag = `${path.basename(values.model)}`;
async function analyse(file: string): Promise<Cached> {
  const key = `${tag}:${file}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!engine) {
    engine = new FaceEngine({ detector: 'tiny', detectorInputSize: entry.detector_input_size, detectorMinScore: entry.detector_min_score, liveness: false, ...engineChoice(entry, 'data', 'configured'), recognizer: { kind: 'faceapi' } });
    await engine.start();
    net = await OnnxLivenessNet.load(values.model as string, values.sha256 as string);
  }
  const frame = await decodeImage(await readFile(file));
  const face = (await engine.analyse(frame, { allFaces: false, gate, liveness: false })).faces[0];
  const c: Cached = face?.landmarks ? { file: key, face: true, p: (await (net as OnnxLivenessNet).probabilities(frame, face.box)).map((x) => Math.round(x * 1e5) / 1e5) } : { file: key, face: false };
  cache.set(key, c);
  if (values.cache) await appendFile(values.cache, `${JSON.stringify(c)}\n`);
  return c;
}

interface Pres { name: string; person: string; set: string; real: boolean; withFace: number; score: number }
const pres: Pres[] = [];
try {
  for (const [dir, real] of [[values.real, true] as const, ...values.attack.map((d) => [d, false] as const)]) {
    const set = real ? 'real' : path.basename(path.resolve(dir));
    for (const p of await listPeople(dir)) {
      const ps: number[] = [];
      for (const f of p.files) {
        if (ps.length >= maxFrames) break;
        const c = await analyse(path.resolve(f));
        if (c.face && c.p) ps.push(c.p[0] as number);
      }
      pres.push({ name: p.person, person: personOf(p.person), set, real, withFace: ps.length, score: ps.length >= minFrames ? ps.reduce((a, b) => a + b, 0) / ps.length : -1 });
    }
    process.stderr.write(`${dir}: ${pres.length} presentations so far\n`);
  }
} finally {
  (engine as FaceEngine | null)?.stop();
  await (net as OnnxLivenessNet | null)?.stop();
}

const live = (p: Pres, t: number) => p.withFace >= minFrames && p.score >= t;
const sets = [...new Set(pres.filter((p) => !p.real).map((p) => p.set))];
const realP = pres.filter((p) => p.real);
const pct = (n: number, d: number) => (d ? Math.round((1000 * n) / d) / 10 : 0);
const rates = (ps: Pres[], set: string, t: number) => {
  const a = ps.filter((p) => p.set === set), r = ps.filter((p) => p.real);
  const al = a.filter((p) => live(p, t)).length, rn = r.filter((p) => !live(p, t)).length;
  return { apcer: pct(al, a.length), attacksLive: al, attacks: a.length, bpcer: pct(rn, r.length), realNotLive: rn, real: r.length };
};
const native = Object.fromEntries(sets.map((s) => [s, rates(pres, s, 0.5)]));
const grid = [...Array.from({ length: 100 }, (_, i) => i / 100), ...Array.from({ length: 10 }, (_, i) => 0.99 + i / 1000), 0.9995, 0.9999];
const curve = Object.fromEntries(sets.map((s) => [s, grid.map((t) => ({ t, ...rates(pres, s, t) }))]));
const judged = (ps: Pres[]) => ps.filter((p) => p.withFace >= minFrames).map((p) => p.score).sort((a, b) => a - b);
function choose(train: Pres[], attackSets: string[], rule: 'apcer0' | 'apcer2'): number {
  const att = train.filter((p) => !p.real && attackSets.includes(p.set));
  const s = judged(att);
  if (!s.length) return 0;
  if (rule === 'apcer0') return Math.min(1, (s[s.length - 1] as number) + 1e-4);
  const allowed = Math.floor(0.02 * att.length); // attacks that may stay at or above it
  return Math.min(1, (s[s.length - 1 - allowed] as number) + 1e-4);
}
const peopleF = peopleFolds(pres.map((p) => p.person), folds);
const cv: Record<string, unknown> = {};
for (const rule of ['apcer0', 'apcer2'] as const) {
  for (const chosenOn of [...sets.map((s) => [s]), sets]) {
    const name = `${rule} chosen on ${chosenOn.join('+')}`;
    const perFold = peopleF.map((held, i) => {
      const t = choose(pres.filter((p) => !held.includes(p.person)), chosenOn, rule);
      const test = pres.filter((p) => held.includes(p.person));
      return { fold: i, people: held, threshold: Math.round(t * 1e4) / 1e4, sets: Object.fromEntries(sets.map((s) => [s, rates(test, s, t)])) as Record<string, ReturnType<typeof rates>> };
    });
    const pooled = Object.fromEntries(sets.map((s) => {
      const al = perFold.reduce((a, f) => a + (f.sets[s] as ReturnType<typeof rates>).attacksLive, 0);
      const an = perFold.reduce((a, f) => a + (f.sets[s] as ReturnType<typeof rates>).attacks, 0);
      const rn = perFold.reduce((a, f) => a + (f.sets[s] as ReturnType<typeof rates>).realNotLive, 0);
      return [s, { apcer: pct(al, an), attacksLive: al, attacks: an, bpcer: pct(rn, realP.length), realNotLive: rn, real: realP.length }];
    }));
    cv[name] = { pooled, perFold };
  }
}
const summary = { model: values.model, minFrames, maxFrames, presentations: { real: realP.length, ...Object.fromEntries(sets.map((s) => [s, pres.filter((p) => p.set === s).length])) },
  withoutEnoughFaces: Object.fromEntries(['real', ...sets].map((s) => [s, pres.filter((p) => p.set === s && p.withFace < minFrames).length])),
  native, cv, curve, scores: pres };
if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
else {
  process.stdout.write(`presentations ${JSON.stringify(summary.presentations)}; fewer than ${minFrames} frames with a face ${JSON.stringify(summary.withoutEnoughFaces)}\n`);
  for (const s of sets) process.stdout.write(`native (p_live ≥ 0.5), ${s}: APCER ${native[s]?.apcer} % (${native[s]?.attacksLive}/${native[s]?.attacks}), BPCER ${native[s]?.bpcer} % (${native[s]?.realNotLive}/${native[s]?.real})\n`);
  for (const [name, r] of Object.entries(cv)) {
    const { pooled, perFold } = r as { pooled: Record<string, ReturnType<typeof rates>>; perFold: { threshold: number }[] };
    process.stdout.write(`${name}: thresholds ${perFold.map((f) => f.threshold).join(' / ')}; ${sets.map((s) => `${s} APCER ${pooled[s]?.apcer} % (${pooled[s]?.attacksLive}/${pooled[s]?.attacks}) BPCER ${pooled[s]?.bpcer} % (${pooled[s]?.realNotLive}/${pooled[s]?.real})`).join('; ')}\n`);
  }
  for (const s of sets) {
    const ok = (curve[s] ?? []).filter((c) => c.apcer <= 2);
    const best = ok.length ? ok.reduce((a, b) => (b.bpcer < a.bpcer ? b : a)) : null;
    process.stdout.write(`curve ${s} (hindsight, all people): least BPCER at APCER ≤ 2 %: ${best ? `t ${best.t}: APCER ${best.apcer} %, BPCER ${best.bpcer} %` : 'none'}; ${[0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99].map((t) => { const c = rates(pres, s, t); return `t ${t}: ${c.apcer}/${c.bpcer}`; }).join(', ')}\n`);
  }
}
