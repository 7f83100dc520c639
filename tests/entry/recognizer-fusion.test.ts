/**
 * Score fusion of two recognizers (entry.recognizer `{kind: fusion, members, weight}`): the
 * fused descriptor's algebra, the FusionRecognizer over made-up members, the config rules,
 * templates of the fused length, and the face engine with face-api + Human's faceres on a real
 * photo, whose fused descriptor must hold each member's own descriptor.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FusionRecognizer } from '../../models/fusion-recognizer.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { descriptorLengthOf, fuseDescriptors, recognizerLabel, type Recognizer } from '../../models/recognizer.ts';
import { samplePath } from '../../harness/portraits.ts';
import { descriptorLength, recognizerChoice, resolveEntryConfig } from '../../edge/entry/config.ts';

/** A deterministic unit vector. */
function unit(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1664525 + 1013904223) % 2 ** 32; v[i] = x / 2 ** 32 - 0.5; }
  const norm = Math.hypot(...v);
  return v.map((e) => e / norm);
}
const dist = (a: Float32Array, b: Float32Array): number => Math.hypot(...a.map((x, i) => x - (b[i] as number)));

const fusion = { kind: 'fusion', members: [{ kind: 'faceapi' }, { kind: 'human-faceres' }], weight: 0.98 } as const;

describe('fused descriptors', () => {
  it('are unit length, and their squared distance is w²·d_a² + (1−w²)·d_b²', () => {
    const [a1, a2, b1, b2] = [unit(128, 1), unit(128, 2), unit(1024, 3), unit(1024, 4)];
    for (const w of [0.3, 0.8, 0.98]) {
      const f1 = fuseDescriptors([a1, b1], w);
      const f2 = fuseDescriptors([a2, b2], w);
      expect(f1.length).toBe(1152);
      expect(Math.hypot(...f1)).toBeCloseTo(1, 5);
      expect(dist(f1, f2) ** 2).toBeCloseTo(w * w * dist(a1, a2) ** 2 + (1 - w * w) * dist(b1, b2) ** 2, 5);
    }
  });
});

describe('FusionRecognizer', () => {
  const member = (kind: Recognizer['kind'], d: Float32Array, seen: unknown[], stopped: string[]): Recognizer => ({
    kind, descriptorLength: d.length,
    describe: (_frame, landmarks) => { seen.push(landmarks); return Promise.resolve(d); },
    stop: () => { stopped.push(kind); return Promise.resolve(); },
  });

  it('asks both members about the same face and joins their descriptors; stop stops both', async () => {
    const seen: unknown[] = [];
    const stopped: string[] = [];
    const a = unit(128, 5), b = unit(1024, 6);
    const r = new FusionRecognizer([member('faceapi', a, seen, stopped), member('human-faceres', b, seen, stopped)], 0.9);
    expect(r.descriptorLength).toBe(1152);
    const landmarks = [{ x: 1, y: 2 }];
    const d = await r.describe({ width: 1, height: 1, data: new Uint8Array(3) }, landmarks);
    expect(seen).toEqual([landmarks, landmarks]);
    expect([...d]).toEqual([...fuseDescriptors([a, b], 0.9)]);
    await r.stop();
    expect(stopped.sort()).toEqual(['faceapi', 'human-faceres']);
  });

  it('refuses a weight outside (0, 1)', () => {
    const m = member('faceapi', unit(128, 1), [], []);
    for (const w of [0, 1, -0.5, Number.NaN]) expect(() => new FusionRecognizer([m, m], w)).toThrow(expect.objectContaining({ code: 'MODEL_UNLOADABLE', message: expect.stringContaining('weight') as string }) as Error);
  });
});

