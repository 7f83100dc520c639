/**
 * The pluggable recognizer's plumbing, without shipping a real ArcFace model: five-point
 * alignment onto the insightface template, the input normalisation, and a tiny ONNX graph
 * written here (Conv 4×4/4 → Flatten → MatMul, [1,3,112,112] → [1,512]) run through
 * onnxruntime-node: embedding length, L2 normalisation, the sha256 refusal, a wrong length.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { ALIGNED_SIZE, alignedInput, applySimilarity, ARCFACE_TEMPLATE, estimateSimilarity, fivePoints, type Similarity } from '../../models/align.ts';
import { ArcFaceOnnx } from '../../models/arcface-onnx.ts';
import { FaceEngine, type RgbFrame } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { readFileSync } from 'node:fs';
import { samplePath } from '../../harness/portraits.ts';
import type { Point } from '../../models/quality.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('arcface-');
afterAll(() => t.cleanup());

/** A face seen by the camera: the template moved by a known similarity (scale 2.5, 15°, shifted). */
const camera: Similarity = (() => {
  const s = 2.5, r = (15 * Math.PI) / 180;
  return { a: s * Math.cos(r), b: s * Math.sin(r), tx: 180, ty: 60 };
})();
const seen = ARCFACE_TEMPLATE.map((p) => applySimilarity(camera, p));

/** 68 landmarks whose five derived points are `five` (each eye's six points spread around its centre). */
function landmarksWith(five: readonly Point[]): Point[] {
  const l: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  const ring = [[-3, 0], [-1, -2], [1, -2], [3, 0], [1, 2], [-1, 2]] as const;
  for (let i = 0; i < 6; i++) {
    l[36 + i] = { x: (five[0] as Point).x + ring[i]![0], y: (five[0] as Point).y + ring[i]![1] };
    l[42 + i] = { x: (five[1] as Point).x + ring[i]![0], y: (five[1] as Point).y + ring[i]![1] };
  }
  l[30] = five[2] as Point;
  l[48] = five[3] as Point;
  l[54] = five[4] as Point;
  return l;
}

function frameWithDots(width: number, height: number, dots: readonly Point[]): RgbFrame {
  const data = new Uint8Array(width * height * 3);
  for (const d of dots) {
    for (let y = Math.round(d.y) - 3; y <= Math.round(d.y) + 3; y++) {
      for (let x = Math.round(d.x) - 3; x <= Math.round(d.x) + 3; x++) data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return { width, height, data };
}

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

/** Deterministic weights in [−0.5, 0.5). */
function weights(n: number, seed: number): Float32Array {
  const w = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1664525 + 1013904223) % 2 ** 32; w[i] = x / 2 ** 32 - 0.5; }
  return w;
}

/** The tiny graph as ONNX protobuf: Conv(W [1,3,4,4], stride 4) → Flatten → MatMul(M [784, outLen]). */
function tinyArcFace(outLen: number): { bytes: Uint8Array; conv: Float32Array; mat: Float32Array } {
  const conv = weights(3 * 16, 7);
  const mat = weights(784 * outLen, 11);
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const valueInfo = (name: string, dims: number[]): onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'store-edge tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-arcface',
      node: [
        { opType: 'Conv', input: ['input', 'W'], output: ['c'], attribute: [ints('kernel_shape', [4, 4]), ints('strides', [4, 4])] },
        { opType: 'Flatten', input: ['c'], output: ['f'] },
        { opType: 'MatMul', input: ['f', 'M'], output: ['embedding'] },
      ],
      initializer: [
        { name: 'W', dims: [1, 3, 4, 4], dataType: FLOAT, floatData: Array.from(conv) },
        { name: 'M', dims: [784, outLen], dataType: FLOAT, floatData: Array.from(mat) },
      ],
      input: [valueInfo('input', [1, 3, 112, 112])],
      output: [valueInfo('embedding', [1, outLen])],
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), conv, mat };
}

/** The same network in plain arithmetic, as the reference. */
function reference(input: Float32Array, conv: Float32Array, mat: Float32Array, outLen: number): Float32Array {
  const f = new Float32Array(784);
  for (let oy = 0; oy < 28; oy++) for (let ox = 0; ox < 28; ox++) {
    let s = 0;
    for (let c = 0; c < 3; c++) for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
      s += (input[c * 112 * 112 + (oy * 4 + ky) * 112 + ox * 4 + kx] as number) * (conv[c * 16 + ky * 4 + kx] as number);
    }
    f[oy * 28 + ox] = s;
  }
  const out = new Float32Array(outLen);
  for (let j = 0; j < outLen; j++) { let s = 0; for (let i = 0; i < 784; i++) s += (f[i] as number) * (mat[i * outLen + j] as number); out[j] = s; }
  const n = Math.hypot(...out);
  return out.map((v) => v / n);
}

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
