/**
 * The converted nets against face-api's own (tfjs) on the package's sample photos, net by net
 * on the same inputs: SSD detections (same count, IoU ≥ 0.95), 68 landmarks (within 1 px) and
 * descriptors (cosine ≥ 0.9999); then the whole engine on both runtimes (same faces, same
 * descriptors). The graphs are converted into a fresh folder, so the converter runs here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine, type FrameAnalysis, type RgbFrame } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { readModel } from '../../models/manifest.ts';
import { OnnxFaceNets } from '../../models/onnx/nets.ts';
import { loadFaceApiNet, loadGraph, loadRuntime, type Runtime } from '../../models/runtime.ts';
import { samplePath } from '../../harness/portraits.ts';

const SAMPLES = [1, 2, 3, 4, 5, 6];
const cacheDir = mkdtempSync(path.join(tmpdir(), 'onnx-parity-'));
let rt: Runtime;
let nets: OnnxFaceNets;
const frames: RgbFrame[] = [];

type Det = InstanceType<Runtime['faceapi']['FaceDetection']>;
interface Rect { x: number; y: number; width: number; height: number }

function iou(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = Math.max(0, w) * Math.max(0, h);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

async function tfjsFaces(frame: RgbFrame): Promise<Det[]> {
  const input = rt.tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  try {
    return await rt.faceapi.nets.ssdMobilenetv1.locateFaces(input as never, new rt.faceapi.SsdMobilenetv1Options({ minConfidence: 0.4, maxResults: 20 }));
  } finally {
    input.dispose();
  }
}

/** Runs one tfjs net on the frame's integer region, as face-api's extractFaceTensors cuts it. */
async function onCrop<T>(frame: RgbFrame, box: Rect, run: (crop: unknown) => Promise<T>): Promise<T> {
  const input = rt.tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  const [crop] = await rt.faceapi.extractFaceTensors(input as never, [new rt.faceapi.Rect(box.x, box.y, box.width, box.height)]);
  try {
    return await run(crop);
  } finally {
    input.dispose();
    (crop as unknown as { dispose(): void }).dispose();
  }
}

beforeAll(async () => {
  rt = await loadRuntime();
  const [ssd, lm, rec] = await Promise.all([readModel('ssdMobilenetv1'), readModel('faceLandmark68'), readModel('faceRecognition')]);
  loadFaceApiNet(rt, rt.faceapi.nets.ssdMobilenetv1, ssd);
  loadFaceApiNet(rt, rt.faceapi.nets.faceLandmark68Net, lm);
  loadFaceApiNet(rt, rt.faceapi.nets.faceRecognitionNet, rec);
  nets = await OnnxFaceNets.load({ faceRecognition: rec, faceLandmark68: lm, ssdMobilenetv1: ssd }, { cacheDir });
  for (const i of SAMPLES) frames.push(await decodeImage(readFileSync(samplePath(i))));
}, 180_000);

