/**
 * Enrolment rules without models: a face too close to another villager's is refused naming
 * them; camera enrolment picks a spread of poses, and refuses clearly when too few frames are
 * usable (by count of frames, or by the timeout under fake timers).
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnalyseOptions, FrameAnalysis, RgbFrame } from '../../models/face-engine.ts';
import { enrolFromCamera, spreadOfPoses, type CapturedFace } from '../../edge/entry/camera-enrol.ts';
import type { FrameSource, FrameSourceEvents } from '../../edge/entry/camera.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { enrolVillager, type FaceAnalyser } from '../../edge/entry/enrol.ts';
import { countTemplates, loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { isEdgeError, type EdgeError } from '../../edge/errors.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';

/** A unit descriptor pointing mostly along axis `axis`, tilted by `tilt` along the next one. */
function unitAlong(axis: number, tilt = 0): Float32Array {
  const v = new Float32Array(128);
  v[axis] = Math.cos(tilt);
  v[(axis + 1) % 128] = Math.sin(tilt);
  return v;
}

interface Scripted { faces: number; descriptor?: Float32Array; yaw?: number; pitch?: number; rejected?: 'blurred' }

/** Answers by the frame's first byte; the mirror of a 1×1 frame is the same frame. */
class ScriptedAnalyser implements FaceAnalyser {
  constructor(private readonly script: (tag: number) => Scripted, private readonly after: () => void = () => {}) {}
  analyse(frame: RgbFrame, _opts: AnalyseOptions): Promise<FrameAnalysis> {
    const s = this.script(frame.data[0] ?? 0);
    const quality = { faceSize: 120, sharpness: 0.3, yaw: s.yaw ?? 0, pitch: s.pitch ?? 0, roll: 0 };
    const face = { box: { x: 0, y: 0, width: 120, height: 120 }, score: 0.9, quality, rejected: s.rejected ?? null, descriptor: s.rejected ? null : (s.descriptor ?? null), liveness: null };
    const times = { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 };
    queueMicrotask(this.after);
    return Promise.resolve({ width: 1, height: 1, faceCount: s.faces, nearFaces: s.faces, faces: s.faces > 0 ? Array.from({ length: s.faces }, () => face) : [], times });
  }
}

/** A camera that shows frame tags 0, 1, 2… one at a time, each when the previous was analysed. */
class SteppedCamera extends EventEmitter<FrameSourceEvents> implements FrameSource {
  next = 0;
  running = false;
  start(): Promise<void> { this.running = true; this.step(); return Promise.resolve(); }
  stop(): Promise<void> { this.running = false; return Promise.resolve(); }
  step(): void { if (this.running) this.emit('frame', { width: 1, height: 1, data: Uint8Array.of(this.next++ % 256, 0, 0) }); }
}

const config = resolveEntryConfig({});
const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); vi.useRealTimers(); });

function ledger() {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  for (const id of ['A', 'B']) {
    addVillager(l.db, { id, name: `村民${id}`, village: 'v' });
    setFaceConsent(l.db, id, 'self');
  }
  return { db: l.db, key: loadOrCreateTemplateKey(path.join(l.dir, 'k')) };
}

const errorOf = async (p: Promise<unknown>): Promise<EdgeError> => {
  try { await p; } catch (err) { if (isEdgeError(err)) return err; throw err; }
  throw new Error('expected an EdgeError');
};

