/**
 * Probe-side pooling (entry.match.pool) must not merge two people's frames into one decision.
 * One frame of villager a (a passer-by, or a print of a held up for a single frame) followed by a
 * look-alike stranger (0.30 from a: never a candidate on their own frames, and their own pool
 * never names a): the pool of the two named a (0.160, then 0.204 with three frames) and opened
 * the door on the stranger's frame. Exact geometry as in pool.test.ts; the default pool (threshold
 * 0.21, margin 0.10, max_step 0.4), under which the stranger's frames lie 0.32 from a's frame.
 */
import { describe, expect, it } from 'vitest';
import { Gallery, pooledQuery } from '../../models/gallery.ts';
import { resolveEntryConfig, type MatchConfig } from '../../edge/entry/config.ts';
import { frameVerdict, initialWindow, poolSum, stepWindow, type WindowState } from '../../edge/entry/decision.ts';

const DIM = 128;
const e = (...parts: Array<[number, number]>): Float32Array => {
  const v = new Float32Array(DIM);
  for (const [i, x] of parts) v[i] = x;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
/** e0 + coef(d)·e_i lies d from e0. */
const coef = (d: number): number => Math.sqrt(1 / (1 - d ** 2 / 2) ** 2 - 1);
const templates = { a: e([0, 1]), b: e([1, 1]), c: e([2, 1]) };
/** a's own face, `d` from the template. */
const frameOfA = (d = 0.1, i = 0): Float32Array => e([0, 1], [10 + i, coef(d)]);
/** The stranger: a fixed offset from a (who they are) plus a little per-frame noise. */
const stranger = (i: number): Float32Array => e([0, 1], [20, coef(0.3)], [30 + i, 0.03]);

const liveness = resolveEntryConfig({ liveness: { enabled: false } }).liveness;
const face = { box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9, quality: {}, rejected: null, liveness: null, landmarks: undefined } as never;

/** The door's loop on descriptors: the worker's searches (frame, and pool + frame), frameVerdict, stepWindow. */
function door(match: MatchConfig, frames: Float32Array[], ids: Array<keyof typeof templates> = ['a', 'c']): string[] {
  const g = new Gallery(16);
  for (const id of ids) g.add(id, [templates[id]]);
  let s: WindowState = initialWindow();
  return frames.map((d, t) => {
    const sum = poolSum(s, match);
    const r = stepWindow(s, frameVerdict({ face, match: g.search(d), descriptor: d, pooled: sum ? g.search(pooledQuery(sum, d)) : undefined }, match, liveness), t * 125, match);
    s = r.state;
    return r.outcome ? (r.outcome.kind === 'matched' ? `matched:${r.outcome.villagerId}` : r.outcome.kind) : '-';
  });
}

const pooled = resolveEntryConfig({ match: { pool: {} } }).match;

describe('the pool never merges two faces', () => {
  it('the stranger alone is never matched, with or without the pool', () => {
    const frames = Array.from({ length: 10 }, (_, i) => stranger(i));
    expect(door(pooled, frames).some((x) => x.startsWith('matched'))).toBe(false);
  });

  it('one frame of a, then the stranger: the door does not name a', () => {
    const d = door(pooled, [frameOfA(), stranger(0), stranger(1), stranger(2), stranger(3)]);
    expect(d.some((x) => x.startsWith('matched'))).toBe(false);
    // five frames near a, one of them a candidate: the card or QR code is asked for
    expect(d[4]).toBe('uncertain');
  });

  it('nor when a\'s frame is no candidate but within the pool\'s threshold on its own', () => {
    const d = door(pooled, [frameOfA(0.2), stranger(0), stranger(1)]);
    expect(d.some((x) => x.startsWith('matched'))).toBe(false);
  });

  it('a pool whose frames name another villager on their own starts again and never opens on them', () => {
    // three frames of a, each too far alone (0.31), with b enrolled beside a: a frame whose own top-1
    // is b (a look-alike) restarts the pool; only a's own frames after it open it
    const b = e([0, 1], [1, coef(0.1)], [50, 0.02]);
    const frames = [frameOfA(0.31, 0), frameOfA(0.31, 1), b, frameOfA(0.31, 2), frameOfA(0.31, 3), frameOfA(0.31, 4)];
    const d = door({ ...pooled, pool: { ...pooled.pool!, max_step: 2 } }, frames, ['a', 'b', 'c']);
    expect(d.filter((x) => x.startsWith('matched'))).not.toContain('matched:b');
  });

  it('a villager whose frames are each too far is still let in by the pool', () => {
    const frames = [0, 1, 2, 3, 4].map((i) => frameOfA(0.31, i));
    expect(door({ ...pooled, pool: { ...pooled.pool!, max_step: 0.5 } }, frames)).toEqual(['-', '-', 'matched:a', '-', '-']);
  });
});
