/**
 * Writes a door-camera sequence made from a demo photo into a folder, for
 * `enter: {by: face, frames: DIR}` or `faces present`:
 *
 *   npx tsx harness/liveness/make-frames.ts --kind live|print|screen --photo sample2.jpg [--index 0] [--seed 1] --out DIR
 *
 * The photo is a file of face-api's demo folder (node_modules); nothing is committed.
 * Exit 2 for bad arguments, 1 when the frames cannot be made.
 */
import { existsSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EngineClient } from '../../models/engine-client.ts';
import { portraitOf } from '../scenario/faces.ts';
import { faceGeometry, PRESENTATION_KINDS, presentationFrames, writeFrames, type PresentationKind } from './presentations.ts';

function usage(msg: string, zh: string): never {
  process.stderr.write(`${zh} / ${msg}\nusage: make-frames.ts --kind live|print|screen --photo sample2.jpg [--index 0] [--seed 1] --out DIR\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({ options: { kind: { type: 'string' }, photo: { type: 'string' }, index: { type: 'string', default: '0' }, seed: { type: 'string', default: '1' }, out: { type: 'string' } } });
  } catch (err) {
    return usage((err as Error).message, '参数有误');
  }
})();
const kind = values.kind as PresentationKind;
if (!PRESENTATION_KINDS.includes(kind)) usage(`--kind must be one of ${PRESENTATION_KINDS.join(', ')}, got ${JSON.stringify(values.kind ?? '')}`, '--kind 须为 live、print 或 screen');
if (!values.photo || !/^[A-Za-z0-9_.-]+\.(jpg|jpeg|png)$/.test(values.photo)) usage('--photo must name a file of face-api\'s demo folder, e.g. sample2.jpg', '--photo 须为 face-api 示例文件夹中的照片，如 sample2.jpg');
if (!values.out) usage('--out DIR is required', '缺少 --out 输出文件夹');
if (existsSync(values.out) && readdirSync(values.out).length > 0) usage(`--out ${values.out} is not empty`, `输出文件夹 ${values.out} 不是空的`);
const index = Number(values.index);
const seed = Number(values.seed);
if (!Number.isInteger(index) || index < 0) usage(`--index must be a whole number ≥ 0, got ${values.index}`, '--index 须为非负整数');
if (!Number.isInteger(seed) || seed < 0) usage(`--seed must be a whole number ≥ 0, got ${values.seed}`, '--seed 须为非负整数');

const engine = new EngineClient({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
try {
  await engine.start();
  const portrait = await portraitOf(engine, { photo: values.photo, index });
  const a = await engine.analyse(portrait, { allFaces: false, gate: null, liveness: false });
  const lm = a.faces[0]?.landmarks;
  if (!lm) throw new Error(`no face found in the portrait of ${values.photo}`);
  const names = await writeFrames(values.out, presentationFrames(kind, portrait, faceGeometry(lm), seed));
  process.stdout.write(`${JSON.stringify({ kind, photo: values.photo, index, seed, out: values.out, frames: names.length })}\n`);
} catch (err) {
  process.stderr.write(`无法生成画面 / cannot make the frames: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await engine.stop();
}
