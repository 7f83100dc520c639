/**
 * The frames a face `enter` replays as the camera (`frames:` in the scenario): a folder of
 * images read in name order, or a sequence made now from the villager's portrait
 * (harness/liveness/presentations.ts: the villager in person, a printed photo, a phone screen).
 * Made at run time from the demo photos in node_modules: no image is committed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RgbFrame } from '../../models/face-engine.ts';
import { EngineClient } from '../../models/engine-client.ts';
import { decodeImage } from '../../models/image.ts';
import type { EntryConfig } from '../../edge/entry/config.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { faceGeometry, presentation } from '../liveness/presentations.ts';
import type { ReplaySequence } from './replay.ts';
import type { Scenario } from './scenario.ts';

const IMAGE = /\.(jpe?g|png|webp)$/i;
/** A replayed folder longer than this is refused: the runner holds its frames in memory. */
export const MAX_SEQUENCE_FRAMES = 600;

const bad = (msg: string, zh: string): never => {
  throw new EdgeError(ErrorCode.INVALID_ARGUMENT, msg, { zh });
};

/** The images of a folder in name order, decoded as camera frames. */
export async function framesFromDir(dir: string): Promise<RgbFrame[]> {
  let names: string[] = [];
  try {
    if (!statSync(dir).isDirectory()) bad(`frames: ${dir} is not a folder`, `frames：${dir} 不是文件夹`);
    names = readdirSync(dir).filter((n) => IMAGE.test(n)).sort();
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    bad(`frames: cannot read the folder ${dir}: ${(err as Error).message}`, `frames：无法读取文件夹 ${dir}`);
  }
  if (names.length === 0) bad(`frames: the folder ${dir} holds no .jpg, .png or .webp images`, `frames：文件夹 ${dir} 中没有图片（.jpg/.png/.webp）`);
  if (names.length > MAX_SEQUENCE_FRAMES) bad(`frames: the folder ${dir} holds ${names.length} images; at most ${MAX_SEQUENCE_FRAMES}`, `frames：文件夹 ${dir} 中图片过多（${names.length} 张，最多 ${MAX_SEQUENCE_FRAMES} 张）`);
  const out: RgbFrame[] = [];
  for (const n of names) {
    try {
      out.push(await decodeImage(readFileSync(path.join(dir, n))));
    } catch (err) {
      bad(`frames: ${path.join(dir, n)} is not a readable image: ${(err as Error).message}`, `frames：无法读取图片 ${path.join(dir, n)}`);
    }
  }
  return out;
}

/**
 * The sequence of every face `enter` with `frames`, by step number (1-based, as the runner
 * counts steps). `portraits` are the villagers' portraits the seeding cut out. A made sequence
 * marks where its person answers the door's challenge (replay.ts); a folder has no mark.
 */
export async function prepareSequences(s: Scenario, portraits: ReadonlyMap<string, RgbFrame>, entry: EntryConfig): Promise<Map<number, ReplaySequence>> {
  const out = new Map<number, ReplaySequence>();
  let engine: EngineClient | null = null;
  try {
    for (const [i, step] of s.steps.entries()) {
      if (step.kind !== 'enter' || !step.frames) continue;
      const f = step.frames;
      if ('dir' in f) {
        out.set(i + 1, { frames: await framesFromDir(f.dir), answerFrom: null });
        continue;
      }
      const portrait = portraits.get(step.villager);
      if (!portrait) bad(`step ${i + 1}: villager ${step.villager} has no face to make frames from`, `第 ${i + 1} 步：村民 ${step.villager} 没有照片，无法生成画面`);
      const p = portrait as RgbFrame;
      // the head's axis and size come from the portrait's landmarks
      if (!engine) {
        engine = new EngineClient({ detectorInputSize: 416, detectorMinScore: entry.detector_min_score, liveness: false });
        await engine.start();
      }
      const a = await engine.analyse(p, { allFaces: false, gate: null, liveness: false });
      const lm = a.faces[0]?.landmarks;
      if (!lm) bad(`step ${i + 1}: no face found in ${step.villager}'s portrait`, `第 ${i + 1} 步：${step.villager} 的照片中找不到人脸`);
      out.set(i + 1, presentation(f.make, p, faceGeometry(lm as Float32Array), f.seed));
    }
  } finally {
    await engine?.stop();
  }
  return out;
}
