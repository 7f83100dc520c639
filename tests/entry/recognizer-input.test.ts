/**
 * An ONNX recognizer trained outside the insightface convention (issue #8): the three-point
 * affine crop, BGR order, another mean and scale, the dim-frame stretch (`entry.recognizer.input` / `align`),
 * checked with the tiny graph of tiny-arcface.ts against the network computed by hand, through
 * the config's validation and through the face engine on a real photo.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { affineFromThree, ALIGNED_SIZE, alignedInput, applyAffine, applySimilarity, ARCFACE_TEMPLATE, estimateSimilarity, fivePoints, warpAffine, warpSimilarity, affineOf, type Affine } from '../../models/align.ts';
import { ArcFaceOnnx } from '../../models/arcface-onnx.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { stretchContrast } from '../../models/frame.ts';
import { decodeImage } from '../../models/image.ts';
import type { Point } from '../../models/quality.ts';
import { recognizerLabel } from '../../models/recognizer.ts';
import { recognizerChoice, resolveEntryConfig } from '../../edge/entry/config.ts';
import { samplePath } from '../../harness/portraits.ts';
import { tempDir } from '../ledger/helpers.ts';
import { frameWithDots, landmarksWith, reference, seen, tinyArcFace } from './tiny-arcface.ts';

const t = tempDir('arcface-input-');
afterAll(() => t.cleanup());

const save = (name: string, bytes: Uint8Array): { file: string; sha256: string } => {
  const file = path.join(t.dir, name);
  writeFileSync(file, bytes);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
};

/** A face seen with shear (a head turned): the template through a known affine map that is no similarity. */
const sheared: Affine = { a: 2.4, b: 0.7, c: -0.3, d: 2.9, tx: 150, ty: 40 };
const seenSheared = ARCFACE_TEMPLATE.map((p) => applyAffine(sheared, p));

const close = (p: Point, q: Point): number => Math.hypot(p.x - q.x, p.y - q.y);

describe('the three-point affine crop', () => {
  it('takes the eyes and nose exactly onto the template, shear included (the similarity cannot)', () => {
    const five = fivePoints(landmarksWith(seenSheared));
    const m = affineFromThree(five.slice(0, 3), ARCFACE_TEMPLATE.slice(0, 3));
    for (let i = 0; i < 3; i++) expect(close(applyAffine(m, five[i] as Point), ARCFACE_TEMPLATE[i] as Point)).toBeLessThan(1e-6);
    // the inverse of the camera's map, so the mouth lands on the template too
    for (let i = 3; i < 5; i++) expect(close(applyAffine(m, five[i] as Point), ARCFACE_TEMPLATE[i] as Point)).toBeLessThan(1e-6);
    const s = affineOf(estimateSimilarity(five, ARCFACE_TEMPLATE));
    expect(Math.max(...five.map((p, i) => close(applyAffine(s, p), ARCFACE_TEMPLATE[i] as Point)))).toBeGreaterThan(1);
    expect(() => affineFromThree([{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 2 }], ARCFACE_TEMPLATE.slice(0, 3))).toThrow(/degenerate/);
  });

  it('resamples the sheared face so that the dots land on the template', () => {
    const five = fivePoints(landmarksWith(seenSheared));
    const input = alignedInput(frameWithDots(400, 400, seenSheared), affineFromThree(five.slice(0, 3), ARCFACE_TEMPLATE.slice(0, 3)));
    const at = (x: number, y: number): number => input[Math.round(y) * ALIGNED_SIZE + Math.round(x)] as number;
    for (const p of ARCFACE_TEMPLATE) {
      expect(at(p.x, p.y), `template point ${p.x},${p.y}`).toBeGreaterThan(0.9);
      expect(at(p.x, p.y - 6)).toBe(-1);
    }
  });

  it('a similarity through the affine resampler gives the very same pixels (the other crops are unchanged)', () => {
    const frame = frameWithDots(400, 400, seen);
    const m = estimateSimilarity(fivePoints(landmarksWith(seen)), ARCFACE_TEMPLATE);
    const a: number[] = [], b: number[] = [];
    warpSimilarity(frame, m, 64, (i, c, v) => { a[i * 3 + c] = v; });
    warpAffine(frame, affineOf(m), 64, (i, c, v) => { b[i * 3 + c] = v; });
    expect(b).toEqual(a);
    expect(a.some((v) => v > 0)).toBe(true);
    expect(close(applySimilarity(m, seen[0] as Point), applyAffine(affineOf(m), seen[0] as Point))).toBe(0);
  });
});

