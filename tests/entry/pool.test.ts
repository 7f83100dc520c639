/**
 * Probe-side pooling (entry.match.pool): the door's window also matches the unit mean of its
 * frames' descriptors. Built on exact geometry (orthonormal directions) so each distance is known:
 * a villager's frame e0 + a·e_i (i ≥ 1, a different noise direction each) lies 0.31 from their
 * template e0, too far for one frame (0.30); the mean of j such frames lies
 * √(2 − 2/√(1 + a²/j)) from it: 0.221 for 2, 0.181 for 3; the pool's threshold is 0.21. Two such
 * frames are 0.44 apart (their noise is orthogonal; a real face's frames share more, ≤ 0.39 from
 * their pool's mean on the door-like sets), so the pool's max_step is 0.5 here.
 */
import { describe, expect, it } from 'vitest';
import { Gallery, pooledQuery } from '../../models/gallery.ts';
import type { FrameAnalysis, RgbFrame } from '../../models/face-types.ts';
import { resolveEntryConfig, type MatchConfig } from '../../edge/entry/config.ts';
import { frameVerdict, initialWindow, poolSum, stepWindow, type WindowState } from '../../edge/entry/decision.ts';
import { presentations, type Probe } from '../../edge/entry/evaluate-metrics.ts';
import { presentFrames } from '../../edge/entry/present.ts';
import type { FaceAnalyser } from '../../edge/entry/enrol.ts';