describe('entry.recognizer fusion in the config', () => {
  it('is accepted with two different members; the gallery rows are as long as both descriptors', () => {
    const entry = resolveEntryConfig({ recognizer: fusion });
    expect(descriptorLength(entry)).toBe(1152);
    expect(recognizerLabel(recognizerChoice(entry.recognizer, '/data'))).toBe('fusion(faceapi+human-faceres,w=0.98)');
    const withFile = resolveEntryConfig({ recognizer: { ...fusion, members: [{ kind: 'faceapi' }, { kind: 'human-mobileface', path: 'models/mobileface.json', sha256: 'ab'.repeat(32) }] } });
    const choice = recognizerChoice(withFile.recognizer, '/data');
    expect(choice.kind === 'fusion' && choice.members[1]).toEqual({ kind: 'human-mobileface', path: path.resolve('/data', 'models/mobileface.json'), sha256: 'ab'.repeat(32) });
    expect(descriptorLengthOf(choice)).toBe(128 + 256);
  });

  it('refuses the same model twice, a weight of 0 or 1, a fusion inside a fusion, and a member from a folder without sha256', () => {
    expect(() => resolveEntryConfig({ recognizer: { ...fusion, members: [{ kind: 'faceapi' }, { kind: 'faceapi' }] } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('two different members') as string, zh: expect.stringContaining('两个不同的模型') as string }) as Error);
    for (const weight of [0, 1]) expect(() => resolveEntryConfig({ recognizer: { ...fusion, weight } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    expect(() => resolveEntryConfig({ recognizer: { ...fusion, members: [{ kind: 'faceapi' }, fusion] } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    expect(() => resolveEntryConfig({ recognizer: { ...fusion, members: [{ kind: 'faceapi' }, { kind: 'human-faceres', path: 'x.json' }] } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('sha256') as string }) as Error);
  });
});

describe('fused templates in the ledger', () => {
  it('are stored and loaded at their length; face-api templates are refused under the fusion', async () => {
    const { tempLedger } = await import('../ledger/helpers.ts');
    const { addVillager, setFaceConsent } = await import('../../edge/ledger/villagers.ts');
    const { addTemplates, loadGallery, loadOrCreateTemplateKey } = await import('../../edge/entry/templates.ts');
    const ledger = tempLedger();
    try {
      const key = loadOrCreateTemplateKey(path.join(ledger.dir, 'keys', 'face.key'));
      const entry = resolveEntryConfig({ recognizer: fusion });
      addVillager(ledger.db, { id: 'w1', name: '王一', village: 'v1' });
      setFaceConsent(ledger.db, 'w1', 'self');
      const fused = fuseDescriptors([unit(128, 7), unit(1024, 8)], 0.98);
      addTemplates(ledger.db, key, 'w1', [{ descriptor: fused, quality: null, source: 'a.jpg' }], 'x');
      expect([...(loadGallery(ledger.db, key, entry)[0]?.descriptors[0] ?? [])]).toEqual([...fused]);
      addVillager(ledger.db, { id: 'w2', name: '王二', village: 'v1' });
      setFaceConsent(ledger.db, 'w2', 'self');
      addTemplates(ledger.db, key, 'w2', [{ descriptor: unit(128, 9), quality: null, source: 'b.jpg' }], 'x');
      expect(() => loadGallery(ledger.db, key, entry)).toThrow(expect.objectContaining({ code: 'FACE_TEMPLATES_OTHER_RECOGNIZER', message: expect.stringContaining('(w2)') as string }) as Error);
    } finally {
      ledger.cleanup();
    }
  });
});

describe('the face engine with face-api and faceres fused', () => {
  it("gives a 1152-d unit descriptor that holds face-api's and faceres's own descriptors of the face", async () => {
    const frame = await decodeImage(readFileSync(samplePath(3)));
    const opts = { detectorInputSize: 416, detectorMinScore: 0.4, liveness: false } as const;
    const describeWith = async (recognizer?: typeof fusion | { kind: 'human-faceres' }): Promise<Float32Array> => {
      const engine = new FaceEngine({ ...opts, ...(recognizer ? { recognizer } : {}) });
      await engine.start();
      try {
        const d = (await engine.analyse(frame, { allFaces: false, gate: null, liveness: false })).faces[0]?.descriptor;
        if (!d) throw new Error('no face in sample3');
        return d;
      } finally {
        engine.stop();
      }
    };
    const fused = await describeWith(fusion);
    const faceapi = await describeWith();
    const faceres = await describeWith({ kind: 'human-faceres' });
    expect(fused.length).toBe(1152);
    expect(Math.hypot(...fused)).toBeCloseTo(1, 4);
    // the fused descriptor is exactly the two members' descriptors, scaled
    expect(dist(fused, fuseDescriptors([faceapi, faceres], 0.98))).toBeLessThan(1e-4);
  }, 180_000);
});
