/** The evaluation's arithmetic on made-up probes: operating points, the threshold search, k-of-n runs. */
import { describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { bestThreshold, drawHistogram, histogram, marginGrid, pointAt, presentations, safePoint, searchTarget, type Probe } from '../../edge/entry/evaluate-metrics.ts';
import { seededShuffle, summarise } from '../../edge/entry/evaluate.ts';

const probe = (person: string, genuine: boolean, best: [string, number] | null, second: number | null, own: number | null = null): Probe => ({
  person, file: `${person}.jpg`, genuine, outcome: best ? 'scored' : 'no_face',
  best: best ? { villagerId: best[0], distance: best[1] } : null, second: second === null ? null : { distance: second }, ownDistance: own,
});

// A and B enrolled; S a stranger. One genuine probe of B lands nearest to A (a wrong-person candidate).
const probes: Probe[] = [
  probe('A', true, ['A', 0.10], 0.40, 0.10),
  probe('A', true, ['A', 0.20], 0.45, 0.20),
  probe('A', true, ['A', 0.30], 0.33, 0.30),
  probe('B', true, ['B', 0.15], 0.50, 0.15),
  probe('B', true, ['A', 0.26], 0.29, 0.29),
  probe('B', true, null, null),
  probe('S', false, ['A', 0.25], 0.40),
  probe('S', false, ['B', 0.35], 0.41),
  probe('S', false, ['A', 0.50], 0.52),
];

describe('evaluation metrics', () => {
  it("chooses threshold and margin by the safety rule: zero false accepts even at threshold + 0.02 and margin − 0.02", () => {
    const match = resolveEntryConfig({}).match;
    // the stranger at 0.25 has margin 0.15; A's probe at 0.23 is clear of B by 0.22
    const run = [probe('A', true, ['A', 0.10], 0.40), probe('A', true, ['A', 0.23], 0.45), probe('B', true, ['B', 0.15], 0.50), probe('S', false, ['A', 0.25], 0.40)];
    // without the safety margin 0.23 is safe at margin 0.06 already (the stranger is at 0.25)
    expect(safePoint([{ probes: run, door: false }], match, [0.06], 0)).toMatchObject({ threshold: 0.23, margin: 0.06, meanFrameTar: 1 });
    // with it, 0.23 + 0.02 reaches the stranger: only a margin whose − 0.02 the stranger fails (0.18) admits 0.23
    expect(safePoint([{ probes: run, door: false }], match, marginGrid(0.02, 0.20))).toMatchObject({ threshold: 0.23, margin: 0.18, meanFrameTar: 1 });
    expect(safePoint([{ probes: run, door: false }], match, [0.06])).toMatchObject({ threshold: 0.15, margin: 0.06 });
  });

  it('counts accepts by the door rule: threshold and margin', () => {
    // at 0.28 / 0.06: A 0.10, A 0.20, B 0.15 accepted; the stranger at 0.25 (margin 0.15) is a false accept
    expect(pointAt(probes, 0.28, 0.06)).toEqual({ threshold: 0.28, margin: 0.06, tar: 3 / 6, far: 1 / 3, falseAccepts: 1, strangersAccepted: 1, misidentified: 0, misidentifiedRate: 0 });
    // the wrong-person candidate (B seen as A at 0.26) has margin 0.03: accepted only when the margin allows;
    // it is a misidentification (1 of the 5 genuine probes with a face), not a stranger: FAR stays 1 of 3 strangers
    expect(pointAt(probes, 0.28, 0.02)).toMatchObject({ falseAccepts: 2, strangersAccepted: 1, far: 1 / 3, misidentified: 1, misidentifiedRate: 1 / 5 });
  });

  it('FAR is strangers accepted over stranger probes (≤ 1); enrolled people taken for someone else are their own rate', () => {
    // 4 genuine probes of A each taken for B, 1 stranger probe rejected
    const taken = [1, 2, 3, 4].map(() => probe('A', true, ['B', 0.2], 1.5, 0.9));
    const p = pointAt([...taken, probe('S', false, ['B', 0.9], 1.5)], 0.37, 0.1);
    expect(p).toMatchObject({ far: 0, strangersAccepted: 0, misidentified: 4, misidentifiedRate: 1, falseAccepts: 4 });
    // the FAR budgets hold each population to its own rate: at 0.1 %, one stranger of 1 000 and one misidentification of 1 001
    const many = [
      ...Array.from({ length: 1000 }, () => probe('A', true, ['A', 0.1], 1.5, 0.1)), probe('A', true, ['B', 0.25], 1.5, 0.9),
      ...Array.from({ length: 1000 }, (_, i) => probe(`S${i}`, false, ['B', 0.3 + i / 10_000], 1.5)),
    ];
    expect(searchTarget(many, 0.001)).toMatchObject({ threshold: 0.3, strangersAccepted: 1, far: 0.001, misidentified: 1 });
    expect(bestThreshold(many, 0.1, 0)).toMatchObject({ falseAccepts: 0, threshold: 0.1 });
  });

  it('finds the largest threshold with zero false accepts, exactly', () => {
    const p = bestThreshold(probes, 0.06, 0);
    expect(p.threshold).toBe(0.2);
    expect(p.falseAccepts).toBe(0);
    expect(p.tar).toBeCloseTo(3 / 6);
    // with one false accept allowed the threshold moves up to just below the second one
    expect(bestThreshold(probes, 0.06, 1)).toMatchObject({ threshold: 0.25, falseAccepts: 1 });
  });

  it('searches margins for the best TAR within a target FAR', () => {
    const p = searchTarget(probes, 0);
    expect(p.falseAccepts).toBe(0);
    expect(pointAt(probes, p.threshold, p.margin)).toEqual(p);
  });

  it('decides presentations with the door window (k of n)', () => {
    const match = { ...resolveEntryConfig({}).match, threshold: 0.28, margin: 0.06, k: 2, n: 3 };
    const r = presentations(probes, match);
    // A: two of three frames accepted as A → admitted; B: one frame only → not; S: one false frame of three → not
    expect(r).toMatchObject({ genuine: 2, accepted: 1, impostor: 1, falseAccepts: 0, tar: 0.5 });
  });

  it('bins genuine (own) and impostor (nearest) distances', () => {
    const h = histogram(probes, 0.1, 6);
    expect(h.genuine.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.impostor.reduce((a, b) => a + b, 0)).toBe(3);
    expect(h.impostor[5]).toBe(1); // 0.50 lands in the last bin
    expect(drawHistogram(h)).toContain('impostor');
  });

  it('shuffles deterministically by seed', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(seededShuffle(items, 7)).toEqual(seededShuffle(items, 7));
    expect(seededShuffle(items, 7)).not.toEqual(seededShuffle(items, 8));
    expect([...seededShuffle(items, 7)].sort((a, b) => a - b)).toEqual(items);
  });
});

describe('the genuine distances', () => {
  it('genuineP95 is the nearest-rank 95th percentile: of 0.01…0.20, 0.19 (19 of 20 at or under it), not the largest', () => {
    const own = Array.from({ length: 20 }, (_, i) => probe('A', true, ['A', (i + 1) / 100], 1.5, (i + 1) / 100));
    const e = summarise('/d', { enrol: 1, seed: 1, targetFar: 0.001 }, resolveEntryConfig({}), [...own, probe('S', false, ['A', 0.9], 1.5)],
      { total: 2, enrolled: ['A'], strangers: ['S'], notEnrolled: [] }, { photos: 1, templates: 2, refused: { no_face: 0, multiple_faces: 0, low_quality: 0 } });
    expect(e.distances.genuineP95).toBeCloseTo(0.19, 10);
    const one = summarise('/d', { enrol: 1, seed: 1, targetFar: 0.001 }, resolveEntryConfig({}), own.slice(0, 1),
      { total: 1, enrolled: ['A'], strangers: [], notEnrolled: [] }, { photos: 1, templates: 2, refused: { no_face: 0, multiple_faces: 0, low_quality: 0 } });
    expect(one.distances.genuineP95).toBeCloseTo(0.01, 10);
  });
});
