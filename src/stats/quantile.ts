// The one quantile of llmbench: linear interpolation between order statistics (Hyndman-Fan type 7, the
// default of NumPy and R). Every percentile, median and interval bound printed goes through here.

/** Quantile q in [0, 1] of an ascending-sorted, non-empty array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const a = sorted[lo] as number;
  const b = sorted[Math.ceil(rank)] as number;
  return a + (b - a) * (rank - lo);
}

/** Median of an unsorted list (NaN when empty); the input is not modified. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}
