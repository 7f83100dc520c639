/**
 * Does the texture cue follow the light? The person-disjoint folds of `cv-texture.ts` (`lr-pres`,
 * threshold chosen on the training people by inner folds, as `train-texture.ts` does), trained on
 * the frames as recorded, then the held-out people judged on their frames as recorded, dimmed
 * (the `nuaa-client-dim` curve of docs/face-datasets.md: 0.45 · (v/255)^1.6) and under a warm
 * lamp (red ×1.15, blue ×0.8), with the features the door computed before (`v1`: the raw crop)
 * and now (`v2`: grey world and band energies). The landmarks are the recorded frames' (the
 * question is the texture, not whether the detector still finds the face). `--test-only SET`
 * (an attack folder's name, e.g. synthetic screens) keeps that set out of training: its
 * presentations are only judged, so a model that has seen prints meets screens. Last line: JSON.
 *
 *   npx tsx scripts/liveness/cv-texture-light.ts --real DIR --attack DIR [--attack DIR2] --cache FILE
 *     [--lights recorded,dim,warm] [--test-only SET] [--folds 5] [--inner-folds 3]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { RgbFrame } from '../../models/frame.ts';
import { decodeImage } from '../../models/image.ts';
import { alignedFace, cropFeatures, textureFeatures } from '../../models/liveness/texture.ts';
import { chooseTexture, peopleFolds, pooled, rates, type Counts, type CvPresentation } from '../../models/liveness/texture-cv.ts';
import { TEXTURE_CANDIDATES } from '../../models/liveness/texture-candidates.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { passiveParams } from '../../edge/entry/liveness-passive.ts';
import { asPresentations, collectSamples } from './texture-samples.ts';

const { values } = parseArgs({ options: {
  real: { type: 'string', multiple: true }, attack: { type: 'string', multiple: true }, cache: { type: 'string' },
  folds: { type: 'string', default: '5' }, 'inner-folds': { type: 'string', default: '3' },
  lights: { type: 'string', default: 'recorded,dim,warm' }, 'test-only': { type: 'string' },
} });
const folds = Number(values.folds), innerFolds = Number(values['inner-folds']);
if (!values.real?.length || !values.attack?.length || !values.cache || !(folds >= 2) || !(innerFolds >= 2)) {
  process.stderr.write('用法 usage: cv-texture-light.ts --real DIR --attack DIR --cache FILE [--folds 5] [--inner-folds 3]\n');
  process.exit(2);
}
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

const DIM = Uint8Array.from({ length: 256 }, (_, v) => Math.round(255 * 0.45 * (v / 255) ** 1.6));
/**
 * The frame relit around the face only (the landmarks' box grown by its own size on every side,
 * more than either aligned crop reads): the rest of the frame is never looked at.
 */
function relight(f: RgbFrame, lm: ArrayLike<number>, perChannel: (v: number, c: number) => number): RgbFrame {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < 68; i++) {
    const x = lm[2 * i] as number, y = lm[2 * i + 1] as number;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const w = x1 - x0, h = y1 - y0;
  const data = f.data.slice();
  for (let y = Math.max(0, Math.floor(y0 - h)); y < Math.min(f.height, Math.ceil(y1 + h)); y++) {
    for (let x = Math.max(0, Math.floor(x0 - w)); x < Math.min(f.width, Math.ceil(x1 + w)); x++) {
      const i = 3 * (y * f.width + x);
      for (let c = 0; c < 3; c++) data[i + c] = perChannel(data[i + c] as number, c);
    }
  }
  return { ...f, data };
}
const ALL_LIGHTS: Record<string, (f: RgbFrame, lm: ArrayLike<number>) => RgbFrame> = {
  recorded: (f) => f,
  dim: (f, lm) => relight(f, lm, (v) => DIM[v] as number),
  warm: (f, lm) => relight(f, lm, (v, c) => (c === 0 ? Math.min(255, Math.round(v * 1.15)) : c === 2 ? Math.round(v * 0.8) : v)),
};
const lightNames = (values.lights ?? '').split(',');
if (!lightNames.includes('recorded') || lightNames.some((l) => !(l in ALL_LIGHTS))) {
  process.stderr.write(`未知的光照 --lights must list recorded and any of: ${Object.keys(ALL_LIGHTS).join(', ')}\n`);
  process.exit(2);
}
const LIGHTS = Object.fromEntries(lightNames.map((l) => [l, ALL_LIGHTS[l] as (f: RgbFrame, lm: ArrayLike<number>) => RgbFrame]));
const testOnly = values['test-only'];
const FEATURES: Record<string, (f: RgbFrame, lm: ArrayLike<number>) => Float32Array> = {
  v1: (f, lm) => { const { grey, rgb } = alignedFace(f, lm); return cropFeatures(grey, rgb); },
  v2: textureFeatures,
};

