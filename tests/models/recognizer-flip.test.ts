/**
 * entry.recognizer.flip (test-time augmentation): face-api's descriptor of the face crop and of
 * its mirror image, averaged. The averaged descriptor of a photo and of the mirrored photo are
 * nearer each other than plain descriptors are, both runtimes give the
 * same one, and the option is part of the templates' recognizer tag.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { mirrorRows } from '../../models/onnx/preprocess.ts';
import { recognizerLabel, recognizerTag } from '../../models/recognizer.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { mirror } from '../../edge/entry/enrol.ts';
import { samplePath } from '../../harness/portraits.ts';

const l2 = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0));

async function descriptors(engine: 'onnx' | 'tfjs', flip: boolean): Promise<{ photo: Float32Array; mirrored: Float32Array }> {
  const e = new FaceEngine({ detector: 'ssd', detectorInputSize: 416, detectorMinScore: 0.4, liveness: false, engine, recognizer: { kind: 'faceapi', flip } });
  await e.start();
  try {
    const frame = await decodeImage(readFileSync(samplePath(2)));
    const one = async (f: typeof frame): Promise<Float32Array> => {
      const d = (await e.analyse(f, { allFaces: false, gate: null, liveness: false })).faces[0]?.descriptor;
      if (!d) throw new Error('no face in sample 2');
      return d;
    };
    return { photo: await one(frame), mirrored: await one(mirror(frame)) };
  } finally {
    e.stop();
  }
}

describe('face-api with flip (test-time augmentation)', () => {
  it('mirrors a [size, size, 3] buffer row by row', () => {
    const c = Float32Array.from({ length: 3 * 3 * 3 }, (_, i) => i);
    mirrorRows(c, 3);
    expect([...c.slice(0, 9)]).toEqual([6, 7, 8, 3, 4, 5, 0, 1, 2]);
    expect([...c.slice(18, 27)]).toEqual([24, 25, 26, 21, 22, 23, 18, 19, 20]);
    mirrorRows(c, 3);
    expect([...c]).toEqual(Array.from({ length: 27 }, (_, i) => i));
  });

  it('brings a photo and its mirror image nearer, on onnx and tfjs alike', async () => {
    const plain = await descriptors('onnx', false);
    const flipped = await descriptors('onnx', true);
    const onTfjs = await descriptors('tfjs', true);
    expect(flipped.photo.length).toBe(128);
    expect(Math.hypot(...flipped.photo)).toBeCloseTo(1, 5);
    // the augmentation changes the descriptor, and a mirrored photo lands far nearer it than without
    expect(l2(plain.photo, flipped.photo)).toBeGreaterThan(0.01);
    // sample 2: 0.146 against 0.233 (the crops of the two are not exact mirrors: landmarks differ)
    expect(l2(flipped.photo, flipped.mirrored)).toBeLessThan(0.8 * l2(plain.photo, plain.mirrored));
    expect(l2(flipped.photo, onTfjs.photo)).toBeLessThan(0.01);
  }, 180_000);

  it('is part of the label and the templates\' tag, and the config takes it', () => {
    expect(recognizerTag({ kind: 'faceapi', flip: true })).toBe('faceapi[flip]');
    expect(recognizerTag({ kind: 'faceapi', flip: false })).toBe('faceapi');
    expect(recognizerLabel({ kind: 'faceapi', flip: true })).toBe('faceapi[flip]');
    expect(resolveEntryConfig({ recognizer: { kind: 'faceapi', flip: true } }).recognizer).toEqual({ kind: 'faceapi', flip: true });
    expect(() => resolveEntryConfig({ recognizer: { kind: 'faceapi', flip: 'yes' } })).toThrow(/recognizer/);
  });
});