afterAll(async () => {
  await nets?.release();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('ONNX nets match face-api (tfjs) on the sample photos', () => {
  it('SSD MobileNet v1: the same faces, IoU ≥ 0.95, scores within 0.001', async () => {
    let faces = 0;
    for (const frame of frames) {
      const ref = await tfjsFaces(frame);
      const got = await nets.detectSsd(frame, 0.4, 20);
      expect(got.length).toBe(ref.length);
      for (const [i, r] of ref.entries()) {
        const g = got[i];
        if (!g) throw new Error('missing detection');
        const box = { x: g.left * frame.width, y: g.top * frame.height, width: g.width * frame.width, height: g.height * frame.height };
        expect(iou(box, r.box)).toBeGreaterThanOrEqual(0.95);
        expect(Math.abs(g.score - r.score)).toBeLessThan(0.001);
      }
      faces += ref.length;
    }
    expect(faces).toBeGreaterThanOrEqual(15);
  }, 120_000);

  it('68 landmarks within 1 px and descriptors with cosine ≥ 0.9999, on every face', async () => {
    let faces = 0;
    for (const frame of frames) {
      for (const det of await tfjsFaces(frame)) {
        const box = det.box.clipAtImageBorders(frame.width, frame.height).floor();
        const ref = await onCrop(frame, box, (c) => rt.faceapi.nets.faceLandmark68Net.detectLandmarks(c as never)) as InstanceType<Runtime['faceapi']['FaceLandmarks68']>;
        const rel = await nets.landmarks(frame, box);
        ref.positions.forEach((p, i) => {
          expect(Math.abs((rel[2 * i] as number) * box.width - p.x)).toBeLessThan(1);
          expect(Math.abs((rel[2 * i + 1] as number) * box.height - p.y)).toBeLessThan(1);
        });
        const aligned = ref.shiftBy<typeof ref>(box.x, box.y).align().clipAtImageBorders(frame.width, frame.height);
        const want = await onCrop(frame, aligned, (c) => rt.faceapi.nets.faceRecognitionNet.computeFaceDescriptor(c as never)) as Float32Array;
        const got = await nets.descriptor(frame, aligned);
        expect(cosine(got, want)).toBeGreaterThanOrEqual(0.9999);
        faces++;
      }
    }
    expect(faces).toBeGreaterThanOrEqual(15);
  }, 180_000);
});

describe("Human's liveness models on ONNX match tfjs", () => {
  it('antispoof and liveness scores within 0.001 on every sample face', async () => {
    const [antispoof, liveness, rec, lm] = await Promise.all([readModel('antispoof'), readModel('liveness'), readModel('faceRecognition'), readModel('faceLandmark68')]);
    const [ga, gl] = [await loadGraph(rt, antispoof), await loadGraph(rt, liveness)];
    const withLiveness = await OnnxFaceNets.load({ faceRecognition: rec, faceLandmark68: lm, liveness: { antispoof, liveness } }, { cacheDir });
    try {
      expect(withLiveness.hasLiveness).toBe(true);
      let faces = 0;
      for (const frame of frames) {
        for (const det of await tfjsFaces(frame)) {
          const { x, y, width, height } = det.box;
          const box: [number, number, number, number] = [y / frame.height, x / frame.width, (y + height) / frame.height, (x + width) / frame.width];
          const want = rt.tf.tidy(() => {
            const batch = rt.tf.tensor4d(frame.data, [1, frame.height, frame.width, 3], 'int32');
            const a = rt.tf.div(rt.tf.image.cropAndResize(batch, [box], [0], [128, 128]), 255);
            const l = rt.tf.div(rt.tf.image.cropAndResize(batch, [box], [0], [32, 32]), 255);
            return { real: (ga.execute(a) as { dataSync(): Float32Array }).dataSync()[0] ?? NaN, live: (gl.execute(l) as { dataSync(): Float32Array }).dataSync()[0] ?? NaN };
          });
          const got = await withLiveness.liveness(frame, box);
          expect(Math.abs(got.real - want.real)).toBeLessThan(0.001);
          expect(Math.abs(got.live - want.live)).toBeLessThan(0.001);
          faces++;
        }
      }
      expect(faces).toBeGreaterThanOrEqual(15);
    } finally {
      await withLiveness.release();
      ga.dispose();
      gl.dispose();
    }
  }, 120_000);
});

describe('the tiny detector on ONNX matches face-api (tfjs)', () => {
  /** 640×480 door-camera frames: a sample's face, smaller and moved about on a plain wall. */
  async function doorFrames(): Promise<RgbFrame[]> {
    const out: RgbFrame[] = [];
    for (const [i, sample] of [2, 3, 4, 5].entries()) {
      const face = await sharp(readFileSync(samplePath(sample))).resize(260, 260, { fit: 'inside' }).toBuffer();
      const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#5d6b74' } })
        .composite([{ input: face, left: 60 + i * 97, top: 40 + i * 41 }]).jpeg({ quality: 85 }).toBuffer();
      out.push(await decodeImage(jpeg));
    }
    return out;
  }

  async function tinyFaces(frame: RgbFrame, inputSize: number): Promise<Det[]> {
    const input = rt.tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
    try {
      return await rt.faceapi.nets.tinyFaceDetector.locateFaces(input as never, new rt.faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: 0.4 }));
    } finally {
      input.dispose();
    }
  }

  for (const inputSize of [256, 416]) {
    it(`at ${inputSize} px: the same faces, IoU ≥ 0.95, scores within 0.001`, async () => {
      loadFaceApiNet(rt, rt.faceapi.nets.tinyFaceDetector, await readModel('tinyFaceDetector'));
      const [rec, lm, tiny] = await Promise.all([readModel('faceRecognition'), readModel('faceLandmark68'), readModel('tinyFaceDetector')]);
      const tinyNets = await OnnxFaceNets.load({ faceRecognition: rec, faceLandmark68: lm, tinyFaceDetector: { model: tiny, inputSize } }, { cacheDir });
      try {
        let faces = 0;
        for (const frame of [...frames, ...await doorFrames()]) {
          const ref = await tinyFaces(frame, inputSize);
          const got = await tinyNets.detectTiny(frame, 0.4);
          expect(got.length).toBe(ref.length);
          for (const [i, r] of ref.entries()) {
            const g = got[i];
            if (!g) throw new Error('missing detection');
            const box = { x: g.left * frame.width, y: g.top * frame.height, width: g.width * frame.width, height: g.height * frame.height };
            expect(iou(box, r.box)).toBeGreaterThanOrEqual(0.95);
            expect(Math.abs(g.score - r.score)).toBeLessThan(0.001);
          }
          faces += ref.length;
        }
        expect(faces).toBeGreaterThanOrEqual(12);
      } finally {
        await tinyNets.release();
      }
    }, 120_000);
  }
});