describe('the input normalisation', () => {
  it('puts blue first with bgr and applies (x − mean) / std; unset it is RGB (x − 127.5)/127.5', () => {
    const data = new Uint8Array(200 * 200 * 3);
    for (let i = 0; i < data.length; i += 3) { data[i] = 255; data[i + 1] = 51; data[i + 2] = 0; }
    const frame = { width: 200, height: 200, data };
    const id = { a: 1, b: 0, tx: 0, ty: 0 };
    const plane = ALIGNED_SIZE * ALIGNED_SIZE;
    const bgr = alignedInput(frame, id, ALIGNED_SIZE, undefined, { channels: 'bgr', mean: 127, std: 128 });
    expect(bgr[5]).toBeCloseTo(-127 / 128, 6); // blue plane first
    expect(bgr[plane + 5]).toBeCloseTo((51 - 127) / 128, 6);
    expect(bgr[2 * plane + 5]).toBeCloseTo(1, 6); // (255 − 127)/128
    const rgb = alignedInput(frame, id);
    expect([rgb[5], rgb[2 * plane + 5]]).toEqual([1, -1]);
  });
});

describe('an ONNX recognizer configured with its own convention', () => {
  it('gives the descriptor of the network computed by hand on the input so made, not the default one', async () => {
    const net = tinyArcFace(512);
    const { file, sha256 } = save('tiny.onnx', net.bytes);
    const options = { input: { channels: 'bgr', mean: 127, std: 128 }, align: 'three-point' } as const;
    const [own, plain] = await Promise.all([ArcFaceOnnx.load(file, sha256, options), ArcFaceOnnx.load(file, sha256)]);
    try {
      const frame = frameWithDots(400, 400, seenSheared);
      const landmarks = landmarksWith(seenSheared);
      const d = await own.describe(frame, landmarks);
      const five = fivePoints(landmarks);
      const ref = reference(alignedInput(frame, affineFromThree(five.slice(0, 3), ARCFACE_TEMPLATE.slice(0, 3)), ALIGNED_SIZE, undefined, { channels: 'bgr', mean: 127, std: 128 }), net.conv, net.mat, 512);
      expect(Math.max(...d.map((v, i) => Math.abs(v - (ref[i] as number))))).toBeLessThan(1e-4);
      const p = await plain.describe(frame, landmarks);
      expect(Math.max(...p.map((v, i) => Math.abs(v - (d[i] as number))))).toBeGreaterThan(1e-2);
    } finally {
      await Promise.all([own.stop(), plain.stop()]);
    }
  });
});

describe('stretch_dim', () => {
  it('describes a dim frame as its contrast-stretched copy, and a bright frame as it is', async () => {
    const net = tinyArcFace(512);
    const { file, sha256 } = save('tiny-dim.onnx', net.bytes);
    const [stretching, plain] = await Promise.all([ArcFaceOnnx.load(file, sha256, { input: { stretchDim: true } }), ArcFaceOnnx.load(file, sha256)]);
    try {
      const bright = frameWithDots(400, 400, seen);
      for (let i = 0; i < bright.data.length; i++) bright.data[i] = Math.max(bright.data[i] as number, (i * 7) % 250);
      const dim = { ...bright, data: bright.data.map((v) => Math.round(v * 0.4)) };
      const landmarks = landmarksWith(seen);
      const diff = (x: Float32Array, y: Float32Array): number => Math.max(...x.map((v, i) => Math.abs(v - (y[i] as number))));
      expect(diff(await stretching.describe(bright, landmarks), await plain.describe(bright, landmarks))).toBe(0);
      expect(stretchContrast(dim)).not.toBe(dim);
      expect(diff(await stretching.describe(dim, landmarks), await plain.describe(stretchContrast(dim), landmarks))).toBe(0);
      expect(diff(await stretching.describe(dim, landmarks), await plain.describe(dim, landmarks))).toBeGreaterThan(1e-2);
    } finally {
      await Promise.all([stretching.stop(), plain.stop()]);
    }
  });
});

