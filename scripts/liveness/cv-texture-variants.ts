/**
 * The nested person-disjoint cross-validation of `cv-texture.ts`, over feature variants
 * (`texture-variants.ts`): light- and colour-normalised crops, LBP alone, scale-invariant band
 * energies, and their combinations, each with the `lr-pres` classifier (one sample per
 * presentation, its frames' mean features, λ 0.1). The frames are those `cv-texture.ts` finds
 * (same `--cache`); the variants of each frame are computed again from its file and landmarks
 * and kept in `--variants-cache` (outside the repository). Prints every fold and the pooled
 * figures of the nested choice and of each candidate alone. Last line: the JSON summary.
 *
 *   npx tsx scripts/liveness/cv-texture-variants.ts --real DIR --attack DIR [--attack DIR2 …] --cache FILE
 *     --variants-cache FILE [--folds 5] [--inner-folds 3] [--candidates pres-v1,pres-gw,…]
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { decodeImage } from '../../models/image.ts';
import { crossValidate, pooled, rates, type Counts, type CvPresentation, type FoldOutcome, type TextureCandidate } from '../../models/liveness/texture-cv.ts';
import { TEXTURE_CANDIDATES } from '../../models/liveness/texture-candidates.ts';
import { CROP_FEATURES, LBP_FEATURES } from '../../models/liveness/texture.ts';
import { BAND_FEATURES } from '../../models/liveness/texture-light.ts';
import type { TextureSample } from '../../models/liveness/texture-train.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { asPresentations, collectSamples } from './texture-samples.ts';
import { variantFeatures } from './texture-variants.ts';

const { values } = parseArgs({ options: {
  real: { type: 'string', multiple: true }, attack: { type: 'string', multiple: true },
  folds: { type: 'string', default: '5' }, 'inner-folds': { type: 'string', default: '3' },
  cache: { type: 'string' }, 'variants-cache': { type: 'string' }, candidates: { type: 'string' }, 'max-frames': { type: 'string', default: '12' },
} });
const folds = Number(values.folds), innerFolds = Number(values['inner-folds']), maxFrames = Number(values['max-frames']);
if (!values.real?.length || !values.attack?.length || !values.cache || !values['variants-cache'] || !(folds >= 2) || !(innerFolds >= 2)) {
  process.stderr.write('用法 usage: cv-texture-variants.ts --real DIR --attack DIR [--attack DIR …] --cache FILE --variants-cache FILE [--folds 5] [--inner-folds 3] [--candidates a,b]\n');
  process.exit(2);
}

/** The variants laid end to end in each frame's feature vector, and where each starts. */
const LAYOUT = { v1: CROP_FEATURES, gw: CROP_FEATURES, std: CROP_FEATURES, band: BAND_FEATURES } as const;
type Variant = keyof typeof LAYOUT;
const start: Record<Variant, number> = { v1: 0, gw: 0, std: 0, band: 0 };
let total = 0;
for (const v of Object.keys(LAYOUT) as Variant[]) { start[v] = total; total += LAYOUT[v]; }
const LBP = LBP_FEATURES;

/** Parts of the combined vector: [variant, from, to] within the variant. */
type Part = [Variant, number, number];
const all = (v: Variant): Part => [v, 0, LAYOUT[v]];
const SETS: Record<string, Part[]> = {
  'pres-v1': [all('v1')],
  'pres-lbp': [['v1', 0, LBP]],
  'pres-gw': [all('gw')],
  'pres-gw-lbp': [['gw', 0, LBP]],
  'pres-std': [all('std')],
  'pres-band': [all('band')],
  'pres-gw+band': [all('gw'), all('band')],
  'pres-lbp+band': [['v1', 0, LBP], all('band')],
  'pres-std+band': [all('std'), all('band')],
};

const index = (parts: Part[]): Int32Array => Int32Array.from(parts.flatMap(([v, a, b]) => Array.from({ length: b - a }, (_, i) => start[v] + a + i)));
const pick = (f: ArrayLike<number>, ix: Int32Array): Float32Array => Float32Array.from(ix, (i) => f[i] as number);