describe('collision check', () => {
  it('refuses an enrolment within the strict threshold of another villager, naming them; keeps nothing', async () => {
    const { db, key } = ledger();
    const at = new Date().toISOString();
    await enrolVillager(db, key, new ScriptedAnalyser(() => ({ faces: 1, descriptor: unitAlong(0) })), config, 'A', [{ name: 'a.jpg', frame: { width: 1, height: 1, data: Uint8Array.of(0, 0, 0) } }], at);
    // 0.2 rad apart ≈ distance 0.2, under the strict 0.28
    const near = new ScriptedAnalyser(() => ({ faces: 1, descriptor: unitAlong(0, 0.2) }));
    const e = await errorOf(enrolVillager(db, key, near, config, 'B', [{ name: 'b.jpg', frame: { width: 1, height: 1, data: Uint8Array.of(0, 0, 0) } }], at));
    expect(e.code).toBe('FACE_COLLISION');
    expect(e.message).toContain('villager A');
    expect(e.zh).toContain('村民 A');
    expect(e.details).toMatchObject({ villager: 'A', photo: 'b.jpg' });
    expect(countTemplates(db, 'B')).toBe(0);
    // farther than the strict threshold (0.4 rad ≈ 0.40) is a different person: enrolled
    const far = new ScriptedAnalyser(() => ({ faces: 1, descriptor: unitAlong(0, 0.4) }));
    await expect(enrolVillager(db, key, far, config, 'B', [{ name: 'b.jpg', frame: { width: 1, height: 1, data: Uint8Array.of(0, 0, 0) } }], at)).resolves.toEqual({ templates: 2, alreadyEnrolled: [] });
    // re-enrolling A close to A's own templates is no collision
    const nearA = new ScriptedAnalyser(() => ({ faces: 1, descriptor: unitAlong(0, -0.1) }));
    await expect(enrolVillager(db, key, nearA, config, 'A', [{ name: 'a2.jpg', frame: { width: 1, height: 1, data: Uint8Array.of(0, 0, 0) } }], at)).resolves.toEqual({ templates: 2, alreadyEnrolled: [] });
  });
});

describe('photos of one villager', () => {
  const photo = (name: string, tag: number) => ({ name, frame: { width: 1, height: 1, data: Uint8Array.of(tag, 0, 0) } });
  it('refuses photos of different people as one villager, naming the photo that does not match; keeps nothing', async () => {
    const { db, key } = ledger();
    // tags 1 and 2: one face (0.2 apart); tag 9: someone else
    const analyser = new ScriptedAnalyser((t) => ({ faces: 1, descriptor: t === 9 ? unitAlong(40) : unitAlong(0, 0.1 * t) }));
    const e = await errorOf(enrolVillager(db, key, analyser, config, 'A', [photo('front.jpg', 1), photo('side.jpg', 2), photo('cousin.jpg', 9)], new Date().toISOString()));
    expect(e.code).toBe('FACE_REJECTED');
    expect(e.message).toContain('cousin.jpg');
    expect(e.message).toContain('not the same person');
    expect(e.zh).toContain('不是同一个人');
    expect(e.details).toMatchObject({ photos: ['cousin.jpg'] });
    expect(countTemplates(db, 'A')).toBe(0);
    await expect(enrolVillager(db, key, analyser, config, 'A', [photo('front.jpg', 1), photo('side.jpg', 2)], new Date().toISOString())).resolves.toEqual({ templates: 4, alreadyEnrolled: [] });
  });
});

describe('a spread of poses', () => {
  const face = (index: number, yaw: number, pitch: number, d = unitAlong(0)): CapturedFace => ({ index, descriptor: d, yaw, pitch, sharpness: 0.3 });
  it.each([
    ['frontal first, then the farthest poses', [face(1, 10, 0), face(2, 1, 1), face(3, 11, 0), face(4, -15, 0), face(5, 0, 12)], 3, [2, 4, 5]],
    ['fewer faces than wanted gives them all', [face(1, 5, 0), face(2, 0, 0)], 3, [2, 1]],
    ['a different person in the pool is left out', [face(1, 0, 0), face(2, 20, 0, unitAlong(5)), face(3, 8, 0)], 3, [1, 3]],
    ['nothing from nothing', [], 2, []],
    ['anchored on the largest group of matching frames, not on a more frontal face behind', [face(1, 10, 0), face(2, 0, 0, unitAlong(5)), face(3, -12, 0), face(4, 15, 5)], 3, [1, 3, 4]],
  ] as Array<[string, CapturedFace[], number, number[]]>)('%s', (_n, faces, n, expected) => {
    expect(spreadOfPoses(faces, n, config.match.uncertain_threshold).map((f) => f.index)).toEqual(expected);
  });
});

