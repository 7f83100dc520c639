/**
 * The pluggable recognizer's plumbing, without shipping a real ArcFace model: five-point
 * alignment onto the insightface template, the input normalisation, and a tiny ONNX graph
 * written by the test (tiny-arcface.ts: Conv 4×4/4 → Flatten → MatMul, [1,3,112,112] → [1,512]) run through
 * onnxruntime-node: embedding length, L2 normalisation, the sha256 refusal, a wrong length.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALIGNED_SIZE, alignedInput, applySimilarity, ARCFACE_TEMPLATE, estimateSimilarity, fivePoints, type Similarity } from '../../models/align.ts';
import { ArcFaceOnnx } from '../../models/arcface-onnx.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { samplePath } from '../../harness/portraits.ts';
import type { Point } from '../../models/quality.ts';
import { tempDir } from '../ledger/helpers.ts';
import { frameWithDots, landmarksWith, reference, seen, tinyArcFace } from './tiny-arcface.ts';

const t = tempDir('arcface-');
afterAll(() => t.cleanup());

describe('five-point alignment', () => {
  it('maps a known face\'s landmarks onto the template within a pixel', () => {
    const m = estimateSimilarity(fivePoints(landmarksWith(seen)), ARCFACE_TEMPLATE);
    for (const [i, p] of seen.entries()) {
      const q = applySimilarity(m, p);
      expect(Math.hypot(q.x - (ARCFACE_TEMPLATE[i] as Point).x, q.y - (ARCFACE_TEMPLATE[i] as Point).y)).toBeLessThan(1);
    }
    expect(Math.hypot(m.a, m.b)).toBeCloseTo(1 / 2.5, 6);
  });

  it('resamples the face so that the five points land on the template', () => {
    const frame = frameWithDots(400, 400, seen);
    const input = alignedInput(frame, estimateSimilarity(fivePoints(landmarksWith(seen)), ARCFACE_TEMPLATE));
    const at = (x: number, y: number): number => input[Math.round(y) * ALIGNED_SIZE + Math.round(x)] as number;
    for (const p of ARCFACE_TEMPLATE) {
      expect(at(p.x, p.y), `template point ${p.x},${p.y}`).toBeGreaterThan(0.9);
      expect(at(p.x, p.y - 5)).toBe(-1); // dark away from the dot
    }
  });

  it('normalises NCHW RGB as (x − 127.5)/127.5, black outside the frame', () => {
    const data = new Uint8Array(200 * 200 * 3);
    for (let i = 0; i < data.length; i += 3) { data[i] = 255; data[i + 1] = 51; data[i + 2] = 0; }
    const identityish: Similarity = { a: 1, b: 0, tx: 0, ty: 0 };
    const input = alignedInput({ width: 200, height: 200, data }, identityish);
    const plane = ALIGNED_SIZE * ALIGNED_SIZE;
    expect(input.length).toBe(3 * plane);
    expect(input[5]).toBe(1);
    expect(input[plane + 5]).toBeCloseTo((51 - 127.5) / 127.5, 6);
    expect(input[2 * plane + 5]).toBe(-1);
    const shifted = alignedInput({ width: 200, height: 200, data }, { a: 1, b: 0, tx: 150, ty: 0 });
    expect(shifted[10]).toBe(-1); // this output pixel comes from x = −140: outside
  });
});

const save = (name: string, bytes: Uint8Array): { file: string; sha256: string } => {
  const file = path.join(t.dir, name);
  writeFileSync(file, bytes);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
};

describe('ArcFace-family recognizer on onnxruntime-node', () => {
  it('gives a 512-d unit descriptor equal to the network computed by hand', async () => {
    const net = tinyArcFace(512);
    const { file, sha256 } = save('tiny.onnx', net.bytes);
    const r = await ArcFaceOnnx.load(file, sha256);
    try {
      const frame = frameWithDots(400, 400, seen);
      const d = await r.describe(frame, landmarksWith(seen));
      expect(d.length).toBe(512);
      expect(Math.hypot(...d)).toBeCloseTo(1, 5);
      const input = alignedInput(frame, estimateSimilarity(fivePoints(landmarksWith(seen)), ARCFACE_TEMPLATE));
      const ref = reference(input, net.conv, net.mat, 512);
      let maxErr = 0;
      for (let i = 0; i < 512; i++) maxErr = Math.max(maxErr, Math.abs((d[i] as number) - (ref[i] as number)));
      expect(maxErr).toBeLessThan(1e-4);
    } finally {
      await r.stop();
    }
  });

  it('refuses a file whose sha256 differs, naming the file', async () => {
    const { file } = save('other.onnx', tinyArcFace(512).bytes);
    await expect(ArcFaceOnnx.load(file, 'ab'.repeat(32))).rejects.toMatchObject({ code: 'MODEL_ALTERED', details: { file }, message: expect.stringContaining(file) as string });
    await expect(ArcFaceOnnx.load(path.join(t.dir, 'absent.onnx'), 'ab'.repeat(32))).rejects.toMatchObject({ code: 'MODEL_MISSING' });
  });

  it('refuses an output that is not 512 long', async () => {
    const { file, sha256 } = save('short.onnx', tinyArcFace(100).bytes);
    const r = await ArcFaceOnnx.load(file, sha256);
    try {
      await expect(r.describe(frameWithDots(400, 400, seen), landmarksWith(seen))).rejects.toMatchObject({ code: 'ENGINE_FAILED', message: expect.stringContaining('100 values') as string });
    } finally {
      await r.stop();
    }
  });
});

describe('the face engine with an ONNX recognizer configured', () => {
  it('refuses to start with an altered model file, and otherwise gives 512-d descriptors of real faces', async () => {
    const { file, sha256 } = save('engine.onnx', tinyArcFace(512).bytes);
    const opts = { detectorInputSize: 416, detectorMinScore: 0.4, liveness: false } as const;
    await expect(new FaceEngine({ ...opts, recognizer: { kind: 'onnx-arcface', path: file, sha256: 'cd'.repeat(32) } }).start()).rejects.toMatchObject({ code: 'MODEL_ALTERED', details: { file } });
    const engine = new FaceEngine({ ...opts, recognizer: { kind: 'onnx-arcface', path: file, sha256 } });
    await engine.start();
    try {
      expect(engine.descriptorLength).toBe(512);
      // face-api's own recognition net is dead weight with another recognizer: never loaded
      expect(engine.faceApiRecognitionLoaded).toBe(false);
      const a = await engine.analyse(await decodeImage(readFileSync(samplePath(3))), { allFaces: true, gate: null, liveness: false });
      expect(a.faces.length).toBeGreaterThan(0);
      for (const f of a.faces) {
        expect(f.descriptor?.length).toBe(512);
        expect(Math.hypot(...(f.descriptor as Float32Array))).toBeCloseTo(1, 4);
      }
    } finally {
      engine.stop();
    }
  }, 120_000);

  it("loads face-api's recognition net only with the default recognizer (after the test above, on the same runtime)", async () => {
    const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
    expect(engine.usesFaceApiRecognition).toBe(true);
    await engine.start();
    try {
      expect(engine.faceApiRecognitionLoaded).toBe(true);
      const a = await engine.analyse(await decodeImage(readFileSync(samplePath(3))), { allFaces: false, gate: null, liveness: false });
      expect(a.faces[0]?.descriptor?.length).toBe(128);
    } finally {
      engine.stop();
    }
  }, 120_000);
});

describe('templates enrolled with another recognizer', () => {
  it('are refused with a bilingual message naming the villagers and telling the operator to enrol again', async () => {
    const { tempLedger } = await import('../ledger/helpers.ts');
    const { addVillager, setFaceConsent } = await import('../../edge/ledger/villagers.ts');
    const { addTemplates, loadGallery, loadOrCreateTemplateKey } = await import('../../edge/entry/templates.ts');
    const { resolveEntryConfig } = await import('../../edge/entry/config.ts');
    const { enrolVillager } = await import('../../edge/entry/enrol.ts');
    const ledger = tempLedger();
    try {
      const key = loadOrCreateTemplateKey(path.join(ledger.dir, 'keys', 'face.key'));
      addVillager(ledger.db, { id: 'w1', name: '王一', village: 'v1' });
      setFaceConsent(ledger.db, 'w1', 'self');
      const old = new Float32Array(128).fill(1 / Math.sqrt(128));
      addTemplates(ledger.db, key, 'w1', [{ descriptor: old, quality: null, source: 'a.jpg' }], 'x');
      const faceapi = resolveEntryConfig({});
      expect(loadGallery(ledger.db, key, faceapi)[0]?.descriptors[0]?.length).toBe(128);
      const faceres = resolveEntryConfig({ recognizer: { kind: 'human-faceres' } });
      const expected = {
        code: 'FACE_TEMPLATES_OTHER_RECOGNIZER',
        message: expect.stringMatching(/1 villager\(s\) \(w1\) were made by another recognizer \(128 values; entry\.recognizer human-faceres makes 1024\): remove them .* and enrol those villagers again/) as string,
        zh: expect.stringContaining('重新录入') as string,
      };
      expect(() => loadGallery(ledger.db, key, faceres)).toThrow(expect.objectContaining(expected) as Error);
      // enrolling another villager with the new recognizer meets the old templates in the collision check
      addVillager(ledger.db, { id: 'w2', name: '王二', village: 'v1' });
      setFaceConsent(ledger.db, 'w2', 'self');
      const analyser = { analyse: () => Promise.resolve({ width: 1, height: 1, faceCount: 1, nearFaces: 1, times: { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 }, faces: [{ box: { x: 0, y: 0, width: 100, height: 100 }, score: 1, quality: { faceSize: 100, sharpness: 1, yaw: 0, pitch: 0, roll: 0 }, rejected: null, descriptor: new Float32Array(1024).fill(1 / 32), liveness: null }] }) };
      await expect(enrolVillager(ledger.db, key, analyser, faceres, 'w2', [{ name: 'b.jpg', frame: { width: 1, height: 1, data: new Uint8Array(3) } }], 'x')).rejects.toMatchObject(expected);
    } finally {
      ledger.cleanup();
    }
  });
});