function sliced(name: string, parts: Part[]): TextureCandidate {
  const base = TEXTURE_CANDIDATES['lr-pres'];
  const ix = index(parts);
  return {
    name,
    fitKey: `${base.fitKey} | ${JSON.stringify(parts)}`,
    fit: (train: readonly TextureSample[]) => base.fit(train.map((s) => ({ ...s, f: pick(s.f, ix) }))),
    score: (model, frames) => base.score(model, frames.map((f) => pick(f, ix))),
  };
}

const names = values.candidates ? values.candidates.split(',') : Object.keys(SETS);
const unknown = names.filter((n) => !(n in SETS));
if (unknown.length) {
  process.stderr.write(`未知的候选 unknown candidate(s): ${unknown.join(', ')} (known: ${Object.keys(SETS).join(', ')})\n`);
  process.exit(2);
}
const candidates = names.map((n) => sliced(n, SETS[n] as Part[]));

const log = (s: string): void => { process.stderr.write(`${s}\n`); };
const passive = resolveEntryConfig({}).liveness.passive;
const collected = await collectSamples({ real: values.real, attack: values.attack }, { maxFrames, cacheFile: values.cache, log });

// the variants of every frame, from the cache or computed again from the file and its landmarks
const vcFile = values['variants-cache'];
const vcache = new Map<string, number[]>();
if (existsSync(vcFile)) {
  for (const line of (await readFile(vcFile, 'utf8')).split('\n')) {
    if (!line) continue;
    const c = JSON.parse(line) as { file: string; f: number[] };
    if (c.f.length === total) vcache.set(c.file, c.f);
  }
}
let computed = 0;
for (const s of collected.samples) {
  let f = vcache.get(s.file);
  if (!f) {
    const v = variantFeatures(await decodeImage(await readFile(s.file)), s.landmarks);
    f = (Object.keys(LAYOUT) as Variant[]).flatMap((k) => Array.from(v[k] as Float32Array, (x) => Math.round(x * 1e5) / 1e5));
    vcache.set(s.file, f);
    await appendFile(vcFile, `${JSON.stringify({ file: s.file, f })}\n`);
    if (++computed % 500 === 0) log(`variants of ${computed} frames computed`);
  }
  s.f = f;
}

const ps: CvPresentation[] = asPresentations(collected, passiveParams(passive));
const o = { folds, innerFolds, minFrames: passive.min_frames, margin: 0, final: 'bag' as const };
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const line = (label: string, r: { sets: Record<string, Counts>; apcer: number; bpcer: number }): string =>
  `${label}: APCER ${pct(r.apcer)}, BPCER ${pct(r.bpcer)}; ${Object.entries(r.sets).map(([s, c]) => `${s} ${c.live}/${c.n} live, ${c.flat} flat`).join('; ')}`;

log(`${ps.length} presentations (${ps.filter((p) => p.real).length} real), ${new Set(ps.map((p) => p.person)).size} people, ${collected.samples.length} frames; candidates ${names.join(', ')}`);
const results = crossValidate(ps, candidates, o, (r) => {
  log(line(`fold ${r.fold} [${r.people.join(' ')}] chose ${r.chosen} (threshold ${r.threshold.toFixed(2)}, inner BPCER ${pct(r.innerBpcer)})`, r));
  for (const [name, e] of Object.entries(r.each)) if (!name.includes('(')) log(line(`  ${name} (threshold ${e.threshold.toFixed(2)}, inner BPCER ${pct(e.innerBpcer)})`, e));
});
const summary = (sets: Record<string, Counts>[]) => { const p = pooled(sets); return { sets: p, ...rates(p) }; };
const nested = summary(results.map((r) => r.sets));
log(line('nested choice, pooled over the folds', nested));
const each = Object.fromEntries(Object.keys(results[0]?.each ?? {}).filter((n) => !n.includes('(')).map((n) => {
  const sm = summary(results.map((r) => (r.each[n] as FoldOutcome).sets));
  log(line(`${n} alone, pooled (folds: APCER ${results.map((r) => pct((r.each[n] as FoldOutcome).apcer)).join(' / ')}; BPCER ${results.map((r) => pct((r.each[n] as FoldOutcome).bpcer)).join(' / ')})`, sm));
  return [n, sm];
}));
process.stdout.write(`${JSON.stringify({ folds: results.map(({ each: _e, ...r }) => r), pooled: nested, each, options: o, frames: collected.samples.length, presentations: ps.length })}\n`);