describe('entry.recognizer.input and align in the config', () => {
  const model = { kind: 'onnx-arcface', path: 'models/fr_feature.onnx', sha256: 'A'.repeat(64) };

  it('are kept as given, reach the engine and the label; unset, nothing is added', () => {
    const entry = resolveEntryConfig({ recognizer: { ...model, input: { mean: 127, std: 128 }, align: 'three-point' } });
    const choice = recognizerChoice(entry.recognizer, '/data');
    expect(choice).toEqual({ kind: 'onnx-arcface', path: '/data/models/fr_feature.onnx', sha256: 'a'.repeat(64), input: { mean: 127, std: 128 }, align: 'three-point' });
    expect(recognizerLabel(choice)).toBe('onnx-arcface:fr_feature.onnx[mean=127,std=128,three-point]');
    const plain = recognizerChoice(resolveEntryConfig({ recognizer: model }).recognizer, '/data');
    expect(plain).toEqual({ kind: 'onnx-arcface', path: '/data/models/fr_feature.onnx', sha256: 'a'.repeat(64) });
    expect(recognizerLabel(plain)).toBe('onnx-arcface:fr_feature.onnx');
    // the convention written out as the default is the default
    expect(recognizerLabel(recognizerChoice(resolveEntryConfig({ recognizer: { ...model, input: { channels: 'rgb', mean: 127.5, std: 127.5 }, align: 'five-point' } }).recognizer, '/data'))).toBe('onnx-arcface:fr_feature.onnx');
    expect(recognizerLabel({ kind: 'onnx-arcface', path: '/m/fr_feature.onnx', sha256: 'a'.repeat(64), input: { channels: 'bgr' } })).toBe('onnx-arcface:fr_feature.onnx[bgr]');
    const dim = recognizerChoice(resolveEntryConfig({ recognizer: { ...model, input: { stretch_dim: true } } }).recognizer, '/data');
    expect(dim).toMatchObject({ input: { stretchDim: true } });
    expect(recognizerLabel(dim)).toBe('onnx-arcface:fr_feature.onnx[stretch-dim]');
  });

  it.each([
    [{ input: { mean: 300 } }, /input\.mean must be a pixel value from 0 to 255, got 300/, /input\.mean 须为 0 到 255/],
    [{ input: { std: 0 } }, /input\.std must be above 0 and at most 255, got 0/, /input\.std 须大于 0/],
    [{ input: { std: -1 } }, /input\.std must be above 0/, /input\.std/],
  ])('refuses %j with a message naming the key, in English and Chinese', (extra, en, zh) => {
    expect(() => resolveEntryConfig({ recognizer: { ...model, ...extra } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(en) as string, zh: expect.stringMatching(zh) as string }) as Error);
  });

  it('refuses an unknown channel order, crop or key', () => {
    for (const extra of [{ input: { channels: 'rgba' } }, { align: 'four-point' }, { input: { scale: 2 } }]) {
      expect(() => resolveEntryConfig({ recognizer: { ...model, ...extra } }), JSON.stringify(extra)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('/recognizer') as string }) as Error);
    }
  });
});

describe('the face engine with the convention configured', () => {
  it("describes a real face as the recognizer alone does on the engine's landmarks", async () => {
    const { file, sha256 } = save('engine.onnx', tinyArcFace(512).bytes);
    const options = { input: { mean: 127, std: 128 }, align: 'three-point' } as const;
    const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, recognizer: { kind: 'onnx-arcface', path: file, sha256, ...options } });
    await engine.start();
    const [own, plain] = await Promise.all([ArcFaceOnnx.load(file, sha256, options), ArcFaceOnnx.load(file, sha256)]);
    try {
      const frame = await decodeImage(readFileSync(samplePath(3)));
      const a = await engine.analyse(frame, { allFaces: false, gate: null, liveness: false });
      const f = a.faces[0];
      expect(f?.descriptor?.length).toBe(512);
      const pts = Array.from({ length: 68 }, (_, i) => ({ x: f!.landmarks![2 * i] as number, y: f!.landmarks![2 * i + 1] as number }));
      const cos = (x: Float32Array, y: Float32Array): number => x.reduce((s, v, i) => s + v * (y[i] as number), 0);
      expect(cos(f!.descriptor!, await own.describe(frame, pts))).toBeGreaterThan(0.9999);
      expect(cos(f!.descriptor!, await plain.describe(frame, pts))).toBeLessThan(0.9999);
    } finally {
      engine.stop();
      await Promise.all([own.stop(), plain.stop()]);
    }
  }, 120_000);
});

