/**
 * The converted graphs' cache: built once per weights, read back while intact, rebuilt when
 * missing, damaged or made from other weights; a conversion that cannot run leaves the engine
 * on tfjs with a warning instead of stopping it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { readModel, type VerifiedModel } from '../../models/manifest.ts';
import { convertedNet } from '../../models/onnx/cache.ts';
import { tfjsGraphToOnnx, UnmappedOpError } from '../../models/onnx/tfjs-graph.ts';
import { decodeWeights } from '../../models/onnx/weights.ts';
import { greyFrame } from '../../harness/portraits.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'onnx-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const onnxFiles = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.onnx')).sort();

describe('the ONNX cache', () => {
  it('converts once, reads back, and rebuilds a missing or damaged file', async () => {
    const model = await readModel('faceLandmark68');
    const cache = path.join(dir, 'a');
    const first = await convertedNet('faceLandmark68', model, cache);
    expect(first.built).toBe(true);
    expect(onnxFiles(cache)).toEqual([path.basename(first.file)]);
    const again = await convertedNet('faceLandmark68', model, cache);
    expect(again.built).toBe(false);
    expect(again.bytes.equals(first.bytes)).toBe(true);

    truncateSync(first.file, 1000);
    const repaired = await convertedNet('faceLandmark68', model, cache);
    expect(repaired.built).toBe(true);
    expect(readFileSync(first.file).equals(first.bytes)).toBe(true);

    rmSync(first.file);
    expect((await convertedNet('faceLandmark68', model, cache)).built).toBe(true);
    expect(existsSync(first.file)).toBe(true);
  }, 60_000);

  it('two conversions at once into an empty folder both succeed with the same graph', async () => {
    const model = await readModel('faceLandmark68');
    const cache = path.join(dir, 'race');
    const [a, b] = await Promise.all([convertedNet('faceLandmark68', model, cache), convertedNet('faceLandmark68', model, cache)]);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(readdirSync(cache).sort()).toEqual([path.basename(a.file), `${path.basename(a.file)}.sha256`]);
  }, 60_000);

  it('builds a new file for other weights and removes the old one', async () => {
    const model = await readModel('faceLandmark68');
    const cache = path.join(dir, 'b');
    const old = await convertedNet('faceLandmark68', model, cache);
    // the same net with one weight changed, as an upgraded package would ship it
    const weights = Buffer.from(model.weights);
    weights[0] = (weights[0] as number) ^ 0xff;
    const changed: VerifiedModel = { ...model, weights, entry: { ...model.entry, weights: { ...model.entry.weights, sha256: 'f'.repeat(64) } } };
    const next = await convertedNet('faceLandmark68', changed, cache);
    expect(next.built).toBe(true);
    expect(next.file).not.toBe(old.file);
    expect(next.bytes.equals(old.bytes)).toBe(false);
    expect(onnxFiles(cache)).toEqual([path.basename(next.file)]);
  }, 60_000);

  it('refuses a shard that does not fit its manifest, naming the tensor', async () => {
    const model = await readModel('faceLandmark68');
    expect(() => decodeWeights(model.topology, model.weights.subarray(0, 1000))).toThrow(/dense0\/.* needs \d+ bytes/);
    const bad: VerifiedModel = { ...model, weights: model.weights.subarray(0, 1000) };
    await expect(convertedNet('faceLandmark68', bad, path.join(dir, 'c'))).rejects.toThrow(/converting faceLandmark68 failed/);
  });
});

describe('tfjs graph models', () => {
  it('an op the mapper does not know is named, so that model stays on tfjs', () => {
    const json = {
      modelTopology: { node: [
        { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } } },
        { name: 'y', op: 'Erf', input: ['x'] },
      ] },
      weightsManifest: [],
    };
    expect(() => tfjsGraphToOnnx(json, Buffer.alloc(0), 8, 'test')).toThrow(UnmappedOpError);
    expect(() => tfjsGraphToOnnx(json, Buffer.alloc(0), 8, 'test')).toThrow(/tfjs op Erf \(node y\) has no ONNX mapping/);
  });
});

describe('a conversion that cannot run', () => {
  it('leaves the engine on tfjs with the reason, and the engine still works', async () => {
    const blocked = path.join(dir, 'not-a-folder');
    writeFileSync(blocked, 'a file where the cache folder should be');
    const engine = new FaceEngine({ detectorInputSize: 256, detectorMinScore: 0.4, liveness: false, engine: 'onnx', onnxCacheDir: path.join(blocked, 'onnx') });
    try {
      await engine.start();
      expect(engine.engine).toBe('tfjs');
      expect(engine.fallback).toMatch(/ONNX engine unavailable, running on tfjs: .*(ENOTDIR|EEXIST)/);
      const a = await engine.analyse(greyFrame(320, 240), { allFaces: false, gate: null, liveness: false });
      expect(a.faceCount).toBe(0);
    } finally {
      engine.stop();
    }
  }, 120_000);
});
