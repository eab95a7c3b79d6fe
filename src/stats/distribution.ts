// Percentiles with an enough-samples rule, as pure functions.
import { quantileSorted } from './quantile.js';
import type { Distribution } from '../types.js';

/** The percentiles every Distribution carries. */
export const PERCENTILES = [50, 90, 95, 99] as const;

/**
 * Samples needed before percentile p is reported: at least two observations must lie above it
 * (n * (1 - p/100) >= 2), so p50 needs 4, p90 20, p95 40, p99 200.
 */
export function minSamplesFor(p: number): number {
  return Math.ceil(2 / (1 - p / 100) - 1e-9);
}

/** Percentile p in [0, 100] of an ascending-sorted array (see stats/quantile.ts). */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  return quantileSorted(sorted, p / 100);
}

/** Summarizes values; percentiles with too few samples are null and explained in `notes`. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((x, y) => x - y);
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return assembleDistribution(n, n > 0 ? sum / n : null, sorted[0] ?? null, sorted[n - 1] ?? null, (p) => percentileSorted(sorted, p));
}

/** The same summary as `distribution`, for values in a typed array (the first `count`); sorts a copy natively. */
export function distributionOfTyped(values: Float64Array, count = values.length): Distribution {
  const sorted = values.slice(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i] as number;
  return assembleDistribution(count, count > 0 ? sum / count : null, count > 0 ? (sorted[0] as number) : null, count > 0 ? (sorted[count - 1] as number) : null, (p) => percentileSorted(sorted, p));
}

/**
 * A Distribution from its exact count, mean, min and max and a percentile function (p in [0, 100]); the
 * percentiles a sample of `count` is too small for are null and explained in `notes`.
 */
export function assembleDistribution(count: number, mean: number | null, min: number | null, max: number | null, percentile: (p: number) => number): Distribution {
  const notes: string[] = [];
  const pct = (p: number): number | null => {
    const need = minSamplesFor(p);
    if (count < need) {
      notes.push(`p${p}: too few samples (${count} < ${need})`);
      return null;
    }
    return percentile(p);
  };
  return { count, mean, min, max, p50: pct(50), p90: pct(90), p95: pct(95), p99: pct(99), notes };
}
