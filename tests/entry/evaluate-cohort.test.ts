/**
 * `faces evaluate` with entry.match.cohort_scale: every probe is scored as the door scores it,
 * its distances × scale / the face's cohort distance (the mean over villagers of the nearest
 * template), and the figures (points, presentations) are on that scale. Made-up descriptors
 * through a stand-in for the analysis cache; no model runs.
 */
import { describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { l2 } from '../../edge/entry/adapt.ts';
import { collectProbes, summarise } from '../../edge/entry/evaluate.ts';
import type { AnalysisCache, CachedAnalysis } from '../../edge/entry/evaluate-cache.ts';
import type { FaceAnalyser } from '../../edge/entry/enrol.ts';

const unit = (seed: number): Float32Array => {
  const v = new Float32Array(128);
  let x = (seed * 2654435761) % 2 ** 32;
  for (let i = 0; i < 128; i++) { x = (x * 1664525 + 1013904223) % 2 ** 32; v[i] = x / 2 ** 32 - 0.5; }
  const n = Math.hypot(...v);
  return v.map((a) => a / n);
};
// each person a direction of their own, each photo that direction plus a little noise
const photo = (person: number, i: number): Float32Array => {
  const base = unit(person * 1000);
  const noise = unit(person * 1000 + i + 1);
  const v = base.map((b, j) => b + 0.5 * (noise[j] as number));
  const n = Math.hypot(...v);
  return v.map((a) => a / n);
};
const people = Array.from({ length: 6 }, (_, p) => ({ person: `p${p}`, files: Array.from({ length: 5 }, (_, i) => `/none/p${p}/${i}.jpg`) }));
const cache = {
  analyse: (_role: string, file: string): Promise<CachedAnalysis> => {
    const [, , p, f] = file.split('/') as [string, string, string, string];
    return Promise.resolve({ faceCount: 1, nearFaces: 1, face: { rejected: null, descriptor: photo(Number(p.slice(1)), Number.parseInt(f, 10)) } });
  },
} as unknown as AnalysisCache;
const noEngine: FaceAnalyser = { analyse: () => Promise.reject(new Error('no model in this test')) };

describe('faces evaluate with match.cohort_scale', () => {
  it('scores every probe as the door does: distances × scale / the cohort distance', async () => {
    const plainCfg = resolveEntryConfig({});
    const cohortCfg = resolveEntryConfig({ match: { cohort_scale: 0.4 } });
    const opts = { enrol: 2, seed: 1, cache };
    const plain = await collectProbes({ enrol: noEngine, door: noEngine }, plainCfg, '/none', people, opts);
    const scaled = await collectProbes({ enrol: noEngine, door: noEngine }, cohortCfg, '/none', people, opts);
    expect(scaled.probes.length).toBe(plain.probes.length);
    expect(plain.probes.length).toBeGreaterThan(10);
    for (const [i, p] of scaled.probes.entries()) {
      const q = plain.probes[i]!;
      const d = p.descriptor as Float32Array;
      // the cohort by brute force: each enrolled person's nearest template, averaged
      const cohort = [...scaled.own.values()].reduce((s, ts) => s + Math.min(...ts.map((t) => l2(t, d))), 0) / scaled.own.size;
      const f = 0.4 / cohort;
      expect(p.best?.villagerId).toBe(q.best?.villagerId);
      expect(p.best!.distance).toBeCloseTo(q.best!.distance * f, 2);
      expect(p.second!.distance).toBeCloseTo(q.second!.distance * f, 2);
      if (q.ownDistance !== null) expect(p.ownDistance).toBeCloseTo(q.ownDistance * f, 2);
    }
    // and the report says so
    const e = summarise('/none', { enrol: 2, seed: 1, targetFar: 0.001 }, cohortCfg, scaled.probes, scaled.people, scaled.enrolment);
    expect(e.config).toMatchObject({ cohort_scale: 0.4 });
    expect(summarise('/none', { enrol: 2, seed: 1, targetFar: 0.001 }, plainCfg, plain.probes, plain.people, plain.enrolment).config).not.toHaveProperty('cohort_scale');
  });
});