const DIM = 128;
const e = (...parts: Array<[number, number]>): Float32Array => {
  const v = new Float32Array(DIM);
  for (const [i, x] of parts) v[i] = x;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
// a frame 0.31 from its centre: 2 − 2/√(1 + a²) = 0.31²
const A = Math.sqrt(1 / (1 - 0.31 ** 2 / 2) ** 2 - 1);
/** Villager 'a' at e0; 'b' (a look-alike of a, 0.29 away) and 'c' far from both. */
const templates = { a: e([0, 1]), b: e([0, 1], [1, 0.3]), c: e([2, 1]) };
const frameOfA = (i: number): Float32Array => e([0, 1], [10 + i, A]);
const noFace = null;

function gallery(): Gallery {
  const g = new Gallery(16);
  for (const [id, t] of Object.entries(templates)) if (id !== 'b') g.add(id, [t]);
  return g;
}

const liveness = resolveEntryConfig({ liveness: { enabled: false } }).liveness;
const face = { box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9, quality: {}, rejected: null, liveness: null, landmarks: undefined } as never;

/** The door's loop on descriptors: the worker's searches (frame, and pool + frame) then frameVerdict and stepWindow. */
function door(g: Gallery, match: MatchConfig, frames: Array<Float32Array | null>): string[] {
  let s: WindowState = initialWindow();
  return frames.map((d, t) => {
    const sum = poolSum(s, match);
    const rec = d ? { face, match: g.search(d), descriptor: d, pooled: sum ? g.search(pooledQuery(sum, d)) : undefined } : { face: null, match: null };
    const r = stepWindow(s, frameVerdict(rec, match, liveness), t, match);
    s = r.state;
    return r.outcome ? (r.outcome.kind === 'matched' ? `matched:${r.outcome.villagerId}` : r.outcome.kind) : '-';
  });
}

const plain = resolveEntryConfig({}).match;
const pooled = resolveEntryConfig({ match: { pool: { max_step: 0.5 } } }).match;

describe('probe-side pooling (entry.match.pool)', () => {
  it('the pool opens for a villager whose single frames are each too far; the frame vote alone does not', () => {
    const frames = [0, 1, 2, 3, 4].map(frameOfA);
    expect(gallery().search(frames[0] as Float32Array).best?.distance).toBeCloseTo(0.31, 3);
    expect(door(gallery(), plain, frames)).toEqual(['-', '-', '-', '-', 'uncertain']);
    // 2 frames pooled: 0.221, not yet; 3: 0.181 (then the same decision is not repeated within the cooldown)
    expect(door(gallery(), pooled, frames)).toEqual(['-', '-', 'matched:a', '-', '-']);
    // at a pool threshold of 0.23: 2 frames
    expect(door(gallery(), { ...pooled, pool: { ...pooled.pool!, threshold: 0.23 } }, frames)).toEqual(['-', 'matched:a', '-', '-', '-']);
    // 5 frames pooled: 0.144
    expect(door(gallery(), { ...pooled, pool: { ...pooled.pool!, threshold: 0.14 } }, frames)).toEqual(['-', '-', '-', '-', 'uncertain']);
  });

  it('a stranger between two look-alike villagers stays unnamed: the pool has no margin to either', () => {
    const g = gallery();
    g.add('b', [templates.b]);
    // frames around the midpoint of a and b, each with its own noise
    const mid = e([0, 1], [1, 0.15]);
    const frames = [0, 1, 2, 3, 4].map((i) => { const v = new Float32Array(mid); v[20 + i] = 0.12; return e(...[...v].map((x, j) => [j, x] as [number, number])); });
    const out = door(g, pooled, frames);
    expect(out.filter((o) => o.startsWith('matched'))).toEqual([]);
    expect(out[4]).toBe('uncertain');
  });

  it('the pool starts again when the person leaves', () => {
    const match = { ...pooled, face_gone_frames: 2 };
    // one frame without a face is not the person leaving: three frames pooled
    expect(door(gallery(), match, [frameOfA(0), frameOfA(1), noFace, frameOfA(2)])).toEqual(['-', '-', '-', 'matched:a']);
    // two frames, the person leaves, one frame: one frame pooled, not three
    expect(door(gallery(), match, [frameOfA(0), frameOfA(1), noFace, noFace, frameOfA(2)])).toEqual(['-', '-', '-', '-', '-']);
  });

  it('the pool starts again when the face changes (a frame farther than max_step from its mean)', () => {
    // two frames of a stranger far from everyone, then a: without the reset their mean drags the pool away from a
    const other = [e([40, 1], [30, 0.2]), e([40, 1], [31, 0.2])];
    const frames = [...other, frameOfA(0), frameOfA(1), frameOfA(2)];
    // a's first frame starts a new pool; its third opens
    expect(door(gallery(), pooled, frames)).toEqual(['-', '-', '-', '-', 'matched:a']);
    expect(door(gallery(), { ...pooled, pool: { ...pooled.pool!, max_step: 2 } }, frames)).toEqual(['-', '-', '-', '-', 'uncertain']);
  });

  it('a frame vote naming one villager and the pool another open for neither', () => {
    const g = gallery();
    // one frame (k 1) votes for c while the pool names a: the window must not open
    const match = { ...pooled, k: 1, pool: { ...pooled.pool!, max_step: 2 } };
    const d = templates.c;
    const start = { ...initialWindow(), pool: { sum: templates.a, count: 1 } };
    const step = (pooledSearch: ReturnType<Gallery['search']>) => stepWindow(start, frameVerdict({ face, match: g.search(d), descriptor: d, pooled: pooledSearch }, match, liveness), 0, match);
    const r = step(g.search(templates.a));
    expect(r.outcome).toBeNull();
    expect(r.state.pool?.count).toBe(2);
    // the same frame with a pool that agrees opens for c
    expect(step(g.search(templates.c)).outcome).toMatchObject({ kind: 'matched', villagerId: 'c' });
  });

  it('faces present and faces evaluate decide with the same pool as the door', async () => {
    const frames = [0, 1, 2, 3, 4].map(frameOfA);
    const analyser: FaceAnalyser = {
      analyse: (f: RgbFrame) => Promise.resolve({ width: 1, height: 1, faceCount: 1, nearFaces: 1, times: { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 }, faces: [{ ...(face as object), descriptor: frames[f.data[0] as number] as Float32Array }] } as unknown as FrameAnalysis),
    };
    const next = (() => { let i = 0; return () => Promise.resolve(i < frames.length ? { width: 1, height: 1, data: new Uint8Array([i++, 0, 0]) } as RgbFrame : null); })();
    const entry = resolveEntryConfig({ match: { pool: { max_step: 0.5 } }, liveness: { enabled: false } });
    expect(await presentFrames(analyser, gallery(), entry, next)).toMatchObject({ decision: 'matched', villager: 'a', frames: 3 });
    const g = gallery();
    const probes = frames.map((d, i): Probe & { descriptor: Float32Array } => {
      const s = g.search(d);
      return { person: 'a', file: `${i}.jpg`, genuine: true, outcome: 'scored', best: s.best, second: s.second, ownDistance: s.best?.distance ?? null, descriptor: d };
    });
    expect(presentations(probes, plain, (q) => g.search(q))).toMatchObject({ genuine: 1, accepted: 0 });
    expect(presentations(probes, pooled, (q) => g.search(q))).toMatchObject({ genuine: 1, accepted: 1, falseAccepts: 0 });
  });

  it('off unless configured; pool: {} gives the calibrated point, and bad values are refused', () => {
    expect(plain.pool).toBeUndefined();
    expect(resolveEntryConfig({ match: { pool: {} } }).match.pool).toEqual({ threshold: 0.21, margin: 0.1, min_frames: 2, max_step: 0.4 });
    expect(() => resolveEntryConfig({ match: { pool: { min_frames: 1 } } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    expect(() => resolveEntryConfig({ match: { pool: { threshhold: 0.2 } } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
  });
});
