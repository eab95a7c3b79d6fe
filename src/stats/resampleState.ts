// One bootstrap resample, tallied while it is drawn. Each draw of request k adds one to k's weight and one to
// the rank bucket of each of its per-request values (E2E, TTFT, TPOT), so a percentile of the round is found by
// scanning bucket sums and walking one bucket (stats/rankBuckets.ts) instead of walking half a sorted column with
// a random weight lookup per value. The draws, and hence the weights and every percentile, are exactly those
// drawStratifiedWeights gives with the same rng; totals come from one sequential pass (resampleTotals).
import { bucketCount, rankBuckets } from './rankBuckets.js';
import { resampleTotals, type ColumnName, type RequestColumns, type ResampleTotals } from './requestColumns.js';

/** Columns with one value per request, bucketed by rank. ITL (several gaps per request) is walked instead. */
const BUCKETED: readonly ColumnName[] = ['e2eMs', 'ttftMs', 'tpotMs'];

/** The weights and bucket sums of one pipeline's resample. */
export class ResampleState {
  /** Times each request was drawn. */
  readonly weights: Uint32Array;
  /** Per request, the rank bucket of its e2e, ttft and tpot value (stride 3; the extra bucket: no value). */
  readonly bucketOf: Uint32Array;
  readonly c0: Uint32Array;
  readonly c1: Uint32Array;
  readonly c2: Uint32Array;
  private readonly bucketed: readonly boolean[];

  constructor(readonly cols: RequestColumns) {
    const n = cols.n;
    this.weights = new Uint32Array(n);
    this.bucketOf = new Uint32Array(n * 3);
    const ofs = BUCKETED.map((name) => rankBuckets(cols[name]));
    const counts = BUCKETED.map((name, k) => {
      const of = ofs[k];
      // Never null for these columns (one value per request); if it were, the column is walked instead and
      // its slot points every request at a single ignored bucket.
      for (let i = 0; i < n; i++) this.bucketOf[i * 3 + k] = of ? (of[i] as number) : 0;
      return new Uint32Array(of ? bucketCount(cols[name]) + 1 : 1);
    });
    this.bucketed = ofs.map((of) => of !== null);
    this.c0 = counts[0] as Uint32Array;
    this.c1 = counts[1] as Uint32Array;
    this.c2 = counts[2] as Uint32Array;
  }

  /** Forgets every draw. */
  reset(): void {
    this.weights.fill(0);
    this.c0.fill(0);
    this.c1.fill(0);
    this.c2.fill(0);
  }

  /** The full sample: every request drawn once. */
  drawAll(): this {
    this.reset();
    for (let k = 0; k < this.cols.n; k++) addDraw(this, k);
    return this;
  }

  /** Per-bucket weights of a column, or null when the column must be walked. */
  bucketCounts(c: ColumnName): Uint32Array | null {
    const k = BUCKETED.indexOf(c);
    if (k < 0 || !this.bucketed[k]) return null;
    return k === 0 ? this.c0 : k === 1 ? this.c1 : this.c2;
  }

  /** Weighted counts and sums of the round (one sequential pass over the requests). */
  totals(): ResampleTotals {
    return resampleTotals(this.cols, this.weights);
  }
}

/** One draw of request k. */
function addDraw(s: ResampleState, k: number): void {
  const w = s.weights;
  w[k] = (w[k] as number) + 1;
  const q = k * 3;
  const b0 = s.bucketOf[q] as number;
  const b1 = s.bucketOf[q + 1] as number;
  const b2 = s.bucketOf[q + 2] as number;
  s.c0[b0] = (s.c0[b0] as number) + 1;
  s.c1[b1] = (s.c1[b1] as number) + 1;
  s.c2[b2] = (s.c2[b2] as number) + 1;
}

/**
 * Draws, within each stratum (repeat), as many requests as it holds, with replacement, into `a`; with `pairs`,
 * each draw of baseline request k also draws the variant's request pairs[k] into `b` (paired resampling).
 */
export function drawResample(rng: () => number, strata: readonly Uint32Array[], a: ResampleState, pairs: Uint32Array | null = null, b: ResampleState | null = null): void {
  a.reset();
  if (pairs && b) b.reset();
  for (const idx of strata) {
    if (pairs && b) drawPaired(rng, idx, a, pairs, b);
    else drawStratum(rng, idx, a);
  }
}

// Written out with the arrays in locals: this loop is the bootstrap's hot path.
function drawStratum(rng: () => number, idx: Uint32Array, a: ResampleState): void {
  const { weights: w, bucketOf: of, c0, c1, c2 } = a;
  const m = idx.length;
  for (let i = 0; i < m; i++) {
    const k = idx[Math.floor(rng() * m)] as number;
    w[k] = (w[k] as number) + 1;
    const q = k * 3;
    const b0 = of[q] as number;
    const b1 = of[q + 1] as number;
    const b2 = of[q + 2] as number;
    c0[b0] = (c0[b0] as number) + 1;
    c1[b1] = (c1[b1] as number) + 1;
    c2[b2] = (c2[b2] as number) + 1;
  }
}

function drawPaired(rng: () => number, idx: Uint32Array, a: ResampleState, pairs: Uint32Array, b: ResampleState): void {
  const m = idx.length;
  for (let i = 0; i < m; i++) {
    const k = idx[Math.floor(rng() * m)] as number;
    addDraw(a, k);
    addDraw(b, pairs[k] as number);
  }
}
