/**
 * Trains the texture model of the passive liveness check (models/liveness/texture.ts) on
 * presentations in the layout `faces evaluate-liveness` reads, and writes it as JSON for
 * `entry.liveness.passive.texture_model`. No model ships with the package: the public sets it
 * was measured on (NUAA) state no licence for derived work, so each store (or maintainer)
 * trains its own, ideally on its own door camera's recordings (see docs/liveness-texture.md).
 *
 *   npx tsx scripts/liveness/train-texture.ts --real DIR --attack DIR [--attack DIR2 …] --out FILE
 *     [--candidates lr-pres,lr] [--inner-folds 3] [--margin 0] [--cache FILE]
 *
 * Presentations are grouped by person: the sub-folder name up to its first `_` (NUAA's
 * `0001_00_00_01_c0`). The people are split into `--inner-folds` folds; each candidate
 * classifier (models/liveness/texture-candidates.ts) is fitted on all folds but one and scores
 * the presentations of the one left out, as the door judges them (the geometry's flat veto,
 * `min_frames`). The threshold is set just above the highest such score of an attack (APCER 0
 * out of fold), plus `--margin`; the candidate leaving the fewest real faces below it is taken,
 * and the model written is the mean of its fold models, the very models whose scores set the
 * threshold. This is what `scripts/liveness/cv-texture.ts` measures on people left out.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { TextureModel } from '../../models/liveness/texture.ts';
import { averageLinear, chooseTexture } from '../../models/liveness/texture-cv.ts';
import { DOOR_TEXTURE_CANDIDATES, TEXTURE_CANDIDATES } from '../../models/liveness/texture-candidates.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { asPresentations, collectSamples } from './texture-samples.ts';

const { values } = parseArgs({ options: {
  real: { type: 'string', multiple: true }, attack: { type: 'string', multiple: true }, out: { type: 'string' },
  candidates: { type: 'string', default: DOOR_TEXTURE_CANDIDATES.join(',') }, 'inner-folds': { type: 'string', default: '3' },
  margin: { type: 'string', default: '0' }, 'max-frames': { type: 'string', default: '12' }, cache: { type: 'string' },
} });
const innerFolds = Number(values['inner-folds']), margin = Number(values.margin), maxFrames = Number(values['max-frames']);
if (!values.real?.length || !values.attack?.length || !values.out || !(Number.isInteger(innerFolds) && innerFolds >= 2) || !Number.isFinite(margin) || !(maxFrames > 0)) {
  process.stderr.write('用法 usage: train-texture.ts --real DIR --attack DIR [--attack DIR …] --out FILE [--candidates a,b] [--inner-folds ≥2] [--margin 0] [--cache FILE]\n');
  process.exit(2);
}
const names = (values.candidates ?? '').split(',');
const wrong = names.filter((n) => !(DOOR_TEXTURE_CANDIDATES as readonly string[]).includes(n));
if (wrong.length) {
  process.stderr.write(`不能用于门禁的分类器 candidate(s) the door cannot run: ${wrong.join(', ')} (choose from ${DOOR_TEXTURE_CANDIDATES.join(', ')})\n`);
  process.exit(2);
}

const passive = resolveEntryConfig({}).liveness.passive;
const collected = await collectSamples({ real: values.real, attack: values.attack }, { maxFrames, ...(values.cache ? { cacheFile: values.cache } : {}), log: (s) => process.stderr.write(`${s}\n`) });
const ps = asPresentations(collected, passiveParams(passive));
const people = new Set(ps.map((p) => p.person)).size;
if (people < innerFolds) {
  process.stderr.write(`人数不足 need at least ${innerFolds} people to choose the threshold on people left out (found ${people})\n`);
  process.exit(2);
}
const choice = chooseTexture(ps, names.map((n) => TEXTURE_CANDIDATES[n as keyof typeof TEXTURE_CANDIDATES]), { innerFolds, minFrames: passive.min_frames, margin });
const model: TextureModel = averageLinear(choice.models as TextureModel[], choice.threshold,
  `${choice.candidate.name}, mean of ${choice.models.length} fold models; real ${values.real.join(', ')}; attack ${values.attack.join(', ')}; ${people} people, ${collected.samples.length} frames; ${new Date().toISOString()}`);
await writeFile(values.out, `${JSON.stringify(model)}\n`);
process.stdout.write(`${JSON.stringify({ out: values.out, people, frames: collected.samples.length, candidate: choice.candidate.name, threshold: choice.threshold, outOfFoldBpcer: choice.innerBpcer, each: choice.each })}\n`);
