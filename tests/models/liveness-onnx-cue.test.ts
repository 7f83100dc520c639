/**
 * The operator-supplied liveness net's plumbing (models/liveness/onnx-cue.ts), without any real
 * model: the crop around the face box, the input layout (planar RGB, 0..255), the sha256 and
 * load refusals, and a tiny ONNX graph written here (mean colour → [1,3] logits, class 0 "live"
 * when the crop is redder than it is blue) run through onnxruntime-node; then the passive
 * check's verdict with the net's probabilities (judgePassive).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/graph.ts';
import { CROP_SCALE, LIVENESS_INPUT, livenessCrop, livenessInput, OnnxLivenessNet, softmax } from '../../models/liveness/onnx-cue.ts';
import { judgePassive, type PassiveParams } from '../../models/liveness/passive.ts';
import type { RgbFrame } from '../../models/frame.ts';
import { tempDir } from '../ledger/helpers.ts';
import { writeModel } from './onnx-model-file.ts';

const t = tempDir('onnx-liveness-');
afterAll(() => t.cleanup());

/** logit0 = (mean R − mean B)/20, logit1 = 0, logit2 = −5: live when the crop is redder than blue. */
function colourLivenessGraph(): Uint8Array {
  const g = new GraphBuilder('tiny-liveness');
  const mean = g.node('ReduceMean', ['input'], { axes: [2, 3], keepdims: 0 });
  const mm = g.node('MatMul', [mean, g.float('w', [3, 3], [1 / 20, 0, 0, 0, 0, 0, -1 / 20, 0, 0])]);
  g.node('Add', [mm, g.float('b', [3], [0, 0, -5])], {}, 'output');
  return g.encode({ name: 'input', dims: [1, 3, LIVENESS_INPUT, LIVENESS_INPUT] }, [{ name: 'output', dims: [1, 3] }], 'test: colour liveness');
}

const solid = (w: number, h: number, rgb: [number, number, number]): RgbFrame => {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, 3 * i);
  return { width: w, height: h, data };
};

describe('the crop the net sees', () => {
  it('is the box widened 2.7 times about its centre, shifted back inside the frame at an edge', () => {
    const c = livenessCrop({ x: 280, y: 200, width: 80, height: 80 }, 640, 480);
    expect(CROP_SCALE).toBe(2.7);
    expect(c.width).toBe(216);
    expect(c.height).toBe(216);
    expect(c.x + c.width / 2).toBeCloseTo(320, 0);
    expect(c.y + c.height / 2).toBeCloseTo(240, 0);
    // near the left and top edges: same size, moved in (not cut)
    const e = livenessCrop({ x: 5, y: 5, width: 80, height: 80 }, 640, 480);
    expect([e.x, e.y, e.width, e.height]).toEqual([0, 0, 216, 216]);
    // a face larger than the frame allows: the widening is limited so the crop still fits
    const big = livenessCrop({ x: 100, y: 40, width: 300, height: 300 }, 640, 480);
    expect(big.height).toBeLessThanOrEqual(479);
    expect(big.y).toBeGreaterThanOrEqual(0);
  });

  it('is planar R, G, B at 0..255, resized to 128×128', () => {
    // left half red, right half blue
    const f = solid(400, 300, [0, 0, 0]);
    for (let y = 0; y < 300; y++) for (let x = 0; x < 400; x++) f.data.set(x < 200 ? [250, 10, 0] : [0, 10, 250], (y * 400 + x) * 3);
    const input = livenessInput(f, { x: 150, y: 100, width: 100, height: 100 });
    const plane = LIVENESS_INPUT * LIVENESS_INPUT;
    expect(input.length).toBe(3 * plane);
    const at = (ch: number, u: number, v: number) => input[ch * plane + v * LIVENESS_INPUT + u] as number;
    expect(at(0, 5, 64)).toBeCloseTo(250, 0); // R plane, left
    expect(at(2, 5, 64)).toBeCloseTo(0, 0);
    expect(at(0, 122, 64)).toBeCloseTo(0, 0); // R plane, right
    expect(at(2, 122, 64)).toBeCloseTo(250, 0);
    expect(at(1, 64, 64)).toBeCloseTo(10, 0);
  });

  it('softmax sums to one and keeps the order', () => {
    const p = softmax([2, 0, -1]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[0]).toBeGreaterThan(p[1] as number);
  });
});

