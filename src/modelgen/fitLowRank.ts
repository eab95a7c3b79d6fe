// Rank-r factorization S ≈ L Rᵀ of a sparse square matrix, weighted by rows: it minimizes (approximately)
// sum_i w_i² |S_i - L_i Rᵀ|², so the capacity goes to the contexts that occur often. Randomized range
// finder with one power iteration (Halko, Martinsson & Tropp 2011): Y = M Mᵀ M Ω with M = diag(w) S,
// Q = orth(Y), then M ≈ Q (Mᵀ Q)ᵀ. Only the orthonormalization is dense (V r² multiply-adds); the
// products with M cost nnz·r. Vectors are stored as r contiguous columns of length V for cache-friendly
// dot products and axpys. Hot loops index typed arrays with `!`: every index is in range by
// construction, and the `?? 0` fallback costs a third of the time here.

import { fillNormal } from '../stats/rng.js';

/** A sparse V×V matrix in CSR form. */
export interface SparseMatrix {
  size: number;
  rowPtr: Int32Array;
  cols: Int32Array;
  values: Float64Array;
}

/** L (V×r) and R (V×r), each stored column by column: column c of L is left[c*V .. c*V+V). */
export interface LowRankFactors {
  size: number;
  rank: number;
  left: Float64Array;
  right: Float64Array;
}

/** y[c] = diag(w) S x[c] for every column c. */
function multiply(m: SparseMatrix, w: Float64Array, x: Float64Array, rank: number): Float64Array {
  const n = m.size;
  const y = new Float64Array(n * rank);
  for (let c = 0; c < rank; c++) {
    const off = c * n;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const end = m.rowPtr[i + 1] ?? 0;
      for (let e = m.rowPtr[i] ?? 0; e < end; e++) s += m.values[e]! * x[off + m.cols[e]!]!;
      y[off + i] = s * w[i]!;
    }
  }
  return y;
}

/** y[c] = (diag(w) S)ᵀ x[c] for every column c. */
function multiplyTransposed(m: SparseMatrix, w: Float64Array, x: Float64Array, rank: number): Float64Array {
  const n = m.size;
  const y = new Float64Array(n * rank);
  for (let c = 0; c < rank; c++) {
    const off = c * n;
    for (let i = 0; i < n; i++) {
      const xi = x[off + i]! * w[i]!;
      if (xi === 0) continue;
      const end = m.rowPtr[i + 1] ?? 0;
      for (let e = m.rowPtr[i] ?? 0; e < end; e++) {
        const j = off + m.cols[e]!;
        y[j] = y[j]! + m.values[e]! * xi;
      }
    }
  }
  return y;
}

function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += a[aOff + k]! * b[bOff + k]!;
    s1 += a[aOff + k + 1]! * b[bOff + k + 1]!;
    s2 += a[aOff + k + 2]! * b[bOff + k + 2]!;
    s3 += a[aOff + k + 3]! * b[bOff + k + 3]!;
  }
  for (; k < n; k++) s0 += a[aOff + k]! * b[bOff + k]!;
  return s0 + s1 + s2 + s3;
}

/**
 * Orthonormalizes the columns in place (modified Gram-Schmidt, with a second pass for columns that
 * lost most of their norm, so ill-conditioned inputs still give orthonormal output). Columns that are
 * numerically dependent on earlier ones become zero.
 */
export function orthonormalizeColumns(q: Float64Array, n: number, rank: number): void {
  for (let c = 0; c < rank; c++) {
    const off = c * n;
    const before = Math.sqrt(dot(q, off, q, off, n));
    let norm = before;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        const pOff = p * n;
        const r = dot(q, pOff, q, off, n);
        if (r === 0) continue;
        for (let k = 0; k < n; k++) q[off + k] = q[off + k]! - r * q[pOff + k]!;
      }
      norm = Math.sqrt(dot(q, off, q, off, n));
      if (norm > 0.5 * before) break;
    }
    const scale = norm > 1e-10 * Math.max(before, 1e-300) ? 1 / norm : 0;
    for (let k = 0; k < n; k++) q[off + k] = q[off + k]! * scale;
  }
}

/** Rank-`rank` factors of diag(w)·S, returned for S itself: S ≈ left rightᵀ. */
export function lowRankFactors(m: SparseMatrix, rowWeights: Float64Array, rank: number, seed: number): LowRankFactors {
  const n = m.size;
  const omega = new Float64Array(n * rank);
  fillNormal(omega, 1, seed);
  const y0 = multiply(m, rowWeights, omega, rank);
  const z = multiplyTransposed(m, rowWeights, y0, rank);
  const q = multiply(m, rowWeights, z, rank);
  orthonormalizeColumns(q, n, rank);
  const right = multiplyTransposed(m, rowWeights, q, rank);
  // M ≈ Q (MᵀQ)ᵀ, and S = diag(1/w) M.
  for (let c = 0; c < rank; c++) {
    for (let i = 0; i < n; i++) {
      const wi = rowWeights[i] ?? 0;
      q[c * n + i] = wi > 0 ? q[c * n + i]! / wi : 0;
    }
  }
  return { size: n, rank, left: q, right };
}