describe('enrolment at the door camera', () => {
  it('takes the wanted frames from the usable ones, skipping empty, crowded and blurred frames', async () => {
    const { db, key } = ledger();
    const cam = new SteppedCamera();
    const poses = [-20, -10, 0, 10, 20];
    const analyser = new ScriptedAnalyser((t) => {
      if (t % 4 === 1) return { faces: 0 };
      if (t % 4 === 2) return { faces: 2, descriptor: unitAlong(3) };
      if (t % 4 === 3) return { faces: 1, rejected: 'blurred' };
      return { faces: 1, descriptor: unitAlong(3, 0.01 * t), yaw: poses[(t / 4) % 5] as number };
    }, () => cam.step());
    const r = await enrolFromCamera(db, key, cam, analyser, config, 'A', { frames: 3, timeoutMs: 60_000, maxExamined: 100 }, new Date().toISOString());
    expect(r.templates).toBe(3);
    expect(countTemplates(db, 'A')).toBe(3);
    expect(r.rejected).toMatchObject({ no_face: expect.any(Number) as number, several_faces: expect.any(Number) as number, blurred: expect.any(Number) as number });
    const sources = (db.prepare('SELECT source FROM face_templates WHERE villager_id = ?').all('A') as Array<{ source: string }>).map((s) => s.source);
    // the frontal frame and the two extremes of yaw
    expect(sources.map((s) => /yaw (-?\d+)/.exec(s)?.[1]).sort()).toEqual(['-20', '0', '20']);
    expect(cam.running).toBe(false);
  });

  it('refuses when two different people are in front of the camera, even when there are enough frames of each', async () => {
    const { db, key } = ledger();
    const cam = new SteppedCamera();
    // the villager turning, and every third frame someone else facing the camera straight
    const analyser = new ScriptedAnalyser((t) => (t % 3 === 2 ? { faces: 1, descriptor: unitAlong(40) } : { faces: 1, descriptor: unitAlong(3, 0.01 * t), yaw: (t % 7) * 5 - 15 }), () => cam.step());
    const e = await errorOf(enrolFromCamera(db, key, cam, analyser, config, 'A', { frames: 3, timeoutMs: 60_000, maxExamined: 100 }, new Date().toISOString()));
    expect(e.code).toBe('FACE_REJECTED');
    expect(e.message).toContain('two different people');
    expect(e.zh).toContain('两个不同的人');
    expect(countTemplates(db, 'A')).toBe(0);
  });

  it('refuses, saying what was seen, when too few frames are usable', async () => {
    const { db, key } = ledger();
    const cam = new SteppedCamera();
    const analyser = new ScriptedAnalyser((t) => (t === 5 ? { faces: 1, descriptor: unitAlong(3) } : { faces: 0 }), () => cam.step());
    const e = await errorOf(enrolFromCamera(db, key, cam, analyser, config, 'A', { frames: 3, timeoutMs: 60_000, maxExamined: 12 }, new Date().toISOString()));
    expect(e.code).toBe('FACE_REJECTED');
    expect(e.message).toContain('only 1 usable frames of one face, 3 needed (12 frames analysed; not usable: no_face 11)');
    expect(e.zh).toContain('只有 1 帧合格');
    expect(countTemplates(db, 'A')).toBe(0);
  });

  it('gives up at the timeout when the camera shows nothing', async () => {
    vi.useFakeTimers();
    const { db, key } = ledger();
    const silent = new SteppedCamera();
    silent.step = () => {}; // a camera that never delivers a frame
    const p = errorOf(enrolFromCamera(db, key, silent, new ScriptedAnalyser(() => ({ faces: 0 })), config, 'A', { frames: 2, timeoutMs: 20_000, maxExamined: 50 }, new Date().toISOString()));
    await vi.advanceTimersByTimeAsync(20_000);
    const e = await p;
    expect(e.code).toBe('FACE_REJECTED');
    expect(e.message).toContain('0 frames analysed');
  });

  it('refuses a villager without consent before opening the camera', async () => {
    const { db, key } = ledger();
    setFaceConsent(db, 'B', null);
    const cam = new SteppedCamera();
    await expect(enrolFromCamera(db, key, cam, new ScriptedAnalyser(() => ({ faces: 0 })), config, 'B', { frames: 2, timeoutMs: 1000, maxExamined: 5 }, '')).rejects.toMatchObject({ code: 'NO_CONSENT' });
    expect(cam.running).toBe(false);
  });
});