for (const [detector, detectorInputSize] of [['ssd', 416], ['tiny', 256]] as const) {
  describe(`the face engine on both runtimes (${detector} detector)`, () => {
    const opts = { detector, detectorInputSize, detectorMinScore: 0.4, liveness: true };
    const tfjs = new FaceEngine({ ...opts, engine: 'tfjs' });
    const onnx = new FaceEngine({ ...opts, engine: 'onnx', onnxCacheDir: cacheDir });
    beforeAll(async () => {
      await tfjs.start();
      await onnx.start();
    }, 120_000);
    afterAll(() => { tfjs.stop(); onnx.stop(); });

    it('finds the same faces, with the same descriptors, pose and liveness', async () => {
      expect(onnx.engine).toBe('onnx');
      expect(onnx.fallback).toBeNull();
      expect(onnx.notes).toEqual([]);
      let faces = 0;
      for (const frame of frames) {
        const analyse = { allFaces: true, gate: null, liveness: true };
        const a: FrameAnalysis = await tfjs.analyse(frame, analyse);
        const b: FrameAnalysis = await onnx.analyse(frame, analyse);
        expect(b.faceCount).toBe(a.faceCount);
        for (const [i, fa] of a.faces.entries()) {
          const fb = b.faces[i];
          if (!fb?.descriptor || !fa.descriptor || !fa.liveness || !fb.liveness) throw new Error('missing descriptor or liveness');
          expect(iou(fb.box, fa.box)).toBeGreaterThanOrEqual(0.95);
          expect(cosine(fb.descriptor, fa.descriptor)).toBeGreaterThanOrEqual(0.9999);
          for (const k of ['yaw', 'pitch', 'roll'] as const) expect(Math.abs(fb.quality[k] - fa.quality[k])).toBeLessThan(1);
          expect(Math.abs(fb.liveness.real - fa.liveness.real)).toBeLessThan(0.02);
          expect(Math.abs(fb.liveness.live - fa.liveness.live)).toBeLessThan(0.02);
          faces++;
        }
      }
      expect(faces).toBeGreaterThanOrEqual(10);
    }, 180_000);
  });
}
