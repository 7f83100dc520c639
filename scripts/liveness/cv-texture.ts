/**
 * Cross-validates the texture model of the passive liveness check by people left out: the
 * people (presentation name up to its first `_`) are split into `--folds` folds; for each, the
 * classifier and its threshold are chosen on the other people only (inner folds over them), and
 * the fold's people are judged as the door judges (geometry's flat veto, `min_frames`, texture
 * score against the threshold). Prints every fold, the pooled figures, and the same for each
 * candidate evaluated alone (for the record; the nested choice is the honest figure).
 *
 *   npx tsx scripts/liveness/cv-texture.ts --real DIR --attack DIR [--attack DIR2 …] [--folds 5]
 *     [--inner-folds 4] [--final bag|refit] [--cache FILE] [--candidates lr,lr-median,…]
 *
 * `--cache FILE` keeps the analysed frames (features, landmarks) for later runs (outside the
 * repository: they are derived from people's faces). Last line: the JSON summary.
 */
import { parseArgs } from 'node:util';
import { crossValidate, pooled, rates, type Counts, type CvPresentation, type FoldOutcome, type TextureCandidate } from '../../models/liveness/texture-cv.ts';
import { TEXTURE_CANDIDATES } from '../../models/liveness/texture-candidates.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { asPresentations, collectSamples } from './texture-samples.ts';
import { FOREST_CANDIDATES } from './texture-forest.ts';

const { values } = parseArgs({ options: {
  real: { type: 'string', multiple: true }, attack: { type: 'string', multiple: true },
  folds: { type: 'string', default: '5' }, 'inner-folds': { type: 'string', default: '4' }, margin: { type: 'string', default: '0' },
  final: { type: 'string', default: 'bag' }, cache: { type: 'string' }, candidates: { type: 'string' }, 'max-frames': { type: 'string', default: '12' },
} });
const folds = Number(values.folds), innerFolds = Number(values['inner-folds']), margin = Number(values.margin), maxFrames = Number(values['max-frames']);
if (!values.real?.length || !values.attack?.length || !(Number.isInteger(folds) && folds >= 2) || !(Number.isInteger(innerFolds) && innerFolds >= 2) || !Number.isFinite(margin) || !(maxFrames > 0) || !['bag', 'refit'].includes(values.final ?? '')) {
  process.stderr.write('用法 usage: cv-texture.ts --real DIR --attack DIR [--attack DIR …] [--folds ≥2] [--inner-folds ≥2] [--final bag|refit] [--cache FILE] [--candidates a,b] [--margin 0]\n');
  process.exit(2);
}
const known: Record<string, TextureCandidate> = { ...TEXTURE_CANDIDATES, ...FOREST_CANDIDATES };
const names = values.candidates ? values.candidates.split(',') : Object.keys(TEXTURE_CANDIDATES);
const unknown = names.filter((n) => !(n in known));
if (unknown.length) {
  process.stderr.write(`未知的分类器 unknown candidate(s): ${unknown.join(', ')} (known: ${Object.keys(known).join(', ')})\n`);
  process.exit(2);
}
const candidates = names.map((n) => known[n] as TextureCandidate);

const log = (s: string): void => { process.stderr.write(`${s}\n`); };
const passive = resolveEntryConfig({}).liveness.passive;
const params = passiveParams(passive);
const collected = await collectSamples({ real: values.real, attack: values.attack }, { maxFrames, ...(values.cache ? { cacheFile: values.cache } : {}), log });
const samples = collected.samples;
const ps: CvPresentation[] = asPresentations(collected, params);
const o = { folds, innerFolds, minFrames: passive.min_frames, margin, final: values.final as 'bag' | 'refit' };
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const line = (label: string, r: { sets: Record<string, Counts>; apcer: number; bpcer: number }): string =>
  `${label}: APCER ${pct(r.apcer)}, BPCER ${pct(r.bpcer)}; ${Object.entries(r.sets).map(([s, c]) => `${s} ${c.live}/${c.n} live, ${c.flat} flat`).join('; ')}`;

log(`${ps.length} presentations (${ps.filter((p) => p.real).length} real), ${new Set(ps.map((p) => p.person)).size} people, ${samples.length} frames; candidates ${names.join(', ')}`);
const results = crossValidate(ps, candidates, o, (r) => {
  log(line(`fold ${r.fold} [${r.people.join(' ')}] chose ${r.chosen} (threshold ${r.threshold.toFixed(2)}, inner BPCER ${pct(r.innerBpcer)})`, r));
  for (const [name, e] of Object.entries(r.each)) log(line(`  ${name} (threshold ${e.threshold.toFixed(2)}, inner BPCER ${pct(e.innerBpcer)})`, e));
});
const summary = (sets: Record<string, Counts>[]) => { const p = pooled(sets); return { sets: p, ...rates(p) }; };
const nested = summary(results.map((r) => r.sets));
log(line('nested choice, pooled over the folds', nested));
const each = Object.fromEntries(Object.keys(results[0]?.each ?? {}).map((n) => {
  const sm = summary(results.map((r) => (r.each[n] as FoldOutcome).sets));
  log(line(`${n} alone, pooled (folds: APCER ${results.map((r) => pct((r.each[n] as FoldOutcome).apcer)).join(' / ')}; BPCER ${results.map((r) => pct((r.each[n] as FoldOutcome).bpcer)).join(' / ')})`, sm));
  return [n, sm];
}));
process.stdout.write(`${JSON.stringify({ folds: results, pooled: nested, each, options: o, frames: samples.length, presentations: ps.length })}\n`);
