/**
 * Faces for scenarios: `{photo: "sample2.jpg", index: 0}` is the first face from the left in
 * that photo of face-api's demo folder (node_modules, never copied into the repo), cut out
 * as a portrait the way a door camera frames one person.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import type { FaceAnalyser } from '../../edge/entry/enrol.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { ScenarioFace } from './scenario.ts';

const require = createRequire(import.meta.url);

export function samplePhotoPath(photo: string): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', photo);
}

/** The portrait (as a decoded frame) of one face of a sample photo. */
export async function portraitOf(engine: FaceAnalyser, face: ScenarioFace): Promise<RgbFrame> {
  let src: Buffer;
  try {
    src = await readFile(samplePhotoPath(face.photo));
  } catch {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `no sample photo ${face.photo} in face-api's demo folder`, { zh: `找不到示例照片 ${face.photo}` });
  }
  const frame = await decodeImage(src);
  const a = await engine.analyse(frame, { allFaces: true, gate: null, liveness: false });
  const faces = [...a.faces].sort((x, y) => x.box.x - y.box.x);
  const f = faces[face.index];
  if (!f) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${face.photo} has ${faces.length} faces; index ${face.index} does not exist`, { zh: `照片 ${face.photo} 中没有第 ${face.index + 1} 张人脸` });
  const meta = await sharp(src).metadata();
  const scale = (meta.width ?? frame.width) / frame.width;
  const cx = (f.box.x + f.box.width / 2) * scale;
  const cy = (f.box.y + f.box.height / 2) * scale;
  const side = Math.max(f.box.width, f.box.height) * 2.2 * scale;
  const left = Math.max(0, Math.round(cx - side / 2));
  const top = Math.max(0, Math.round(cy - side / 2));
  const region = { left, top, width: Math.min((meta.width ?? 0) - left, Math.round(side)), height: Math.min((meta.height ?? 0) - top, Math.round(side)) };
  return decodeImage(await sharp(src).extract(region).jpeg({ quality: 92 }).toBuffer());
}
