/**
 * `faces evaluate` on the face-api demo photos: a folder per portrait (the portrait and other
 * views of it), evaluated with the real models; and the CLI's refusals of bad input.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { FaceEngine } from '../../models/face-engine.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { EvaluationSchema, evaluateDir, listPeople, type Evaluation } from '../../edge/entry/evaluate.ts';
import { runCli } from './cli-run.ts';
import { tempDir } from '../ledger/helpers.ts';
import { portraits, samplePath, views } from '../../harness/portraits.ts';

const config = resolveEntryConfig({});
const enrolEngine = new FaceEngine({ detector: 'ssd', detectorInputSize: 416, detectorMinScore: config.detector_min_score, liveness: false });
const doorEngine = new FaceEngine({ detector: 'tiny', detectorInputSize: config.detector_input_size, detectorMinScore: config.detector_min_score, liveness: false });
const tmp = tempDir('faces-eval-');
const dir = path.join(tmp.dir, 'set');
let result: Evaluation;

afterAll(() => tmp.cleanup());

describe('faces evaluate on the demo photos', () => {
  beforeAll(async () => {
    await enrolEngine.start();
    await doorEngine.start();
    const all = (await portraits(doorEngine, [1, 2, 3])).slice(0, 6);
    for (const p of all) {
      mkdirSync(path.join(dir, p.id), { recursive: true });
      writeFileSync(path.join(dir, p.id, '0-original.jpg'), p.jpeg);
      const v = await views(p.jpeg);
      for (const name of ['brighter', 'darker', 'jpeg40', 'shifted'] as const) writeFileSync(path.join(dir, p.id, `1-${name}.jpg`), v[name]);
    }
    result = await evaluateDir({ enrol: enrolEngine, door: doorEngine }, config, dir, await listPeople(dir), { enrol: 1, seed: 3, targetFar: 0.001, adapt: { config: config.adapt, attackRounds: 2 } });
  }, 600_000);

  afterAll(() => {
    enrolEngine.stop();
    doorEngine.stop();
  });

  it('gives JSON that parses against the documented schema', () => {
    const parsed: unknown = JSON.parse(JSON.stringify(result));
    expect([...Value.Errors(EvaluationSchema, parsed)]).toEqual([]);
  });

  it('--adapt: its replay without learning is the ordinary evaluation, and nobody is learned as someone else', () => {
    const a = result.adaptation!;
    expect(a.baseline.presentations).toMatchObject({ genuine: result.presentations.genuine, accepted: result.presentations.accepted, impostor: result.presentations.impostor, falseAccepts: result.presentations.falseAccepts });
    // per frame, the replay without learning accepts what the configured operating point accepts
    expect(a.baseline.frames.accepted / a.baseline.frames.genuine).toBeCloseTo(result.atConfig.tar, 10);
    expect(a.baseline.frames.falseAccepts).toBe(result.atConfig.falseAccepts);
    expect(a.adapted.learning.wrong + a.attack.wrongLearned + a.cardConfirmed.learning.wrong).toBe(0);
    expect(a.attack.rounds).toBe(2);
  });

  it('leaves a third of the people out as strangers and enrols the rest', () => {
    expect(result.people.total).toBe(6);
    expect(result.people.strangers).toHaveLength(2);
    expect(result.people.enrolled.length + result.people.notEnrolled.length).toBe(4);
    expect(result.people.strangers.some((s) => result.people.enrolled.includes(s))).toBe(false);
  });

  it('counts add up', () => {
    const e = result;
    const photosOf = (people: string[]) => people.length * 5;
    expect(e.impostor.total).toBe(photosOf(e.people.strangers));
    // enrolled people: every photo is either enrolled, refused on the way, or a genuine probe
    const refused = e.enrolment.refused.no_face + e.enrolment.refused.multiple_faces + e.enrolment.refused.low_quality;
    expect(e.enrolment.photos + e.genuine.total).toBeLessThanOrEqual(photosOf(e.people.enrolled));
    expect(e.enrolment.photos + e.genuine.total + refused).toBeGreaterThanOrEqual(photosOf(e.people.enrolled));
    for (const c of [e.genuine, e.impostor]) expect(c.no_face + c.low_quality + c.scored).toBe(c.total);
    expect(e.probes).toHaveLength(e.genuine.total + e.impostor.total);
    expect(e.histogram.impostor.reduce((a, b) => a + b, 0)).toBe(e.impostor.scored);
    expect(e.zeroFa.falseAccepts).toBe(0);
    expect(e.atConfig.tar).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', async () => {
    const again = await evaluateDir({ enrol: enrolEngine, door: doorEngine }, config, dir, await listPeople(dir), { enrol: 1, seed: 3, targetFar: 0.001 });
    expect(again.people).toEqual(result.people);
    expect(again.atConfig).toEqual(result.atConfig);
  }, 600_000);
});

describe('faces evaluate refuses bad input (exit 2, Chinese and English)', () => {
  const run = (args: string[]): ReturnType<typeof runCli> => runCli(['faces', 'evaluate', '--data-dir', path.join(tmp.dir, 'data'), ...args]);

  it('a --cache that cannot be written or read: a folder, or in a folder that does not exist (before the models load)', async () => {
    const three = path.join(tmp.dir, 'three');
    for (const [i, p] of ['p1', 'p2', 'p3'].entries()) { mkdirSync(path.join(three, p), { recursive: true }); copyFileSync(samplePath(i + 1), path.join(three, p, 'a.jpg')); }
    const f = await run(['--dir', three, '--cache', tmp.dir]);
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/is not a file/);
    expect(f.err).toMatch(/不是文件/);
    const m = await run(['--dir', three, '--cache', path.join(tmp.dir, 'no-such-folder', 'cache.json')]);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/does not exist or cannot be written/);
    expect(m.err).toMatch(/不存在或无法写入/);
  });

  it('a missing folder', async () => {
    const r = await run(['--dir', path.join(tmp.dir, 'nowhere')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no such folder/);
    expect(r.err).toMatch(/文件夹不存在/);
  });

  it('a folder with one person', async () => {
    const one = path.join(tmp.dir, 'one', 'alice');
    mkdirSync(one, { recursive: true });
    writeFileSync(path.join(one, 'a.jpg'), 'x');
    const r = await run(['--dir', path.dirname(one)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/at least 3/);
    expect(r.err).toMatch(/至少需要 3 人/);
  });

  it('files that are not images, named', async () => {
    const bad = path.join(tmp.dir, 'bad');
    for (const p of ['a', 'b', 'c']) {
      mkdirSync(path.join(bad, p), { recursive: true });
      writeFileSync(path.join(bad, p, 'notes.txt'), 'not a photo');
    }
    const r = await run(['--dir', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not an image: a\/notes\.txt/);
    expect(r.err).toMatch(/不是图片/);
  });

  it('a recognizer it does not know, a Human model without its file, or a fusion without a weight in (0, 1)', async () => {
    const r = await run(['--dir', dir, '--recognizer', 'faceapi', 'dlib']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--recognizer dlib: must be one of faceapi, faceapi-flip, human-faceres, human-mobilefacenet, human-mobileface/);
    expect(r.err).toMatch(/须为/);
    const m = await run(['--dir', dir, '--recognizer', 'human-mobileface']);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/needs the model json/);
    const f = await run(['--dir', dir, '--recognizer', `human-mobileface=${path.join(tmp.dir, 'nowhere.json')}`]);
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/not a readable tfjs graph model/);
    const o = await run(['--dir', dir, '--recognizer', 'onnx-arcface']);
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/needs the model file, e\.g\. onnx-arcface=/);
    const g = await run(['--dir', dir, '--recognizer', `onnx-arcface=${path.join(tmp.dir, 'nowhere.onnx')}`]);
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/cannot read the model file/);
    expect(g.err).toMatch(/onnx-arcface=模型\.onnx/);
    for (const spec of ['fusion', 'fusion=1', 'fusion=x']) {
      const u = await run(['--dir', dir, '--recognizer', spec]);
      expect(u.code).toBe(2);
      expect(u.err).toMatch(/needs the weight of face-api, strictly between 0 and 1/);
      expect(u.err).toMatch(/融合写作 fusion=权重/);
    }
  });

  it('a bad --enrol-detector', async () => {
    const r = await run(['--dir', dir, '--enrol-detector', 'blazeface']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/须为 ssd 或 tiny/);
  });

  it('a bad --target-far', async () => {
    const r = await run(['--dir', dir, '--target-far', 'lots']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/目标误识率|--target-far/);
  });

  it.each([[''], ['  '], ['%']])('an empty --target-far %j is refused, not taken as 0', async (far) => {
    const r = await run(['--dir', dir, '--target-far', far]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--target-far must be a rate/);
    expect(r.err).toMatch(/--target-far 须为/);
  });
});
