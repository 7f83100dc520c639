/**
 * The recognizer tag of the stored templates (edge/entry/templates.ts checkTemplatesRecognizer):
 * a change of entry.recognizer that keeps the descriptor length (a fusion's weight, another
 * model file of the same family) is refused at the door's start and in the commands, in Chinese
 * and English, instead of matching silently against meaningless distances.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { fuseDescriptors, recognizerTag } from '../../models/recognizer.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { storeTemplates } from '../../edge/entry/enrol.ts';
import { EntryPipeline } from '../../edge/entry/pipeline.ts';
import { addTemplates, checkTemplatesRecognizer, loadGallery, recordTemplatesRecognizer, loadOrCreateTemplateKey, loadVillagerTemplates, removeTemplates, sealedGallery } from '../../edge/entry/templates.ts';
import { templatesRecognizer } from '../../edge/ledger/face-templates.ts';
import { setMeta } from '../../edge/ledger/meta.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { SyntheticDescriptors } from '../../harness/synthetic-descriptors.ts';

const fusion = (weight: number) => ({ kind: 'fusion', members: [{ kind: 'faceapi' }, { kind: 'human-faceres' }], weight }) as const;
const arc = (sha: string) => ({ kind: 'onnx-arcface', path: 'models/arc.onnx', sha256: sha }) as const;

describe('the recognizer tag', () => {
  it('names what makes descriptors comparable: kind, file sha256 (not its path), a fusion\'s members and weight', () => {
    expect(recognizerTag({ kind: 'faceapi' })).toBe('faceapi');
    expect(recognizerTag(arc('AB'.repeat(32)))).toBe(`onnx-arcface@sha256:${'ab'.repeat(32)}`);
    expect(recognizerTag({ ...arc('ab'.repeat(32)), path: '/elsewhere/arc.onnx' })).toBe(recognizerTag(arc('ab'.repeat(32))));
    expect(recognizerTag(arc('cd'.repeat(32)))).not.toBe(recognizerTag(arc('ab'.repeat(32))));
    expect(recognizerTag(fusion(0.6))).toBe('fusion(faceapi+human-faceres,w=0.6)');
    expect(recognizerTag(fusion(0.7))).not.toBe(recognizerTag(fusion(0.6)));
  });
});

describe('the recognizer tag of an ONNX model with its own input convention', () => {
  it('changes with the convention (same file, other descriptors) and stays as it was for the default one', () => {
    const plain = arc('ab'.repeat(32));
    expect(recognizerTag({ ...plain, input: { mean: 127.5, std: 127.5 }, align: 'five-point' })).toBe(recognizerTag(plain));
    const tags = [
      { ...plain, input: { stretchDim: true } },
      { ...plain, input: { channels: 'bgr' as const } },
      { ...plain, input: { mean: 127, std: 128 } },
      { ...plain, align: 'three-point' as const },
    ].map((r) => recognizerTag(r));
    expect(new Set([recognizerTag(plain), ...tags]).size).toBe(5);
    expect(tags[0]).toBe(`onnx-arcface@sha256:${'ab'.repeat(32)}[stretch-dim]`);
  });
});

describe('templates of another recognizer configuration of the same length', () => {
  const synthetic = new SyntheticDescriptors(5);
  const fused = () => fuseDescriptors([synthetic.unit(), new SyntheticDescriptors(9, 1024).unit()], 0.6);
  function store() {
    const l = tempLedger();
    const key = loadOrCreateTemplateKey(path.join(l.dir, 'keys', 'face.key'));
    for (const id of ['w1', 'w2']) {
      addVillager(l.db, { id, name: id, village: 'v' });
      setFaceConsent(l.db, id, 'self');
    }
    return { ...l, key };
  }
  const expected = (have: string, want: string) => ({
    code: 'FACE_TEMPLATES_OTHER_RECOGNIZER',
    message: expect.stringContaining(`another recognizer configuration (${have}) than entry.recognizer now (${want})`) as string,
    zh: expect.stringMatching(/另一种识别配置.*改回原来的配置.*重新录入/) as string,
    details: { recognizer: want, templates: have, count: 1 },
  });

  it('a fusion\'s weight changed after enrolment: refused at the door\'s start, in loadGallery and for a reload; set back, accepted', async () => {
    const s = store();
    try {
      const w06 = resolveEntryConfig({ recognizer: fusion(0.6) });
      const w07 = resolveEntryConfig({ recognizer: fusion(0.7) });
      expect(await storeTemplates(s.db, s.key, w06, 'w1', [{ descriptor: fused(), quality: null, source: 'a.jpg' }], 'x')).toEqual({ stored: 1, held: [] });
      expect(templatesRecognizer(s.db)).toBe('fusion(faceapi+human-faceres,w=0.6)');
      const want = expected('fusion(faceapi+human-faceres,w=0.6)', 'fusion(faceapi+human-faceres,w=0.7)');
      expect(() => loadGallery(s.db, s.key, w07)).toThrow(expect.objectContaining(want) as Error);
      expect(() => loadVillagerTemplates(s.db, s.key, 'w1', w07)).toThrow(expect.objectContaining(want) as Error);
      const door = new EntryPipeline({
        config: w07, db: s.db, recogniser: { recognise: () => Promise.reject(new Error('no frame')), replaceSealedGallery: () => Promise.resolve(0), addTemplates: () => Promise.resolve(0), removeVillager: () => Promise.resolve(0) },
        lock: { unlock: () => Promise.resolve() }, store: { isStoreBusy: () => false }, camera: null, templateKey: s.key, qrPublicKey: null, logger: pino({ level: 'silent' }),
      });
      await expect(door.start()).rejects.toMatchObject(want);
      // an enrolment under the new weight meets the old templates in the collision check
      await expect(storeTemplates(s.db, s.key, w07, 'w2', [{ descriptor: fused(), quality: null, source: 'b.jpg' }], 'x')).rejects.toMatchObject(want);
      expect(loadGallery(s.db, s.key, w06)).toHaveLength(1);
      expect(sealedGallery(s.db, w06).owners).toEqual(['w1']);
    } finally {
      s.cleanup();
    }
  });

  it('templates stored before the tag are taken as the current configuration\'s; once every template is gone, the next enrolment records its own', async () => {
    const s = store();
    try {
      const w06 = resolveEntryConfig({ recognizer: fusion(0.6) });
      const w07 = resolveEntryConfig({ recognizer: fusion(0.7) });
      addTemplates(s.db, s.key, 'w1', [{ descriptor: fused(), quality: null, source: 'a.jpg' }], 'x');
      expect(templatesRecognizer(s.db)).toBeUndefined();
      expect(loadGallery(s.db, s.key, w06)).toHaveLength(1);
      expect(templatesRecognizer(s.db)).toBe('fusion(faceapi+human-faceres,w=0.6)');
      expect(() => loadGallery(s.db, s.key, w07)).toThrow(expect.objectContaining({ code: 'FACE_TEMPLATES_OTHER_RECOGNIZER' }) as Error);
      removeTemplates(s.db, 'w1');
      expect(loadGallery(s.db, s.key, w07)).toEqual([]);
      await storeTemplates(s.db, s.key, w07, 'w2', [{ descriptor: fused(), quality: null, source: 'b.jpg' }], 'x');
      expect(templatesRecognizer(s.db)).toBe('fusion(faceapi+human-faceres,w=0.7)');
      expect(loadGallery(s.db, s.key, w07)).toHaveLength(1);
    } finally {
      s.cleanup();
    }
  });

  it('stretch_dim of an ONNX model enters the tag: templates made with it are refused without it, and the other way round', () => {
    const s = store();
    try {
      const arcOf = (stretch: boolean) => resolveEntryConfig({ recognizer: { ...arc('ab'.repeat(32)), input: { stretch_dim: stretch } } });
      const [plain, stretched] = [arcOf(false), arcOf(true)];
      const refused = { code: 'FACE_TEMPLATES_OTHER_RECOGNIZER' };
      addTemplates(s.db, s.key, 'w1', [{ descriptor: new SyntheticDescriptors(3, 512).unit(), quality: null, source: 'a.jpg' }], 'x');
      recordTemplatesRecognizer(s.db, stretched);
      expect(templatesRecognizer(s.db)).toBe(`onnx-arcface@sha256:${'ab'.repeat(32)}[stretch-dim]`);
      expect(() => checkTemplatesRecognizer(s.db, plain)).toThrow(expect.objectContaining(refused) as Error);
      removeTemplates(s.db, 'w1');
      // enrolled again without it (as storeTemplates records the tag)
      addTemplates(s.db, s.key, 'w1', [{ descriptor: new SyntheticDescriptors(3, 512).unit(), quality: null, source: 'a.jpg' }], 'x');
      recordTemplatesRecognizer(s.db, plain);
      expect(templatesRecognizer(s.db)).toBe(`onnx-arcface@sha256:${'ab'.repeat(32)}`);
      expect(() => checkTemplatesRecognizer(s.db, stretched)).toThrow(expect.objectContaining(refused) as Error);
    } finally {
      s.cleanup();
    }
  });

  it('a tag written before stretch_dim entered it is taken as the current configuration\'s once, then kept', () => {
    const s = store();
    try {
      const stretched = resolveEntryConfig({ recognizer: { ...arc('ab'.repeat(32)), input: { stretch_dim: true } } });
      const plain = resolveEntryConfig({ recognizer: arc('ab'.repeat(32)) });
      addTemplates(s.db, s.key, 'w1', [{ descriptor: new SyntheticDescriptors(3, 512).unit(), quality: null, source: 'a.jpg' }], 'x');
      // as the earlier code wrote it under stretch_dim: true (no suffix, no scheme mark)
      setMeta(s.db, 'face_recognizer', `onnx-arcface@sha256:${'ab'.repeat(32)}`);
      checkTemplatesRecognizer(s.db, stretched);
      expect(templatesRecognizer(s.db)).toBe(`onnx-arcface@sha256:${'ab'.repeat(32)}[stretch-dim]`);
      expect(() => checkTemplatesRecognizer(s.db, plain)).toThrow(expect.objectContaining({ code: 'FACE_TEMPLATES_OTHER_RECOGNIZER' }) as Error);
    } finally {
      s.cleanup();
    }
  });
});
