// Mann-Whitney U test: does one latency distribution tend to sit above the other? Rank-based, so a few huge
// outliers cannot make a difference look significant, and no normality is assumed.
import { twoSidedP } from './normal.js';

/** Outcome of a two-sided Mann-Whitney U test of x against y. */
export interface MannWhitneyResult {
  nX: number;
  nY: number;
  /** U of x: the number of (x, y) pairs with x > y, ties counting one half. */
  uX: number;
  uY: number;
  /** Normal-approximation z of uX, with tie and continuity correction (0 when there is no spread). */
  z: number;
  pValue: number;
  /** uX / (nX * nY): probability that a random x exceeds a random y (ties count half). */
  probXGreater: number;
}

/**
 * Two-sided Mann-Whitney U test using the normal approximation with tie correction and a 0.5 continuity
 * correction. Returns null when either sample is empty.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult | null {
  const nX = x.length;
  const nY = y.length;
  if (nX === 0 || nY === 0) return null;
  const n = nX + nY;
  const pooled: Array<{ v: number; fromX: boolean }> = [];
  for (const v of x) pooled.push({ v, fromX: true });
  for (const v of y) pooled.push({ v, fromX: false });
  pooled.sort((a, b) => a.v - b.v);

  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && (pooled[j + 1] as { v: number }).v === (pooled[i] as { v: number }).v) j++;
    const tied = j - i + 1;
    const avgRank = (i + 1 + j + 1) / 2;
    for (let k = i; k <= j; k++) if ((pooled[k] as { fromX: boolean }).fromX) rankSumX += avgRank;
    tieTerm += tied ** 3 - tied;
    i = j + 1;
  }
  const uX = rankSumX - (nX * (nX + 1)) / 2;
  const uY = nX * nY - uX;
  const meanU = (nX * nY) / 2;
  const varU = ((nX * nY) / 12) * (n + 1 - tieTerm / (n * (n - 1 || 1)));
  let z = 0;
  if (varU > 0) {
    const d = uX - meanU;
    z = (Math.sign(d) * Math.max(0, Math.abs(d) - 0.5)) / Math.sqrt(varU);
  }
  return { nX, nY, uX, uY, z, pValue: varU > 0 ? twoSidedP(z) : 1, probXGreater: uX / (nX * nY) };
}
