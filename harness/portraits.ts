/**
 * Test material from the real sample photos in node_modules (never copied into the repo):
 * every face of every sample, cut out as a portrait by one rule (the detection box enlarged
 * 2.2× around its centre), and the "other views" a door camera sees (flipped, brighter, darker, recompressed, scaled, shifted).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbFrame } from '../models/face-engine.ts';
import type { FaceAnalyser } from '../edge/entry/enrol.ts';
import { decodeImage } from '../models/image.ts';

const require = createRequire(import.meta.url);
export const SAMPLE_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
export const samplePath = (i: number): string => path.join(SAMPLE_DIR, `sample${i}.jpg`);

export interface Portrait { id: string; sample: number; jpeg: Buffer }

export async function portraits(engine: FaceAnalyser, samples: readonly number[]): Promise<Portrait[]> {
  const out: Portrait[] = [];
  for (const i of samples) {
    const src = readFileSync(samplePath(i));
    const frame = await decodeImage(src);
    const a = await engine.analyse(frame, { allFaces: true, gate: null, liveness: false });
    const meta = await sharp(src).metadata();
    const scale = (meta.width ?? frame.width) / frame.width;
    for (const [j, f] of a.faces.entries()) {
      const cx = (f.box.x + f.box.width / 2) * scale;
      const cy = (f.box.y + f.box.height / 2) * scale;
      const side = Math.max(f.box.width, f.box.height) * 2.2 * scale;
      const left = Math.max(0, Math.round(cx - side / 2));
      const top = Math.max(0, Math.round(cy - side / 2));
      const region = {
        left,
        top,
        width: Math.min((meta.width ?? 0) - left, Math.round(side)),
        height: Math.min((meta.height ?? 0) - top, Math.round(side)),
      };
      out.push({ id: `s${i}f${j}`, sample: i, jpeg: await sharp(src).extract(region).jpeg({ quality: 92 }).toBuffer() });
    }
  }
  return out;
}

export type ViewName = 'flipped' | 'brighter' | 'darker' | 'jpeg40' | 'scaled0.6' | 'shifted';

export async function views(jpeg: Buffer): Promise<Record<ViewName, Buffer>> {
  const m = await sharp(jpeg).metadata();
  const w = m.width ?? 0;
  const h = m.height ?? 0;
  const dx = Math.round(w * 0.12);
  const dy = Math.round(h * 0.08);
  return {
    flipped: await sharp(jpeg).flop().jpeg({ quality: 92 }).toBuffer(),
    brighter: await sharp(jpeg).modulate({ brightness: 1.3 }).jpeg({ quality: 92 }).toBuffer(),
    darker: await sharp(jpeg).modulate({ brightness: 0.7 }).jpeg({ quality: 92 }).toBuffer(),
    jpeg40: await sharp(jpeg).jpeg({ quality: 40 }).toBuffer(),
    'scaled0.6': await sharp(jpeg).resize(Math.round(w * 0.6)).jpeg({ quality: 92 }).toBuffer(),
    shifted: await sharp(jpeg).extend({ left: dx, top: dy, background: '#7f7f7f' }).extract({ left: 0, top: 0, width: w, height: h }).jpeg({ quality: 92 }).toBuffer(),
  };
}

export const frameOf = (jpeg: Buffer): Promise<RgbFrame> => decodeImage(jpeg);

export function greyFrame(width: number, height: number): RgbFrame {
  return { width, height, data: new Uint8Array(width * height * 3).fill(127) };
}
