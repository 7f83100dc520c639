/**
 * Learned linear maps of face descriptors for scripts/projection-study.ts (issue #8): within-class
 * covariance normalisation (WCCN, whitening by the shrunk within-class scatter) and LDA (the top d
 * discriminant directions in that whitened space), each followed by scaling to unit length again,
 * as the door's distances expect.
 *
 * The eigen-decompositions are of symmetric 128 × 128 matrices: a cyclic Jacobi routine of a few
 * dozen lines does them exactly enough (off-diagonal mass below 1e-12 of the matrix's) in tens of
 * milliseconds. The project declares no linear-algebra dependency (ml-matrix is in node_modules
 * only as ml-random-forest's own dependency), and an offline study is no reason to add one.
 */

/** A row-major n × n matrix. */
export type Mat = Float64Array;

export interface Eigen { values: Float64Array; /** eigenvectors as columns, row-major n × n */ vectors: Mat }

/** Eigenvalues and eigenvectors of the symmetric n × n matrix `a` (cyclic Jacobi rotations; `a` is not changed). */
export function symmetricEigen(a: Mat, n: number): Eigen {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += (A[i] as number) ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (A[p * n + q] as number) ** 2;
    if (off <= 1e-24 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = A[p * n + p] as number;
        const aqq = A[q * n + q] as number;
        // the rotation that zeroes A[p][q] (Golub & Van Loan 8.5.2)
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p] as number;
          const akq = A[k * n + q] as number;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k] as number;
          const aqk = A[q * n + k] as number;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p] as number;
          const vkq = V[k * n + q] as number;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => A[i * n + i] as number), vectors: V };
}

/** Labelled descriptors: one array of descriptors per person. */
export type Classes = ReadonlyArray<readonly Float32Array[]>;

export interface Scatter {
  dim: number;
  /** Mean of every sample. */
  mean: Float64Array;
  /** Within-class scatter over the classes with ≥ 2 samples, divided by their sample count. */
  within: Mat;
  /** Between-class scatter: Σ n_c (μ_c − μ)(μ_c − μ)ᵀ / N. */
  between: Mat;
  classes: number;
  samples: number;
}

export function scatter(classes: Classes): Scatter {
  const all = classes.filter((c) => c.length > 0);
  const dim = (all[0]?.[0] as Float32Array).length;
  const mean = new Float64Array(dim);
  let N = 0;
  for (const c of all) for (const x of c) { for (let i = 0; i < dim; i++) (mean[i] as number) += x[i] as number; N++; }
  for (let i = 0; i < dim; i++) (mean[i] as number) /= N;
  const within = new Float64Array(dim * dim);
  const between = new Float64Array(dim * dim);
  let Nw = 0;
  const diff = new Float64Array(dim);
  const addOuter = (m: Mat, v: Float64Array, w: number): void => {
    for (let i = 0; i < dim; i++) { const vi = (v[i] as number) * w; for (let j = 0; j < dim; j++) (m[i * dim + j] as number) += vi * (v[j] as number); }
  };
  for (const c of all) {
    const mu = new Float64Array(dim);
    for (const x of c) for (let i = 0; i < dim; i++) (mu[i] as number) += (x[i] as number) / c.length;
    for (let i = 0; i < dim; i++) diff[i] = (mu[i] as number) - (mean[i] as number);
    addOuter(between, diff, c.length / N);
    if (c.length < 2) continue;
    for (const x of c) { for (let i = 0; i < dim; i++) diff[i] = (x[i] as number) - (mu[i] as number); addOuter(within, diff, 1); }
    Nw += c.length;
  }
  for (let i = 0; i < within.length; i++) (within[i] as number) /= Math.max(1, Nw);
  return { dim, mean, within, between, classes: all.length, samples: N };
}

/** A learned map: y = W (x − centre), scaled to unit length. W is rows × dim. */
export interface Projection { W: Mat; rows: number; dim: number; centre: Float64Array | null }

export function project(p: Projection, x: Float32Array): Float32Array {
  const y = new Float32Array(p.rows);
  let norm = 0;
  for (let r = 0; r < p.rows; r++) {
    let s = 0;
    for (let i = 0; i < p.dim; i++) s += (p.W[r * p.dim + i] as number) * ((x[i] as number) - (p.centre ? (p.centre[i] as number) : 0));
    y[r] = s;
    norm += s * s;
  }
  norm = Math.sqrt(norm) || 1;
  for (let r = 0; r < p.rows; r++) (y[r] as number) /= norm;
  return y;
}

/**
 * S^(−1/2) of the shrunk within-class scatter S = (1 − λ) S_w + λ (tr S_w / D) I (shrinkage toward a
 * multiple of the identity of the same trace: λ = 1 leaves the descriptor's geometry as it is).
 * `eig`: S_w's own decomposition (shrinkage keeps its eigenvectors, so one decomposition serves every λ).
 */
export function shrunkInverseSqrt(s: Scatter, eig: Eigen, lambda: number): Mat {
  const D = s.dim;
  let tr = 0;
  for (let i = 0; i < D; i++) tr += s.within[i * D + i] as number;
  const out = new Float64Array(D * D);
  for (let k = 0; k < D; k++) {
    const ev = (1 - lambda) * Math.max(0, eig.values[k] as number) + (lambda * tr) / D;
    const w = 1 / Math.sqrt(ev);
    for (let i = 0; i < D; i++) {
      const vik = (eig.vectors[i * D + k] as number) * w;
      for (let j = 0; j < D; j++) (out[i * D + j] as number) += vik * (eig.vectors[j * D + k] as number);
    }
  }
  return out;
}

const matmul = (a: Mat, b: Mat, n: number, m: number, k: number): Mat => {
  // (n × m) · (m × k)
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let l = 0; l < m; l++) {
    const ail = a[i * m + l] as number;
    if (ail === 0) continue;
    for (let j = 0; j < k; j++) (out[i * k + j] as number) += ail * (b[l * k + j] as number);
  }
  return out;
};

/** WCCN: whitening by the shrunk within-class scatter; `centre`: subtract the training mean first. */
export function wccn(s: Scatter, eig: Eigen, lambda: number, centre: boolean): Projection {
  return { W: shrunkInverseSqrt(s, eig, lambda), rows: s.dim, dim: s.dim, centre: centre ? s.mean : null };
}

/**
 * LDA: whiten by the shrunk within-class scatter, then keep the d directions of the largest
 * between-class variance there (at most classes − 1 carry any); always centred on the training mean.
 */
export function lda(s: Scatter, eig: Eigen, lambda: number, d: number): Projection {
  const D = s.dim;
  const iw = shrunkInverseSqrt(s, eig, lambda);
  const m = matmul(matmul(iw, s.between, D, D, D), iw, D, D, D);
  // symmetrise against rounding before the Jacobi routine
  for (let i = 0; i < D; i++) for (let j = i + 1; j < D; j++) { const v = ((m[i * D + j] as number) + (m[j * D + i] as number)) / 2; m[i * D + j] = v; m[j * D + i] = v; }
  const e = symmetricEigen(m, D);
  const order = Array.from({ length: D }, (_, i) => i).sort((a, b) => (e.values[b] as number) - (e.values[a] as number));
  const rows = Math.max(1, Math.min(d, D));
  const Vt = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) for (let i = 0; i < D; i++) Vt[r * D + i] = e.vectors[i * D + (order[r] as number)] as number;
  return { W: matmul(Vt, iw, rows, D, D), rows, dim: D, centre: s.mean };
}
