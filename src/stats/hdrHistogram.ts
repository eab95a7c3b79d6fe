// An HDR-style log-linear histogram of non-negative integer microseconds: exact below 1,024 us, then 512
// buckets per power of two (each within 0.2% of its values). Counts are sparse, so a pipeline's histogram
// stays a few KB however many gaps it records, and merging two (shards, repeats) only adds counts: no loss.
// Written here rather than taken from hdr-histogram-js: that package's serialized form is a base64 blob of its
// own encoding, while a result file wants plain JSON pairs that any tool can read and merge.
import type { Distribution, HdrHistogramData } from '../types.js';
import { assembleDistribution } from './distribution.js';

const LINEAR = 1024;
const HALF = LINEAR / 2;

/** Bucket of an integer value >= 0. */
export function bucketOf(valueUs: number): number {
  const v = Math.max(0, Math.round(valueUs));
  if (v < LINEAR) return v;
  const shift = Math.floor(Math.log2(v)) - 9;
  // Floating log2 can land one off at exact powers of two; settle it with the top bits.
  let s = shift;
  while (Math.floor(v / 2 ** s) >= LINEAR) s++;
  while (s > 1 && Math.floor(v / 2 ** s) < HALF) s--;
  return LINEAR + (s - 1) * HALF + (Math.floor(v / 2 ** s) - HALF);
}

/** Lowest and highest value a bucket holds. */
export function bucketRange(bucket: number): [number, number] {
  if (bucket < LINEAR) return [bucket, bucket];
  const s = Math.floor((bucket - LINEAR) / HALF) + 1;
  const top = ((bucket - LINEAR) % HALF) + HALF;
  const lo = top * 2 ** s;
  return [lo, lo + 2 ** s - 1];
}

/** A mutable histogram; `toData` gives its JSON form. */
export class HdrHistogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  sumUs = 0;
  minUs = Number.POSITIVE_INFINITY;
  maxUs = 0;

  /** Records one value in microseconds (rounded to an integer). */
  record(valueUs: number, times = 1): void {
    const v = Math.max(0, Math.round(valueUs));
    const b = bucketOf(v);
    this.counts.set(b, (this.counts.get(b) ?? 0) + times);
    this.count += times;
    this.sumUs += v * times;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** Adds another histogram's counts (exact). */
  merge(other: HdrHistogramData): void {
    if (other.count === 0) return;
    for (const [b, c] of other.buckets) this.counts.set(b, (this.counts.get(b) ?? 0) + c);
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  toData(): HdrHistogramData {
    const buckets = [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
    return { unit: 'us', count: this.count, sumUs: this.sumUs, minUs: this.count > 0 ? this.minUs : 0, maxUs: this.maxUs, buckets };
  }

  static from(data: HdrHistogramData): HdrHistogram {
    const h = new HdrHistogram();
    h.merge(data);
    return h;
  }
}

/** An empty histogram's JSON form. */
export function emptyHistogram(): HdrHistogramData {
  return new HdrHistogram().toData();
}

/**
 * Value at 0-based position k of the sorted values the histogram stands for: the middle of its bucket,
 * clamped to the recorded min and max (exact below 1,024 us).
 */
function valueAtRank(data: HdrHistogramData, k: number): number {
  let cum = 0;
  for (const [b, c] of data.buckets) {
    cum += c;
    if (k < cum) {
      const [lo, hi] = bucketRange(b);
      return Math.min(data.maxUs, Math.max(data.minUs, (lo + hi) / 2));
    }
  }
  return data.maxUs;
}

/** Percentile p in [0, 100] (us) of a non-empty histogram, interpolated as `quantileSorted` does (type 7). */
export function histogramPercentile(data: HdrHistogramData, p: number): number {
  const rank = (p / 100) * (data.count - 1);
  const a = valueAtRank(data, Math.floor(rank));
  const b = valueAtRank(data, Math.ceil(rank));
  return a + (b - a) * (rank - Math.floor(rank));
}

/**
 * A Distribution in milliseconds from a histogram: count, mean, min and max are exact; percentiles interpolate
 * (type 7, as `distribution` does) between bucket midpoints, so they are within 0.2% of the exact value.
 */
export function histogramDistribution(data: HdrHistogramData): Distribution {
  const n = data.count;
  const percentile = (p: number): number => histogramPercentile(data, p) / 1000;
  return assembleDistribution(n, n > 0 ? data.sumUs / n / 1000 : null, n > 0 ? data.minUs / 1000 : null, n > 0 ? data.maxUs / 1000 : null, percentile);
}
