/**
 * The frames of presentations as the door sees them, for training and cross-validating the
 * texture model: each frame analysed by the door's detector and landmarks, the first
 * `maxFrames` frames with a face of each presentation kept with their texture features and
 * landmarks. Analysing is the slow part (tens of ms a frame), so the result can be kept in a
 * cache file (JSON lines, one frame each, keyed by the frame's path) and read back by later
 * runs: a cross-validation tries many classifiers on the same frames.
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { TEXTURE_FEATURES, textureFeatures } from '../../models/liveness/texture.ts';
import type { TextureSample } from '../../models/liveness/texture-train.ts';
import { judgeFlatness, type PassiveParams } from '../../models/liveness/passive.ts';
import type { CvPresentation } from '../../models/liveness/texture-cv.ts';
import { engineChoice, qualityGate, resolveEntryConfig } from '../../edge/entry/config.ts';
import { listPeople } from '../../edge/entry/evaluate.ts';

export interface FrameSample extends TextureSample {
  /** The attack set's folder (or 'real'), so results can be told apart per kind of attack. */
  set: string;
  /** The 68 landmarks (frame pixels, x0,y0,x1,y1…), for the geometry's verdict. */
  landmarks: number[];
  /** The frame's file, so other features of it can be computed again. */
  file: string;
}

interface CachedFrame { file: string; face: boolean; f?: number[]; landmarks?: number[] }

/** The person of a presentation: its folder name up to the first `_` (NUAA's `0001_00_00_01_c0`). */
export const personOf = (presentation: string): string => presentation.split('_')[0] as string;

/**
 * Analyses (or reads from `cacheFile`) every presentation of the given folders. Presentations
 * with no frame with a face are returned with none (the door would say uncertain).
 */
export async function collectSamples(sets: { real: readonly string[]; attack: readonly string[] }, o: { maxFrames: number; cacheFile?: string; log?: (line: string) => void }): Promise<{ samples: FrameSample[]; presentations: { key: string; real: boolean; set: string; person: string; framesWithFace: number }[] }> {
  const cache = new Map<string, CachedFrame>();
  if (o.cacheFile && existsSync(o.cacheFile)) {
    for (const line of (await readFile(o.cacheFile, 'utf8')).split('\n')) {
      if (!line) continue;
      const c = JSON.parse(line) as CachedFrame;
      cache.set(c.file, c);
    }
  }
  let engine: FaceEngine | null = null;
  const entry = resolveEntryConfig({});
  const gate = qualityGate(entry.quality);
  const analyse = async (file: string): Promise<CachedFrame> => {
    const hit = cache.get(file);
    if (hit && (!hit.face || hit.f?.length === TEXTURE_FEATURES)) return hit;
    if (hit?.landmarks) {
      // analysed before the features changed: the landmarks stand, the features are computed again
      const c: CachedFrame = { ...hit, f: Array.from(textureFeatures(await decodeImage(await readFile(file)), hit.landmarks)) };
      cache.set(file, c);
      if (o.cacheFile) await appendFile(o.cacheFile, `${JSON.stringify(c)}\n`);
      return c;
    }
    if (!engine) {
      engine = new FaceEngine({ detector: 'tiny', detectorInputSize: entry.detector_input_size, detectorMinScore: entry.detector_min_score, liveness: false, ...engineChoice(entry, 'data', 'configured'), recognizer: { kind: 'faceapi' } });
      await engine.start();
    }
    const frame = await decodeImage(await readFile(file));
    const face = (await engine.analyse(frame, { allFaces: false, gate, liveness: false })).faces[0];
    const c: CachedFrame = face?.landmarks ? { file, face: true, f: Array.from(textureFeatures(frame, face.landmarks)), landmarks: Array.from(face.landmarks) } : { file, face: false };
    cache.set(file, c);
    if (o.cacheFile) await appendFile(o.cacheFile, `${JSON.stringify(c)}\n`);
    return c;
  };
  const samples: FrameSample[] = [];
  const presentations: { key: string; real: boolean; set: string; person: string; framesWithFace: number }[] = [];
  try {
    for (const [dirs, real] of [[sets.real, true], [sets.attack, false]] as const) {
      for (const dir of dirs) {
        const set = real ? 'real' : path.basename(path.resolve(dir));
        for (const p of await listPeople(dir)) {
          const key = `${real ? 'real' : 'attack'}:${dir}/${p.person}`;
          let used = 0;
          for (const file of p.files) {
            if (used >= o.maxFrames) break;
            const c = await analyse(path.resolve(file));
            if (!c.face || !c.f || !c.landmarks) continue;
            used++;
            samples.push({ f: c.f, real, presentation: key, person: personOf(p.person), set, landmarks: c.landmarks, file: c.file });
          }
          presentations.push({ key, real, set, person: personOf(p.person), framesWithFace: used });
        }
        o.log?.(`${dir}: ${samples.length} frames so far`);
      }
    }
  } finally {
    (engine as FaceEngine | null)?.stop();
  }
  return { samples, presentations };
}

/** The presentations with their frames and the geometry's own verdict (flat: a spoof whatever the texture). */
export function asPresentations(c: Awaited<ReturnType<typeof collectSamples>>, params: PassiveParams): CvPresentation[] {
  const byKey = new Map<string, FrameSample[]>();
  for (const s of c.samples) byKey.set(s.presentation, [...(byKey.get(s.presentation) ?? []), s]);
  return c.presentations.map((p) => {
    const frames = byKey.get(p.key) ?? [];
    return { key: p.key, real: p.real, person: p.person, set: p.set, frames, geometryFlat: judgeFlatness(frames.map((f) => f.landmarks), params).verdict === 'flat' };
  });
}
