/**
 * Trains the texture model of the passive liveness check (models/liveness/texture.ts) on
 * presentations in the layout `faces evaluate-liveness` reads, and writes it as JSON for
 * `entry.liveness.passive.texture_model`. No model ships with the package: the public sets it
 * was measured on (NUAA) state no licence for derived work, so each store (or maintainer)
 * trains its own, ideally on its own door camera's recordings (see docs/liveness.md).
 *
 *   npx tsx scripts/liveness/train-texture.ts --real DIR --attack DIR [--attack DIR2 …] --out FILE [--lambda 0.01]
 *
 * Presentations are grouped by person: the sub-folder name up to its first `_` (NUAA's
 * `0001_00_00_01_c0`). The model is a class-balanced, L2-regularised logistic regression on the
 * standardised features of every frame with a face (the door's detector and landmarks). Its
 * threshold is chosen person-disjoint: each person's presentations are scored by a model trained
 * without them (leave one person out), and the threshold is set just above the highest mean
 * log-odds of any attack presentation so scored (APCER 0 out of fold), plus `--margin`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { textureFeatures, type TextureModel } from '../../models/liveness/texture.ts';
import { chooseThreshold, trainTexture, type TextureSample } from '../../models/liveness/texture-train.ts';
import { engineChoice, qualityGate, resolveEntryConfig } from '../../edge/entry/config.ts';
import { listPeople } from '../../edge/entry/evaluate.ts';


const { values } = parseArgs({ options: {
  real: { type: 'string', multiple: true }, attack: { type: 'string', multiple: true }, out: { type: 'string' },
  lambda: { type: 'string', default: '0.01' }, iterations: { type: 'string', default: '300' }, margin: { type: 'string', default: '0' },
  'max-frames': { type: 'string', default: '12' },
} });
if (!values.real?.length || !values.attack?.length || !values.out) {
  process.stderr.write('用法 usage: train-texture.ts --real DIR --attack DIR [--attack DIR …] --out FILE [--lambda 0.01] [--margin 0]\n');
  process.exit(2);
}
const lambda = Number(values.lambda), iterations = Number(values.iterations), margin = Number(values.margin), maxFrames = Number(values['max-frames']);
if (!(lambda >= 0) || !(iterations > 0) || !Number.isFinite(margin) || !(maxFrames > 0)) {
  process.stderr.write('参数有误 bad option: --lambda ≥ 0, --iterations > 0, --margin a number, --max-frames > 0\n');
  process.exit(2);
}

const entry = resolveEntryConfig({});
const engine = new FaceEngine({ detector: 'tiny', detectorInputSize: entry.detector_input_size, detectorMinScore: entry.detector_min_score, liveness: false, ...engineChoice(entry, 'data'), recognizer: { kind: 'faceapi' } });
await engine.start();
const gate = qualityGate(entry.quality);
const samples: TextureSample[] = [];
try {
  for (const [dirs, real] of [[values.real, true], [values.attack, false]] as const) {
    for (const dir of dirs) {
      for (const p of await listPeople(dir)) {
        let used = 0;
        for (const file of p.files) {
          if (used >= maxFrames) break;
          const frame = await decodeImage(await readFile(file));
          const face = (await engine.analyse(frame, { allFaces: false, gate, liveness: false })).faces[0];
          if (!face?.landmarks) continue;
          used++;
          samples.push({ f: textureFeatures(frame, face.landmarks), real, presentation: `${real ? 'real' : 'attack'}:${dir}/${p.person}`, person: p.person.split('_')[0] as string });
        }
      }
      process.stderr.write(`${dir}: ${samples.length} frames so far\n`);
    }
  }
} finally {
  engine.stop();
}

const opts = { lambda, iterations };
const people = new Set(samples.map((s) => s.person)).size;
if (people < 2) {
  process.stderr.write(`至少需要两个人 need at least two people to choose the threshold person-disjoint (found ${people})\n`);
  process.exit(2);
}
const choice = chooseThreshold(samples, opts, margin, (p) => process.stderr.write(`left out ${p}\n`));
const model: TextureModel = {
  ...trainTexture(samples, opts, `real ${values.real.join(', ')}; attack ${values.attack.join(', ')}; ${people} people, ${samples.length} frames; lambda ${lambda}; ${new Date().toISOString()}`),
  threshold: choice.threshold,
};
await writeFile(values.out, `${JSON.stringify(model)}\n`);
process.stdout.write(`${JSON.stringify({ out: values.out, people, frames: samples.length, ...choice })}\n`);
