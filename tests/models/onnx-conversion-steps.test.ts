/**
 * The ONNX conversion tells its steps (for the progress bar or the log lines of
 * edge/progress.ts): each net converting then converted on a first start, only `cached` on
 * the next, `failed` naming the net whose conversion broke; through the inference worker too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../models/engine-client.ts';
import type { ConversionStep } from '../../models/face-engine.ts';
import { readModel, type VerifiedModel } from '../../models/manifest.ts';
import { OnnxFaceNets } from '../../models/onnx/nets.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'onnx-steps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const brief = (steps: ConversionStep[]): string[] => steps.map((s) => `${s.index}/${s.total} ${s.net} ${s.phase}`);

describe('ONNX conversion steps', () => {
  it('the worker relays each net: converting and converted on the first start, cached on the next', async () => {
    const cacheDir = path.join(dir, 'worker');
    const start = async (): Promise<ConversionStep[]> => {
      const steps: ConversionStep[] = [];
      const client = new EngineClient({ detectorInputSize: 160, detectorMinScore: 0.4, liveness: false, engine: 'onnx', onnxCacheDir: cacheDir, onnxThreads: 1, onConversion: (s) => steps.push(s) });
      try {
        await client.start();
        expect(client.engine).toBe('onnx');
      } finally {
        await client.stop();
      }
      return steps;
    };
    const first = await start();
    expect(brief(first)).toEqual([
      '1/3 faceRecognition converting', '1/3 faceRecognition converted',
      '2/3 faceLandmark68 converting', '2/3 faceLandmark68 converted',
      '3/3 tinyFaceDetector converting', '3/3 tinyFaceDetector converted',
    ]);
    for (const s of first.filter((x) => x.phase === 'converted')) expect(s.ms).toBeGreaterThan(0);
    expect(brief(await start())).toEqual(['1/3 faceRecognition cached', '2/3 faceLandmark68 cached', '3/3 tinyFaceDetector cached']);
  }, 180_000);

  it('a net that cannot be converted is told as failed, with the reason, and the load stops there', async () => {
    const landmarks = await readModel('faceLandmark68');
    const broken: VerifiedModel = { ...landmarks, weights: landmarks.weights.subarray(0, 1000) };
    const steps: ConversionStep[] = [];
    await expect(OnnxFaceNets.load({ faceLandmark68: broken }, { cacheDir: path.join(dir, 'broken'), threads: 1, onConversion: (s) => steps.push(s) })).rejects.toThrow(/converting faceLandmark68 failed/);
    expect(brief(steps)).toEqual(['1/1 faceLandmark68 converting', '1/1 faceLandmark68 failed']);
    expect(steps[1]?.error).toMatch(/converting faceLandmark68 failed/);
  }, 60_000);

  it('a listener that throws does not stop the nets from loading', async () => {
    let told = 0;
    const nets = await OnnxFaceNets.load({ faceLandmark68: await readModel('faceLandmark68') }, { cacheDir: path.join(dir, 'throwing'), threads: 1, onConversion: () => { told++; throw new Error('terminal gone'); } });
    expect(told).toBe(2);
    expect((await nets.landmarks({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 3) }, { x: 0, y: 0, width: 32, height: 32 })).length).toBe(136);
    await nets.release();
  }, 60_000);
});
