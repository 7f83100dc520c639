import { describe, expect, it } from 'vitest';
import { lda, project, scatter, symmetricEigen, wccn } from '../../scripts/linear-projection.ts';

/** A small deterministic generator (no Math.random in tests). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('linear-projection (scripts/projection-study.ts)', () => {
  it('symmetricEigen reconstructs a symmetric matrix: A v = λ v, V orthonormal', () => {
    const n = 12;
    const r = rng(7);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const v = r() - 0.5; a[i * n + j] = v; a[j * n + i] = v; }
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += (a[i * n + j] as number) * (vectors[j * n + k] as number);
        expect(av).toBeCloseTo((values[k] as number) * (vectors[i * n + k] as number), 9);
      }
      for (let l = 0; l < n; l++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (vectors[i * n + k] as number) * (vectors[i * n + l] as number);
        expect(dot).toBeCloseTo(k === l ? 1 : 0, 9);
      }
    }
  });

  // two classes apart along axis 0, with their noise along axis 1 ten times that along axis 2
  const r = rng(3);
  const classes = [-1, 1].map((c) => Array.from({ length: 40 }, () => Float32Array.from([c + 0.05 * (r() - 0.5), 1 * (r() - 0.5), 0.1 * (r() - 0.5)])));

  it('WCCN whitens the within-class scatter (λ = 0) and leaves the geometry alone at λ = 1', () => {
    const s = scatter(classes);
    const eig = symmetricEigen(s.within, 3);
    const p = wccn(s, eig, 0, false);
    const projected = classes.map((c) => c.map((x) => {
      const y = new Float64Array(3);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) (y[i] as number) += (p.W[i * 3 + j] as number) * (x[j] as number);
      return Float32Array.from(y);
    }));
    const w = scatter(projected).within;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(w[i * 3 + j]).toBeCloseTo(i === j ? 1 : 0, 4);
    const id = project(wccn(s, eig, 1, false), Float32Array.from([3, 4, 0]));
    // S = tr/3 · I: a multiple of the identity, then unit length
    expect([...id]).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6), expect.closeTo(0, 6)]);
  });

  it('LDA keeps the direction that separates the classes', () => {
    const s = scatter(classes);
    const p = lda(s, symmetricEigen(s.within, 3), 0.1, 1);
    expect(p.rows).toBe(1);
    const a = project(p, classes[0]![0]!)[0] as number;
    const b = project(p, classes[1]![0]!)[0] as number;
    expect(Math.abs(a)).toBeCloseTo(1, 9);
    expect(Math.sign(a)).toBe(-Math.sign(b));
  });
});