describe('OnnxLivenessNet', () => {
  it('refuses a missing file, a different file, and one onnxruntime cannot load, naming it', async () => {
    const { file, sha256 } = writeModel(t.dir, 'net.onnx', colourLivenessGraph());
    await expect(OnnxLivenessNet.load(path.join(t.dir, 'absent.onnx'), sha256)).rejects.toMatchObject({ code: 'MODEL_MISSING' });
    await expect(OnnxLivenessNet.load(file, 'ab'.repeat(32))).rejects.toMatchObject({ code: 'MODEL_ALTERED', details: { file } });
    const junk = writeModel(t.dir, 'junk.onnx', new TextEncoder().encode('not a model'));
    await expect(OnnxLivenessNet.load(junk.file, junk.sha256)).rejects.toMatchObject({ code: 'MODEL_UNLOADABLE' });
    // a net with another input size is refused at load, not at the first villager
    const g = new GraphBuilder('wrong');
    g.node('ReduceMean', ['input'], { axes: [2, 3], keepdims: 0 }, 'output');
    const wrong = writeModel(t.dir, 'wrong.onnx', g.encode({ name: 'input', dims: [1, 3, 64, 64] }, [{ name: 'output', dims: [1, 3] }], 'wrong size'));
    await expect(OnnxLivenessNet.load(wrong.file, wrong.sha256)).rejects.toMatchObject({ code: 'MODEL_UNLOADABLE' });
  });

  it('runs the net on the face crop: the first probability is "live"', async () => {
    const { file, sha256 } = writeModel(t.dir, 'net2.onnx', colourLivenessGraph());
    const net = await OnnxLivenessNet.load(file, sha256.toUpperCase());
    try {
      const box = { x: 100, y: 80, width: 60, height: 60 };
      const red = await net.probabilities(solid(320, 240, [200, 60, 50]), box);
      expect(red).toHaveLength(3);
      expect(red[0]).toBeGreaterThan(0.99);
      expect(await net.live(solid(320, 240, [50, 60, 200]), box)).toBeLessThan(0.01);
      // only the crop counts: red around the face, blue far away from it
      const f = solid(640, 480, [50, 60, 200]);
      for (let y = 150; y < 330; y++) for (let x = 230; x < 410; x++) f.data.set([200, 60, 50], (y * 640 + x) * 3);
      expect(await net.live(f, { x: 300, y: 220, width: 40, height: 40 })).toBeGreaterThan(0.99);
    } finally {
      await net.stop();
    }
  });
});

describe('judgePassive with the net', () => {
  // eight frames of a face held perfectly still: the geometry alone cannot judge it
  const still = Array.from({ length: 8 }, () => {
    const pts = new Float32Array(136);
    for (let i = 0; i < 68; i++) { pts[2 * i] = 300 + 50 * Math.cos(i); pts[2 * i + 1] = 240 + 60 * Math.sin(i * 1.3); }
    return pts;
  });
  const p: PassiveParams = { minFrames: 6, minMotion: 0.015, minPairs: 3, liveRatio: 0.725, flatRatio: 0.33, noiseRatio: 0.92, net: { minLive: 0.6 } };

  it('live when the mean probability over enough frames reaches min_live, else uncertain', () => {
    expect(judgePassive(still, { ...p, net: undefined }).verdict).toBe('uncertain');
    const live = judgePassive(still, p, undefined, undefined, still.map(() => 0.9));
    expect(live.verdict).toBe('live');
    expect(live.net).toBeCloseTo(0.9, 6);
    expect(judgePassive(still, p, undefined, undefined, still.map(() => 0.5)).verdict).toBe('uncertain');
    expect(judgePassive(still.slice(0, 4), p, undefined, undefined, [1, 1, 1, 1]).verdict).toBe('uncertain');
  });

  it('with the texture cue too, both must agree', () => {
    const both = { ...p, texture: { threshold: 1 } };
    expect(judgePassive(still, both, undefined, still.map(() => 2), still.map(() => 0.9)).verdict).toBe('live');
    expect(judgePassive(still, both, undefined, still.map(() => 0), still.map(() => 0.9)).verdict).toBe('uncertain');
    expect(judgePassive(still, both, undefined, still.map(() => 2), still.map(() => 0.1)).verdict).toBe('uncertain');
  });

  it('the geometry keeps its veto: a plane tilted by hand is flat whatever the net says', () => {
    // the same points as a plane under a changing perspective
    const tilted = Array.from({ length: 8 }, (_, f) => {
      const a = still[0] as Float32Array;
      const out = new Float32Array(136);
      const k = 0.0006 * (f - 4);
      for (let i = 0; i < 68; i++) {
        const x = (a[2 * i] as number) - 300, y = (a[2 * i + 1] as number) - 240;
        const w = 1 + k * x;
        out[2 * i] = 300 + x / w;
        out[2 * i + 1] = 240 + y / w;
      }
      return out;
    });
    const j = judgePassive(tilted, { ...p, minMotion: 0 }, undefined, undefined, tilted.map(() => 1));
    expect(j.verdict).toBe('flat');
  });
});
