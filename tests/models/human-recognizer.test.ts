/**
 * Human's faceres as a recognizer on onnxruntime-node: the converted graph gives the same
 * 1024-d descriptor as tfjs running Human's graph model, the engine gives unit descriptors
 * that tell the sample faces apart, and a model from a folder is pinned by its weights' sha256.
 */
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { estimateSimilarity } from '../../models/align.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { HumanRecognizer, templateFor, warpNhwc } from '../../models/human-recognizer.ts';
import { decodeImage } from '../../models/image.ts';
import { packageRoot, readModel } from '../../models/manifest.ts';
import { tfjsGraphToOnnx, type TfjsGraphJson } from '../../models/onnx/tfjs-graph.ts';
import { loadGraph, loadRuntime } from '../../models/runtime.ts';
import { samplePath } from '../../harness/portraits.ts';
import { tempDir } from '../ledger/helpers.ts';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '@tensorflow/tfjs';

const t = tempDir('faceres-');
afterAll(() => t.cleanup());

const l2 = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0));

describe("Human's faceres recognizer", () => {
  it('converts to ONNX with the descriptor tfjs computes (cosine ≥ 0.9999) on an aligned face', async () => {
    const engine = new FaceEngine({ detector: 'ssd', detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, engine: 'onnx' });
    await engine.start();
    const frame = await decodeImage(readFileSync(samplePath(2)));
    const m = await readModel('faceres');
    const onnxBytes = tfjsGraphToOnnx(JSON.parse(m.topology.toString('utf8')) as TfjsGraphJson, m.weights, 224, 'faceres', { inputDivisor: 1, output: 'global_pooling/Mean' });
    const session = await ort.InferenceSession.create(onnxBytes);
    const rt = await loadRuntime();
    const graph = await loadGraph(rt, m);
    try {
      const a = await engine.analyse(frame, { allFaces: false, gate: null, liveness: false });
      const box = a.faces[0]?.box;
      if (!box) throw new Error('no face in sample 2');
      // a crop of the face box (the exact crop does not matter for parity)
      const s = { a: 224 / box.width, b: 0, tx: -box.x * (224 / box.width), ty: -box.y * (224 / box.width) };
      const input = warpNhwc(frame, s, 224, new Float32Array(224 * 224 * 3));
      const ours = (await session.run({ input: new ort.Tensor('float32', input, [1, 224, 224, 3]) })).output?.data as Float32Array;
      const x = rt.tf.tensor4d(input, [1, 224, 224, 3]);
      const theirs = (graph.execute(x, 'global_pooling/Mean') as Tensor).dataSync() as Float32Array;
      x.dispose();
      expect(ours.length).toBe(1024);
      expect(theirs.length).toBe(1024);
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < 1024; i++) { dot += (ours[i] as number) * (theirs[i] as number); na += (ours[i] as number) ** 2; nb += (theirs[i] as number) ** 2; }
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.9999);
    } finally {
      graph.dispose();
      await session.release();
      engine.stop();
    }
  }, 120_000);

  it('gives 1024-d unit descriptors through the engine: a face is nearer its brighter copy than the other faces', async () => {
    const engine = new FaceEngine({ detector: 'ssd', detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, engine: 'onnx', recognizer: { kind: 'human-faceres' } });
    await engine.start();
    try {
      expect(engine.descriptorLength).toBe(1024);
      expect(engine.engine).toBe('onnx');
      // face-api's recognition net is not converted nor loaded when Human's model describes the faces
      expect(engine.faceApiRecognitionLoaded).toBe(false);
      const frame = await decodeImage(readFileSync(samplePath(2)));
      const bright = { ...frame, data: frame.data.map((v) => Math.min(255, Math.round(v * 1.2))) };
      const a = await engine.analyse(frame, { allFaces: true, gate: null, liveness: false });
      const b = await engine.analyse(bright, { allFaces: true, gate: null, liveness: false });
      expect(a.faces.length).toBeGreaterThanOrEqual(2);
      const d = a.faces.map((f) => f.descriptor as Float32Array);
      for (const x of d) expect(Math.hypot(...x)).toBeCloseTo(1, 4);
      const same = l2(d[0] as Float32Array, b.faces[0]?.descriptor as Float32Array);
      for (const other of d.slice(1)) expect(same).toBeLessThan(l2(d[0] as Float32Array, other));
    } finally {
      engine.stop();
    }
  }, 120_000);

  it('converts the model once: the next start reads the cached graph, and a damaged one is converted again', async () => {
    const dir = path.join(t.dir, 'onnx-cache');
    const first = await HumanRecognizer.load('faceres', undefined, undefined, { cacheDir: dir });
    await first.stop();
    const files = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^human-faceres-[0-9a-f]{16}\.onnx$/);
    const file = path.join(dir, files[0] as string);
    const built = statSync(file).mtimeMs;
    const second = await HumanRecognizer.load('faceres', undefined, undefined, { cacheDir: dir });
    await second.stop();
    expect(statSync(file).mtimeMs).toBe(built);
    // a truncated file does not match its .sha256: converted again, not loaded
    writeFileSync(file, readFileSync(file).subarray(0, 1000));
    const third = await HumanRecognizer.load('faceres', undefined, undefined, { cacheDir: dir });
    await third.stop();
    expect(statSync(file).size).toBeGreaterThan(1000);
    expect(readdirSync(dir).filter((f) => f.endsWith('.onnx'))).toEqual(files);
  }, 120_000);

  it('refuses a model from a folder whose weights differ from the configured sha256, naming the file', async () => {
    const root = path.join(packageRoot('@vladmandic/human'), 'models');
    copyFileSync(path.join(root, 'faceres.json'), path.join(t.dir, 'faceres-copy.json'));
    const json = JSON.parse(readFileSync(path.join(t.dir, 'faceres-copy.json'), 'utf8')) as TfjsGraphJson;
    const bin = path.join(t.dir, json.weightsManifest[0]?.paths[0] as string);
    const bytes = readFileSync(path.join(root, 'faceres.bin'));
    bytes[100] = (bytes[100] as number) ^ 1;
    writeFileSync(bin, bytes);
    await expect(HumanRecognizer.load('faceres', path.join(t.dir, 'faceres-copy.json'), '0'.repeat(64)))
      .rejects.toMatchObject({ code: 'MODEL_ALTERED', message: expect.stringContaining(bin) as string });
  });

  it('places the five points on the template widened around its centre', () => {
    const tpl = templateFor(224, 1.4);
    // the template mapped onto itself is the identity
    const m = estimateSimilarity(tpl, tpl);
    expect(m.a).toBeCloseTo(1, 6);
    expect(m.b).toBeCloseTo(0, 6);
    // eyes 35.2 px apart in the 112 template → 70.5 at 224, / 1.4
    expect((tpl[1] as { x: number }).x - (tpl[0] as { x: number }).x).toBeCloseTo((73.5318 - 38.2946) * 2 / 1.4, 3);
  });
});
