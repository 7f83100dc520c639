/**
 * The operator-supplied liveness net (`entry.liveness.passive.onnx_model`) through the code the
 * door, `faces present` and `faces evaluate-liveness` share: the engine runs it in the inference
 * worker on the face's box (only when asked), `presentFrames` and `judgePresentation` judge with
 * it. Two tiny ONNX graphs written here stand in for a real net: one calls a crop redder than it
 * is blue live (a face under ordinary light), the other one bluer than red (never a face here).
 * A face held perfectly still cannot be judged by the geometry: without a net it is uncertain;
 * with the "red" net it is matched, with the "blue" net uncertain.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../models/engine-client.ts';
import { FaceEngine, type RgbFrame } from '../../models/face-engine.ts';
import { Gallery } from '../../models/gallery.ts';
import { decodeImage } from '../../models/image.ts';
import { GraphBuilder } from '../../models/onnx/graph.ts';
import { LIVENESS_INPUT } from '../../models/liveness/onnx-cue.ts';
import { engineChoice, resolveEntryConfig } from '../../edge/entry/config.ts';
import { judgePresentation } from '../../edge/entry/liveness-evaluate.ts';
import { presentFrames } from '../../edge/entry/present.ts';
import { samplePath } from '../../harness/portraits.ts';
import { tempDir } from '../ledger/helpers.ts';
import { writeModel } from '../models/onnx-model-file.ts';

const t = tempDir('onnx-liveness-door-');
afterAll(() => t.cleanup());

/** logit0 = sign·(mean R − mean B)/10 over the crop; class 0 is "live". */
function graph(sign: 1 | -1): Uint8Array {
  const g = new GraphBuilder('tiny-liveness');
  const mean = g.node('ReduceMean', ['input'], { axes: [2, 3], keepdims: 0 });
  const mm = g.node('MatMul', [mean, g.float('w', [3, 3], [sign / 10, 0, 0, 0, 0, 0, -sign / 10, 0, 0])]);
  g.node('Add', [mm, g.float('b', [3], [0, 0, -5])], {}, 'output');
  return g.encode({ name: 'input', dims: [1, 3, LIVENESS_INPUT, LIVENESS_INPUT] }, [{ name: 'output', dims: [1, 3] }], 'test');
}

const red = writeModel(t.dir, 'red.onnx', graph(1));
const blue = writeModel(t.dir, 'blue.onnx', graph(-1));
let frame: RgbFrame;
const engines: Record<string, FaceEngine> = {};
const gallery = new Gallery(16);

const entryWith = (net: { file: string; sha256: string } | null) => resolveEntryConfig({
  engine: 'tfjs',
  match: { threshold: 0.45, uncertain_threshold: 0.5 },
  liveness: { enabled: false, passive: { enabled: true, ...(net ? { onnx_model: { path: net.file, sha256: net.sha256, min_live: 0.5 } } : {}) } },
});

beforeAll(async () => {
  frame = await decodeImage(readFileSync(samplePath(2)));
  for (const [name, net] of [['none', null], ['red', red], ['blue', blue]] as const) {
    const entry = entryWith(net);
    // the engine as the CLI builds it: engineChoice carries the configured net
    const e = new FaceEngine({ detector: 'tiny', detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, ...engineChoice(entry, t.dir, 'configured') });
    await e.start();
    engines[name] = e;
  }
  const d = (await (engines.none as FaceEngine).analyse(frame, { allFaces: false, gate: null, liveness: false })).faces[0]?.descriptor;
  if (!d) throw new Error('no descriptor for sample 2');
  gallery.add('A', [d]);
}, 180_000);

afterAll(() => { for (const e of Object.values(engines)) e.stop(); });

// twelve copies of the same frame, a pixel of shift apart: a face held perfectly still
const still = (): RgbFrame[] => Array.from({ length: 12 }, () => ({ ...frame, data: frame.data.slice() }));

describe('the liveness net in the passive check', () => {
  it('is run by the engine only when asked, and only when configured', async () => {
    const redEngine = engines.red as FaceEngine;
    const asked = (await redEngine.analyse(frame, { allFaces: false, gate: null, liveness: false, livenessNet: true })).faces[0];
    expect(asked?.liveNet).toBeGreaterThan(0.5);
    expect((await redEngine.analyse(frame, { allFaces: false, gate: null, liveness: false })).faces[0]?.liveNet).toBeUndefined();
    expect((await (engines.blue as FaceEngine).analyse(frame, { allFaces: false, gate: null, liveness: false, livenessNet: true })).faces[0]?.liveNet).toBeLessThan(0.5);
    expect((await (engines.none as FaceEngine).analyse(frame, { allFaces: false, gate: null, liveness: false, livenessNet: true })).faces[0]?.liveNet).toBeUndefined();
  }, 60_000);

  it('faces present: a still face is matched only with a net that says live', async () => {
    const present = async (name: 'none' | 'red' | 'blue', net: { file: string; sha256: string } | null) => {
      const frames = still();
      let i = 0;
      return presentFrames(engines[name] as FaceEngine, gallery, entryWith(net), async () => frames[i++] ?? null);
    };
    const none = await present('none', null);
    expect(none.decision, none.seen.join(',')).toBe('uncertain');
    const live = await present('red', red);
    expect(live.decision, live.seen.join(',')).toBe('matched');
    expect(live.villager).toBe('A');
    const notLive = await present('blue', blue);
    expect(notLive.decision, notLive.seen.join(',')).toBe('uncertain');
    expect(notLive.villager).toBeNull();
  }, 120_000);

  it('faces evaluate-liveness: the presentation is judged with the net, its mean probability reported', async () => {
    const p = { person: 'p1', files: Array.from({ length: 8 }, (_, i) => `f${i}.jpg`) };
    const decode = async () => ({ ...frame, data: frame.data.slice() });
    const live = await judgePresentation(engines.red as FaceEngine, entryWith(red), p, decode);
    expect(live.verdict).toBe('live');
    expect(live.net).toBeGreaterThan(0.5);
    const notLive = await judgePresentation(engines.blue as FaceEngine, entryWith(blue), p, decode);
    expect(notLive.verdict).toBe('uncertain');
    expect(notLive.net).toBeLessThan(0.5);
  }, 120_000);

  it('runs in the inference worker (the door\'s path), and a different file is refused at start', async () => {
    const entry = entryWith(red);
    const client = new EngineClient({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, ...engineChoice(entry, t.dir), engine: 'tfjs' });
    await client.start();
    try {
      const rec = await client.recognise({ ...frame, data: frame.data.slice() }, { gate: null, liveness: false, livenessNet: true });
      expect(rec.face?.liveNet).toBeGreaterThan(0.5);
    } finally {
      await client.stop();
    }
    const altered = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, livenessNet: { path: red.file, sha256: blue.sha256 } });
    await expect(altered.start()).rejects.toMatchObject({ code: 'MODEL_ALTERED' });
    altered.stop();
  }, 120_000);
});
