/**
 * SSD misses a face that fills most of a photo; with `padRetry` the engine looks again in the
 * photo centred on a larger canvas and reports the face in the photo's own coordinates.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { stretchContrast } from '../../models/frame.ts';
import { decodeImage } from '../../models/image.ts';
import { samplePath } from '../../harness/portraits.ts';

describe('a photo filled by one face', () => {
  it('is missed by SSD alone and found when the engine looks again padded, inside the photo', async () => {
    const opts = { detector: 'ssd' as const, detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, engine: 'onnx' as const };
    const plain = new FaceEngine(opts);
    const padded = new FaceEngine({ ...opts, padRetry: true });
    await plain.start();
    await padded.start();
    try {
      const src = await decodeImage(readFileSync(samplePath(4)));
      const all = await plain.analyse(src, { allFaces: true, gate: null, liveness: false });
      // a tight crop (1.2 × the box) of the largest face, as a 250 px photo (missed from 1.0 to 1.4 × the box)
      const f = all.faces[0]?.box;
      if (!f) throw new Error('no face in sample 4');
      const side = Math.round(Math.max(f.width, f.height) * 1.2);
      const left = Math.max(0, Math.round(f.x + f.width / 2 - side / 2));
      const top = Math.max(0, Math.round(f.y + f.height / 2 - side / 2));
      const jpeg = await sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } })
        .extract({ left, top, width: Math.min(side, src.width - left), height: Math.min(side, src.height - top) }).resize(250, 250).jpeg().toBuffer();
      const photo = await decodeImage(jpeg);
      expect((await plain.analyse(photo, { allFaces: true, gate: null, liveness: false })).faceCount).toBe(0);
      const a = await padded.analyse(photo, { allFaces: true, gate: null, liveness: false });
      expect(a.faceCount).toBe(1);
      const box = a.faces[0]?.box;
      expect(box?.width).toBeGreaterThan(150);
      expect(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= 250 && box.y + box.height <= 250).toBe(true);
      expect(a.faces[0]?.descriptor?.length).toBe(128);
    } finally {
      plain.stop();
      padded.stop();
    }
  }, 120_000);
});

describe('a dim frame', () => {
  it('is stretched for the detector only when its brightest 1 % stays below 140', () => {
    // every value 0..255 (the histogram samples every 7th, coprime with 256)
    const full = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => i % 256) };
    expect(stretchContrast(full)).toBe(full);
    const flat = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => 100 + (i % 101)) };
    expect(stretchContrast(flat)).toBe(flat); // low in contrast but not dim
    const dim = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => 10 + (i % 101)) };
    const s = stretchContrast(dim);
    expect(Math.min(...s.data)).toBe(0);
    expect(Math.max(...s.data)).toBe(255);
    expect(dim.data[0]).toBe(10); // the frame itself is not changed
  });

  it('still shows the detector every face of a photo darkened as a dim doorway', async () => {
    const engine = new FaceEngine({ detector: 'ssd', detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, engine: 'onnx' });
    await engine.start();
    try {
      const src = await decodeImage(readFileSync(samplePath(2)));
      const lut = Uint8Array.from({ length: 256 }, (_, v) => Math.round(255 * 0.25 * (v / 255) ** 2));
      const dark = { ...src, data: src.data.map((v) => lut[v] as number) };
      const lit = await engine.analyse(src, { allFaces: true, gate: null, liveness: false });
      const dim = await engine.analyse(dark, { allFaces: true, gate: null, liveness: false });
      expect(lit.faceCount).toBeGreaterThanOrEqual(2);
      expect(dim.faceCount).toBe(lit.faceCount);
    } finally {
      engine.stop();
    }
  }, 120_000);
});
