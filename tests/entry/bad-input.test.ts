/** Bad input gives a clear error or a no_face decision; the engine keeps working afterwards. */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { EngineClient } from '../../models/engine-client.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { MODEL_MANIFEST, packageRoot, readModel } from '../../models/manifest.ts';
import { tempDir } from '../ledger/helpers.ts';
import { greyFrame, samplePath } from '../../harness/portraits.ts';

const opts = { gate: null, liveness: true } as const;
const client = new EngineClient({ detectorInputSize: 320, detectorMinScore: 0.4, liveness: true });
beforeAll(() => client.start(), 60_000);
afterAll(() => client.stop());

describe('bad input', () => {
  it('refuses a truncated JPEG with IMAGE_INVALID', async () => {
    const jpeg = readFileSync(samplePath(2));
    await expect(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(decodeImage(Buffer.alloc(0))).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(decodeImage(Buffer.from('not an image at all'))).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
  });

  it('refuses zero-sized and inconsistent frames in the worker, and keeps recognising', async () => {
    await expect(client.recognise({ width: 0, height: 0, data: new Uint8Array(0) }, opts)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(client.recognise({ width: 10, height: 10, data: new Uint8Array(7) }, opts)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(client.recognise({ width: 5000, height: 5000, data: new Uint8Array(3) }, opts)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    const r = await client.recognise(await decodeImage(readFileSync(samplePath(2)), { maxSide: 640, maxInputPixels: 1e8 }), opts);
    expect(r.faceCount).toBeGreaterThan(0);
    expect(r.face?.liveness?.real).toBeGreaterThan(0);
  });

  it('scales a 10,000×10,000 image down on decoding, and finds no face in it', async () => {
    const huge = await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#6a7b8c' } }).jpeg({ quality: 50 }).toBuffer();
    const frame = await decodeImage(huge);
    expect(Math.max(frame.width, frame.height)).toBe(1280);
    const r = await client.recognise(frame, opts);
    expect(r).toMatchObject({ faceCount: 0, face: null, match: null });
  }, 60_000);

  it('finds no face in a grey frame', async () => {
    expect(await client.recognise(greyFrame(640, 480), opts)).toMatchObject({ faceCount: 0, face: null });
  });

  it('stops start-up with MODEL_ALTERED naming the file when a weight file is altered, MODEL_MISSING when absent', async () => {
    const tmp = tempDir('models-');
    try {
      const src = packageRoot('@vladmandic/face-api');
      const root = path.join(tmp.dir, 'face-api');
      mkdirSync(path.join(root, 'model'), { recursive: true });
      for (const name of ['tinyFaceDetector', 'faceLandmark68', 'faceRecognition'] as const) {
        const e = MODEL_MANIFEST[name];
        for (const f of [e.topology, e.weights]) copyFileSync(path.join(src, f.file), path.join(root, f.file));
      }
      const victim = path.join(root, MODEL_MANIFEST.faceLandmark68.weights.file);
      const bytes = readFileSync(victim);
      bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
      writeFileSync(victim, bytes);
      const engine = new FaceEngine({ detectorInputSize: 320, detectorMinScore: 0.4, liveness: false, roots: { '@vladmandic/face-api': root } });
      await expect(engine.start()).rejects.toMatchObject({ code: 'MODEL_ALTERED', details: { model: 'faceLandmark68', file: victim } });
      writeFileSync(victim, bytes.subarray(0, 100));
      await expect(readModel('faceLandmark68', { '@vladmandic/face-api': root })).rejects.toMatchObject({ code: 'MODEL_ALTERED' });
      await expect(readModel('faceRecognition', { '@vladmandic/face-api': path.join(tmp.dir, 'nowhere') })).rejects.toMatchObject({ code: 'MODEL_MISSING' });
    } finally {
      tmp.cleanup();
    }
  });
});
