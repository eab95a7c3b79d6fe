// Where fitted coordinates go inside a D-dimensional embedding row and head column.
//
// The final LayerNorm must pass embedding rows through unchanged, so rows sum to zero and all have norm
// sqrt(D). Vectors are built in coordinates y ∈ R^D: the fitted vector in y[0..r), a "slack" value in
// y[D-3] that tops every row up to the common norm, a bias value in y[D-2] (head columns only) and
// y[D-1] = 0. Three Householder reflections Q (orthogonal, O(D) per vector, applied to rows and columns
// alike, so dot products are preserved) then swap
//   - the bias axis with a dense ±c direction d2: LN_f's beta = b·d2 puts the per-token bias
//     (head·beta = bias_j) in the final LayerNorm's shift, where GPT-2 keeps its unigram prior, instead
//     of in one outlier channel that per-block weight quantization would choke on,
//   - the slack axis with another dense direction d1 (d1 ⟂ d2), for the same reason, and
//   - the last axis with the all-ones direction, so everything else sums to zero.
// d1 and d2 use the same coordinates in groups of four with signs (+,+,-,-) and (+,-,+,-): both sum to
// zero and they are orthogonal.

import { Rng } from './prng.js';

/** Maps fitted coordinates into embedding rows / head columns (see the file comment). */
export class EmbeddingFrame {
  /** Largest fitted rank the frame holds: D minus the slack, bias and zero-sum axes. */
  readonly maxRank: number;
  /** Unit vector whose multiple is LN_f's beta (the image of the bias axis). */
  readonly biasDirection: Float64Array;
  private readonly d: number;
  private readonly slackDirection: Float64Array;
  private readonly y: Float64Array;

  constructor(nEmbd: number, seed: number) {
    if (nEmbd < 8) throw new RangeError(`nEmbd must be at least 8, got ${nEmbd}`);
    const d = nEmbd;
    this.d = d;
    this.maxRank = d - 3;
    this.y = new Float64Array(d);
    this.slackDirection = new Float64Array(d);
    this.biasDirection = new Float64Array(d);
    // Coordinates 0..D-4 in a seeded order, used four at a time.
    const order = Array.from({ length: d - 3 }, (_, k) => k);
    const rng = new Rng(seed);
    for (let k = order.length - 1; k > 0; k--) {
      const j = rng.nextInt(k + 1);
      const t = order[k] ?? 0;
      order[k] = order[j] ?? 0;
      order[j] = t;
    }
    const used = order.length - (order.length % 4);
    const c = 1 / Math.sqrt(used);
    for (let p = 0; p < used; p++) {
      const at = order[p] ?? 0;
      this.slackDirection[at] = p % 4 < 2 ? c : -c;
      this.biasDirection[at] = p % 2 === 0 ? c : -c;
    }
  }

  /**
   * Writes out[offset .. offset+D): `scale` times Q·(coords[0..rank), slack, bias, 0).
   */
  place(coords: ArrayLike<number>, rank: number, slack: number, bias: number, out: Float32Array, offset: number, scale: number): void {
    const { d, y } = this;
    if (rank > this.maxRank) throw new RangeError(`rank ${rank} exceeds the frame's ${this.maxRank}`);
    y.fill(0);
    for (let c = 0; c < rank; c++) y[c] = coords[c] ?? 0;
    y[d - 3] = slack;
    y[d - 2] = bias;
    swapAxis(y, d - 2, this.biasDirection);
    swapAxis(y, d - 3, this.slackDirection);
    // Reflection swapping e_last and ones/sqrt(D): |v|² = 2 - 2/sqrt(D).
    const invSqrtD = 1 / Math.sqrt(d);
    let sum = 0;
    for (let k = 0; k < d; k++) sum += y[k] ?? 0;
    const f = (2 * ((y[d - 1] ?? 0) - sum * invSqrtD)) / (2 - 2 * invSqrtD);
    for (let k = 0; k < d; k++) out[offset + k] = ((y[k] ?? 0) + f * invSqrtD - (k === d - 1 ? f : 0)) * scale;
  }
}

/** Householder reflection swapping axis `axis` with unit vector `dir` (dir[axis] = 0, so |v|² = 2). */
function swapAxis(y: Float64Array, axis: number, dir: Float64Array): void {
  let f = y[axis] ?? 0;
  for (let k = 0; k < y.length; k++) f -= (dir[k] ?? 0) * (y[k] ?? 0);
  for (let k = 0; k < y.length; k++) y[k] = (y[k] ?? 0) + f * (dir[k] ?? 0);
  y[axis] = (y[axis] ?? 0) - f;
}
