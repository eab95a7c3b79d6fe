// Where fitted coordinates go inside a D-dimensional embedding row and head column.
//
// The final LayerNorm LN_f must turn every embedding row into "fitted vector + fixed shift", whatever the
// row's fitted norm (which sets how peaked its next-token distribution is). So each row has the same
// norm sqrt(D) and zero mean, split between
//   - the fitted dimensions F (the first D - m): the fitted vector, placed by two Householder reflections
//     (orthogonal, O(D), applied to rows and head columns alike so dot products are preserved) that make
//     it sum to zero and keep it orthogonal to the bias direction, and
//   - m slack dimensions S (the last D/8): a fixed zero-sum pattern scaled to top the row up to the common
//     norm. LN_f's gamma is 0 there, as real models damp their massive-activation channels: the slack
//     sets the normalization but never reaches the head, so head quantization error is not multiplied
//     by it, and block-wise quantization sees it in blocks of its own.
// The per-token bias rides on LN_f's shift: beta = b·d (d a unit direction over 32 of the F dimensions,
// ⟂ the fitted vectors), and each head column's component along d gives bias_j, as GPT-2's final
// LayerNorm shift carries its unigram prior. 32 dimensions, not all of F: spread thinner, the bias part
// of each head column would fall below one quantization step and be rounded away systematically.

import { orthonormalizeColumns } from './fitLowRank.js';
import { Rng, fillNormal } from '../stats/rng.js';

/**
 * A unit vector over `count` of the first `n` coordinates (chosen by the seed), Gaussian-random values
 * with their mean removed so it sums to zero. Irregular values matter: a direction with equal-magnitude
 * entries makes rounding errors of quantized weights line up with it instead of averaging out.
 */
function zeroSumDirection(n: number, count: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k--) {
    const j = rng.nextInt(k + 1);
    const t = order[k] ?? 0;
    order[k] = order[j] ?? 0;
    order[j] = t;
  }
  const values = new Float64Array(count);
  fillNormal(values, 1, seed ^ 0x5bd1e995);
  const mean = values.reduce((a, b) => a + b, 0) / count;
  let norm = 0;
  for (let p = 0; p < count; p++) norm += ((values[p] ?? 0) - mean) ** 2;
  const out = new Float64Array(n);
  for (let p = 0; p < count; p++) out[order[p] ?? 0] = ((values[p] ?? 0) - mean) / Math.sqrt(norm);
  return out;
}

/** Dimensions that carry LN_f's shift (the bias): one quantization block's worth. */
const BIAS_DIMS = 32;

/** Maps fitted coordinates into embedding rows / head columns (see the file comment). */
export class EmbeddingFrame {
  /** Dimensions [fittedDims, D) hold the slack; LN_f's gamma must be 0 there. */
  readonly fittedDims: number;
  /** Largest fitted rank the frame holds: the fitted dimensions minus the bias and zero-sum axes. */
  readonly maxRank: number;
  /** Unit vector (zero on the slack dimensions) whose multiple is LN_f's beta. */
  readonly biasDirection: Float64Array;
  /** How many dimensions the bias direction uses. */
  readonly biasDims: number;
  private readonly d: number;
  private readonly slackPattern: Float64Array;
  private readonly y: Float64Array;

  constructor(nEmbd: number, seed: number) {
    if (nEmbd < 16) throw new RangeError(`nEmbd must be at least 16, got ${nEmbd}`);
    this.d = nEmbd;
    const slackDims = Math.floor(nEmbd / 8);
    const f = nEmbd - slackDims;
    this.fittedDims = f;
    this.maxRank = f - 2;
    this.y = new Float64Array(f);
    this.biasDims = Math.min(BIAS_DIMS, f - 2);
    this.biasDirection = new Float64Array(nEmbd);
    this.biasDirection.set(zeroSumDirection(f - 2, this.biasDims, seed));
    this.slackPattern = zeroSumDirection(slackDims, slackDims, seed + 1);
  }

  /**
   * Writes out[offset .. offset+D): `scale` times the image of (coords[0..rank) in F, `slack` in S,
   * `bias` along the bias direction). Rows use bias 0; head columns use slack 0.
   */
  place(coords: ArrayLike<number>, rank: number, slack: number, bias: number, out: Float32Array, offset: number, scale: number): void {
    const { d, y } = this;
    const f = this.fittedDims;
    if (rank > this.maxRank) throw new RangeError(`rank ${rank} exceeds the frame's ${this.maxRank}`);
    y.fill(0);
    for (let c = 0; c < rank; c++) y[c] = coords[c] ?? 0;
    // Reflection swapping the bias axis (f-2) with the bias direction (which is 0 there, so |v|² = 2).
    const axis = f - 2;
    let g = bias;
    for (let k = 0; k < f; k++) g -= (this.biasDirection[k] ?? 0) * (y[k] ?? 0);
    for (let k = 0; k < f; k++) y[k] = (y[k] ?? 0) + g * (this.biasDirection[k] ?? 0);
    y[axis] = bias - g;
    // Reflection swapping the last axis (0 here) with ones/sqrt(f): |v|² = 2 - 2/sqrt(f).
    const invSqrtF = 1 / Math.sqrt(f);
    let sum = 0;
    for (let k = 0; k < f; k++) sum += y[k] ?? 0;
    const h = (2 * ((y[f - 1] ?? 0) - sum * invSqrtF)) / (2 - 2 * invSqrtF);
    for (let k = 0; k < f; k++) out[offset + k] = ((y[k] ?? 0) + h * invSqrtF - (k === f - 1 ? h : 0)) * scale;
    for (let k = f; k < d; k++) out[offset + k] = slack * (this.slackPattern[k - f] ?? 0) * scale;
  }
}

/**
 * Multiplies both factor matrices ([size, rank] row-major) by the same seeded random rotation, which
 * leaves every product left_i · right_j unchanged. The fitted coordinates come out of the fit with very
 * unequal energy (a few directions dominate), so without this a handful of embedding dimensions would
 * hold most of each head column and per-column weight quantization would lose the rest.
 */
export function rotateFactors(left: Float32Array, right: Float32Array, size: number, rank: number, seed: number): void {
  const rot = new Float64Array(rank * rank);
  fillNormal(rot, 1, seed);
  orthonormalizeColumns(rot, rank, rank); // column c of `rot` is rot[c*rank ..]
  const row = new Float64Array(rank);
  for (const m of [left, right]) {
    for (let i = 0; i < size; i++) {
      const off = i * rank;
      for (let c = 0; c < rank; c++) {
        let s = 0;
        const rOff = c * rank;
        for (let k = 0; k < rank; k++) s += m[off + k]! * rot[rOff + k]!;
        row[c] = s;
      }
      for (let c = 0; c < rank; c++) m[off + c] = row[c]!;
    }
  }
}