const passive = resolveEntryConfig({}).liveness.passive;
const collected = await collectSamples({ real: values.real, attack: values.attack }, { maxFrames: 12, cacheFile: values.cache, log });
/** Features of every frame by feature set and light, in the samples' order. */
const feats: Record<string, Record<string, Float32Array[]>> = {};
for (const k of Object.keys(FEATURES)) feats[k] = Object.fromEntries(Object.keys(LIGHTS).map((l) => [l, [] as Float32Array[]]));
let done = 0;
for (const s of collected.samples) {
  const frame = await decodeImage(await readFile(s.file));
  for (const [l, light] of Object.entries(LIGHTS)) {
    const lit = light(frame, s.landmarks);
    for (const [k, fn] of Object.entries(FEATURES)) (feats[k]?.[l] as Float32Array[]).push(fn(lit, s.landmarks));
  }
  if (++done % 500 === 0) log(`${done} frames`);
}
const index = new Map(collected.samples.map((s, i) => [s, i]));
const base = asPresentations(collected, passiveParams(passive));
const lr = TEXTURE_CANDIDATES['lr-pres'];
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const out: Record<string, Record<string, { apcer: number; bpcer: number; perFoldBpcer: number[]; sets: Record<string, Counts> }>> = {};

for (const k of Object.keys(FEATURES)) {
  const withLight = (l: string): CvPresentation[] => base.map((p) => ({ ...p, frames: p.frames.map((s) => ({ ...s, f: (feats[k]?.[l] as Float32Array[])[index.get(s as never) as number] as Float32Array })) }));
  const recorded = withLight('recorded');
  const lit = Object.fromEntries(Object.keys(LIGHTS).map((l) => [l, withLight(l)]));
  const perLight: Record<string, Record<string, Counts>[]> = Object.fromEntries(Object.keys(LIGHTS).map((l) => [l, []]));
  for (const people of peopleFolds(base.map((p) => p.person), folds)) {
    const train = recorded.filter((p) => !people.includes(p.person) && p.set !== testOnly);
    const choice = chooseTexture(train, [lr], { innerFolds, minFrames: passive.min_frames, margin: 0 });
    for (const [l, ps] of Object.entries(lit)) {
      const sets: Record<string, Counts> = {};
      for (const p of ps.filter((q) => people.includes(q.person))) {
        const c = (sets[p.set] ??= { live: 0, flat: 0, uncertain: 0, n: 0 });
        const score = choice.models.reduce<number>((a, m) => a + lr.score(m, p.frames.map((s) => s.f)), 0) / choice.models.length;
        c[p.geometryFlat ? 'flat' : p.frames.length >= passive.min_frames && score >= choice.threshold ? 'live' : 'uncertain']++;
        c.n++;
      }
      (perLight[l] as Record<string, Counts>[]).push(sets);
    }
  }
  out[k] = Object.fromEntries(Object.entries(perLight).map(([l, sets]) => {
    const p = pooled(sets);
    const r = { ...rates(p), perFoldBpcer: sets.map((s) => rates(s).bpcer), sets: p };
    const attacks = Object.entries(p).filter(([set]) => set !== 'real').map(([set, c]) => `${set} ${c.live}/${c.n}`).join(', ');
    log(`${k} ${l}: APCER ${pct(r.apcer)} (${attacks}), BPCER ${pct(r.bpcer)} (${(p.real?.n ?? 0) - (p.real?.live ?? 0)}/${p.real?.n ?? 0}); BPCER per fold ${r.perFoldBpcer.map(pct).join(' / ')}`);
    return [l, r];
  }));
}
process.stdout.write(`${JSON.stringify(out)}\n`);
