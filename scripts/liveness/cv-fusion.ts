/**
 * The texture cue and an operator-supplied liveness net combined (models/liveness/fusion-cv.ts),
 * measured by people left out, nested: the people (presentation name up to its first `_`) are
 * dealt round-robin into `--folds` folds, as scripts/liveness/cv-texture.ts deals them. For each
 * fold, on the other people only: the texture model (`lr-pres`) is fitted in `--inner-folds`
 * inner folds, whose out-of-fold scores, with the net's, choose the fusion rule and its
 * thresholds; the fold's people are then judged once (texture: the mean of the inner models, as
 * train-texture.ts ships it; geometry's flat veto and `min_frames` as the door). Also printed:
 * each rule alone, and the rule chosen so on all the people (`--rule-out FILE`: to judge a set
 * nobody tuned on with scripts/liveness/apply-fusion.ts).
 *
 *   npx tsx scripts/liveness/cv-fusion.ts --real DIR --attack DIR --cache TEXTURE.jsonl --net-cache NET.jsonl
 *     [--net-tag fr_liveness.onnx] [--folds 5] [--inner-folds 3] [--max-frames 12] [--rule-out FILE]
 *
 * The caches are those of cv-texture.ts (`--cache`) and eval-onnx-liveness.ts (`--cache`): run
 * those first. Last line: the JSON summary.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { peopleFolds, type CvPresentation } from '../../models/liveness/texture-cv.ts';
import { TEXTURE_CANDIDATES } from '../../models/liveness/texture-candidates.ts';
import { chooseFusion, fusedLive, type FusionChoice, type FusionScore } from '../../models/liveness/fusion-cv.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { asPresentations, collectSamples } from './texture-samples.ts';

const { values } = parseArgs({ options: {
  real: { type: 'string', multiple: true }, attack: { type: 'string', multiple: true }, cache: { type: 'string' }, 'net-cache': { type: 'string' },
  'net-tag': { type: 'string', default: 'fr_liveness.onnx' }, folds: { type: 'string', default: '5' }, 'inner-folds': { type: 'string', default: '3' },
  'max-frames': { type: 'string', default: '12' }, 'rule-out': { type: 'string' },
} });
const folds = Number(values.folds), innerFolds = Number(values['inner-folds']), maxFrames = Number(values['max-frames']);
if (!values.real?.length || !values.attack?.length || !values.cache || !values['net-cache'] || !existsSync(values['net-cache']) || !(Number.isInteger(folds) && folds >= 2) || !(Number.isInteger(innerFolds) && innerFolds >= 2) || !(maxFrames > 0)) {
  process.stderr.write('用法 usage: cv-fusion.ts --real DIR --attack DIR --cache TEXTURE.jsonl --net-cache NET.jsonl (existing) [--net-tag fr_liveness.onnx] [--folds ≥2] [--inner-folds ≥2] [--max-frames 12] [--rule-out FILE]\n');
  process.exit(2);
}
const net = new Map<string, number>();
for (const line of readFileSync(values['net-cache'], 'utf8').split('\n')) {
  if (!line) continue;
  const c = JSON.parse(line) as { file: string; face: boolean; p?: number[] };
  if (c.face && c.p) net.set(c.file, c.p[0] as number);
}
const passive = resolveEntryConfig({}).liveness.passive;
const collected = await collectSamples({ real: values.real, attack: values.attack }, { maxFrames, cacheFile: values.cache, log: (s) => process.stderr.write(`${s}\n`) });
const ps: CvPresentation[] = asPresentations(collected, passiveParams(passive));
const files = new Map<string, string[]>();
for (const s of collected.samples) files.set(s.presentation, [...(files.get(s.presentation) ?? []), (s as { file: string }).file]);
const netScore = (p: CvPresentation): number | null => {
  const xs = (files.get(p.key) ?? []).map((f) => net.get(`${values['net-tag']}:${f}`)).filter((x): x is number => x !== undefined);
  return xs.length >= passive.min_frames ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
};
const lr = TEXTURE_CANDIDATES['lr-pres'];
const judgeable = (p: CvPresentation): boolean => !p.geometryFlat && p.frames.length >= passive.min_frames;
const scoreWith = (models: unknown[], p: CvPresentation): number | null => judgeable(p) ? models.reduce<number>((a, m) => a + lr.score(m, p.frames.map((s) => s.f)), 0) / models.length : null;

/** Inner folds over `train`: out-of-fold fusion scores (to choose the rule) and the inner models (to judge others). */
function inner(train: readonly CvPresentation[]): { scores: FusionScore[]; models: unknown[] } {
  const people = [...new Set(train.map((p) => p.person))];
  const scores: FusionScore[] = [];
  const models: unknown[] = [];
  for (const held of peopleFolds(people, Math.min(innerFolds, people.length))) {
    const m = lr.fit(train.filter((p) => !held.includes(p.person)).flatMap((p) => p.frames));
    models.push(m);
    for (const p of train) if (held.includes(p.person)) scores.push({ real: p.real, texture: scoreWith([m], p), net: judgeable(p) ? netScore(p) : null });
  }
  return { scores, models };
}

