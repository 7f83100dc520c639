/**
 * SSD misses a face that fills most of a photo; with `padRetry` the engine looks again in the
 * photo centred on a larger canvas and reports the face in the photo's own coordinates.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
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
      const src = await decodeImage(readFileSync(samplePath(2)));
      const all = await plain.analyse(src, { allFaces: true, gate: null, liveness: false });
      // a tight crop (1.2 × the box) of one face, as a 250 px photo
      const f = all.faces[2]?.box;
      if (!f) throw new Error('sample 2 has fewer than 3 faces');
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