const count = (test: readonly CvPresentation[], models: unknown[], c: FusionChoice) => {
  const real = test.filter((p) => p.real), att = test.filter((p) => !p.real);
  const live = (p: CvPresentation) => fusedLive(c.rule, { real: p.real, texture: scoreWith(models, p), net: judgeable(p) ? netScore(p) : null });
  return { realLive: real.filter(live).length, real: real.length, attacksLive: att.filter(live).length, attacks: att.length };
};
type Counts = ReturnType<typeof count>;
const pct = (n: number, d: number) => (d ? Math.round((1000 * n) / d) / 10 : 0);
const show = (c: Counts) => `APCER ${pct(c.attacksLive, c.attacks)} % (${c.attacksLive}/${c.attacks}), BPCER ${pct(c.real - c.realLive, c.real)} % (${c.real - c.realLive}/${c.real})`;
const add = (a: Counts, b: Counts): Counts => ({ realLive: a.realLive + b.realLive, real: a.real + b.real, attacksLive: a.attacksLive + b.attacksLive, attacks: a.attacks + b.attacks });
const zero: Counts = { realLive: 0, real: 0, attacksLive: 0, attacks: 0 };

const perFold = peopleFolds(ps.map((p) => p.person), folds).map((held, fold) => {
  const { scores, models } = inner(ps.filter((p) => !held.includes(p.person)));
  const test = ps.filter((p) => held.includes(p.person));
  const choice = chooseFusion(scores);
  const r = { fold, people: held, rule: choice.rule, trainBpcer: choice.trainBpcer, nested: count(test, models, choice), and: count(test, models, choice.each.and), sum: count(test, models, choice.each.sum) };
  process.stderr.write(`fold ${fold} [${held.join(' ')}] ${JSON.stringify(choice.rule)} (train BPCER ${pct(choice.trainBpcer, 1)}): nested ${show(r.nested)}; and ${show(r.and)}; sum ${show(r.sum)}\n`);
  return r;
});
const pooled = { nested: perFold.reduce((a, f) => add(a, f.nested), zero), and: perFold.reduce((a, f) => add(a, f.and), zero), sum: perFold.reduce((a, f) => add(a, f.sum), zero) };
for (const [k, c] of Object.entries(pooled)) process.stderr.write(`${k === 'nested' ? 'nested choice' : `${k} alone`}, pooled: ${show(c)}\n`);
const all = chooseFusion(inner(ps).scores);
process.stderr.write(`chosen on all the people: ${JSON.stringify(all.rule)} (train BPCER ${pct(all.trainBpcer, 1)})\n`);
if (values['rule-out']) await writeFile(values['rule-out'], `${JSON.stringify({ rule: all.rule, each: all.each, trainedOn: values.real.concat(values.attack) })}\n`);
process.stdout.write(`${JSON.stringify({ perFold, pooled, all, presentations: ps.length, options: { folds, innerFolds, maxFrames, minFrames: passive.min_frames } })}\n`);
