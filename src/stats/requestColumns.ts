// Measured requests laid out for fast resampling. The bootstrap resamples *requests* (the independent unit):
// a request drawn k times contributes its E2E, TTFT, TPOT and every one of its inter-token gaps k times.
// Each column is sorted once with the owning request of every value, so a resample needs no sorting:
// percentiles are found by walking the sorted values with per-request weights.
import type { Sample } from '../types.js';
import { isAnswered } from './answered.js';
import { minSamplesFor } from './distribution.js';
import { bucketedValuesAt } from './rankBuckets.js';
import { createRng } from './rng.js';

/** Values of one metric, ascending, each tagged with the index of the request it came from. */
export interface SortedColumn {
  values: Float64Array;
  owners: Uint32Array;
  /** How many values each request contributes (1 or 0 for per-request metrics, chunk gaps for ITL). */
  perRequest: Uint32Array;
  /** Sum of each request's values, so a resample's mean costs O(requests), not O(values). */
  sumPerRequest: Float64Array;
}

/** Per-request columns of the measured (non-warm-up) requests of one pipeline. */
export interface RequestColumns {
  /** Number of measured requests: the resampling unit. */
  n: number;
  /** Request indices of each repeat (`Sample.run`); resamples keep each repeat's size. */
  strata: Uint32Array[];
  ok: Uint8Array;
  /** Output tokens of ok requests (0 for failed ones). */
  outputTokens: Float64Array;
  /** E2E of every measured request, failed ones included: the time each request held a user or a slot. */
  busyMs: Float64Array;
  e2eMs: SortedColumn;
  ttftMs: SortedColumn;
  tpotMs: SortedColumn;
  itlMs: SortedColumn;
  /**
   * False when some requests' gaps are summarized (count and mean) rather than kept: the ITL column then has
   * per-request counts and sums for its mean, but no values to take percentiles from.
   */
  itlGapsKept: boolean;
}

/** Names of the per-request columns. */
export type ColumnName = 'e2eMs' | 'ttftMs' | 'tpotMs' | 'itlMs';
export const COLUMN_NAMES: readonly ColumnName[] = ['e2eMs', 'ttftMs', 'tpotMs', 'itlMs'];

/** Statistics of a column the bootstrap can recompute on a resample. */
export type ColumnStat = 'p50' | 'p90' | 'p95' | 'p99' | 'mean';
export const COLUMN_STATS: readonly ColumnStat[] = ['p50', 'p90', 'p95', 'p99', 'mean'];

/** Requests that count: measured (not warm-up). Latency columns use only the ok ones. */
export function measuredSamples(samples: readonly Sample[]): readonly Sample[] {
  // A gate compares the same pipelines several times (each rule, then the regression checks): filter a large
  // pipeline once. Keyed by the array and its length, so a pipeline still growing (a run in progress) refilters.
  const hit = measuredCache.get(samples);
  if (hit && hit.length === samples.length) return hit.measured;
  const measured = samples.filter((s) => !s.warmup);
  measuredCache.set(samples, { length: samples.length, measured });
  return measured;
}
const measuredCache = new WeakMap<readonly Sample[], { length: number; measured: Sample[] }>();
const subsetCache = new WeakMap<readonly Sample[], Map<string, { length: number; subset: Sample[] }>>();

function sortedColumn(n: number, entries: Array<[number, number]>): SortedColumn {
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const values = new Float64Array(entries.length);
  const owners = new Uint32Array(entries.length);
  const perRequest = new Uint32Array(n);
  const sumPerRequest = new Float64Array(n);
  entries.forEach(([v, o], i) => {
    values[i] = v;
    owners[i] = o;
    perRequest[o] = (perRequest[o] as number) + 1;
    sumPerRequest[o] = (sumPerRequest[o] as number) + v;
  });
  return { values, owners, perRequest, sumPerRequest };
}

/** Builds the resampling columns from a pipeline's samples. */
export function requestColumns(samples: readonly Sample[]): RequestColumns {
  const measured = measuredSamples(samples);
  const n = measured.length;
  const ok = new Uint8Array(n);
  const outputTokens = new Float64Array(n);
  const busyMs = new Float64Array(n);
  const e2e: Array<[number, number]> = [];
  const ttft: Array<[number, number]> = [];
  const tpot: Array<[number, number]> = [];
  const itl: Array<[number, number]> = [];
  const byRun = new Map<number, number[]>();
  let itlGapsKept = true;
  const summarized: Array<[number, number, number]> = [];
  measured.forEach((s, i) => {
    const run = s.run ?? 0;
    const list = byRun.get(run);
    if (list) list.push(i);
    else byRun.set(run, [i]);
    busyMs[i] = s.e2eMs;
    if (!isAnswered(s)) return;
    // Time to an answer counts every answer; token rates and throughput count the primary's only.
    e2e.push([s.e2eMs, i]);
    if (s.ttftMs !== null) ttft.push([s.ttftMs, i]);
    if (s.status !== 'ok') return;
    ok[i] = 1;
    outputTokens[i] = s.outputTokens;
    if (s.tpotMs !== null) tpot.push([s.tpotMs, i]);
    if (s.itlMs.length === 0 && s.itl && s.itl.count > 0) {
      itlGapsKept = false;
      summarized.push([i, s.itl.count, s.itl.meanMs * s.itl.count]);
    }
    for (const g of s.itlMs) itl.push([g, i]);
  });
  const itlCol = sortedColumn(n, itl);
  for (const [i, count, sum] of summarized) {
    itlCol.perRequest[i] = count;
    itlCol.sumPerRequest[i] = sum;
  }
  const strata = [...byRun.entries()].sort((a, b) => a[0] - b[0]).map(([, idx]) => Uint32Array.from(idx));
  return {
    n,
    strata,
    ok,
    outputTokens,
    busyMs,
    e2eMs: sortedColumn(n, e2e),
    ttftMs: sortedColumn(n, ttft),
    tpotMs: sortedColumn(n, tpot),
    itlMs: itlCol,
    itlGapsKept,
  };
}

/**
 * At most `max` of the measured requests, a seeded uniform subset in their original order (all of them when
 * there are no more). The bootstrap and rank tests of a very large run work on this subset.
 */
export function subsampleMeasured(samples: readonly Sample[], max: number, seed: number): readonly Sample[] {
  const measured = measuredSamples(samples);
  if (measured.length <= max) return measured;
  const key = `${max}:${seed}`;
  const cached = subsetCache.get(samples)?.get(key);
  if (cached && cached.length === samples.length) return cached.subset;
  const subset = drawSubset(measured, max, seed);
  if (!subsetCache.has(samples)) subsetCache.set(samples, new Map());
  subsetCache.get(samples)?.set(key, { length: samples.length, subset });
  return subset;
}

function drawSubset(measured: readonly Sample[], max: number, seed: number): Sample[] {
  const rng = createRng(seed);
  const idx = Uint32Array.from({ length: measured.length }, (_, i) => i);
  // Partial Fisher-Yates: the first `max` slots become a uniform subset without replacement.
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(rng() * (idx.length - i));
    const t = idx[i] as number;
    idx[i] = idx[j] as number;
    idx[j] = t;
  }
  return idx.subarray(0, max).sort().reduce<Sample[]>((out, i) => {
    out.push(measured[i] as Sample);
    return out;
  }, []);
}

/**
 * Draws, within each stratum (repeat), as many request indices as it holds, with replacement; returns how many
 * times each request was drawn. Pooled repeats ran interleaved with other pipelines, so each keeps its own share.
 */
export function drawStratifiedWeights(rng: () => number, strata: readonly Uint32Array[], out: Uint32Array): Uint32Array {
  out.fill(0);
  for (const idx of strata) {
    const m = idx.length;
    for (let i = 0; i < m; i++) {
      const k = idx[Math.floor(rng() * m)] as number;
      out[k] = (out[k] as number) + 1;
    }
  }
  return out;
}

/** Draws n request indices with replacement and returns how many times each was drawn. */
export function drawWeights(rng: () => number, n: number, out: Uint32Array): Uint32Array {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rng() * n);
    out[k] = (out[k] as number) + 1;
  }
  return out;
}

/**
 * Values at the given 0-based positions of the expanded resample (request i's values repeated weights[i] times),
 * positions ascending. Low positions are found walking up from the smallest value, high ones walking down from
 * the largest, so a p99 costs a walk over the top 1% only.
 */
function valuesAt(col: SortedColumn, weights: Uint32Array, total: number, positions: readonly number[]): number[] {
  const out = new Array<number>(positions.length).fill(NaN);
  const len = col.values.length;
  const half = total / 2;
  let t = 0;
  let cum = 0;
  for (let i = 0; i < len && t < positions.length && (positions[t] as number) < half; i++) {
    const w = weights[col.owners[i] as number] as number;
    if (w === 0) continue;
    cum += w;
    while (t < positions.length && (positions[t] as number) < half && (positions[t] as number) < cum) out[t++] = col.values[i] as number;
  }
  let u = positions.length - 1;
  let fromTop = 0;
  for (let i = len - 1; i >= 0 && u >= t; i--) {
    const w = weights[col.owners[i] as number] as number;
    if (w === 0) continue;
    fromTop += w;
    while (u >= t && (positions[u] as number) >= total - fromTop) out[u--] = col.values[i] as number;
  }
  return out;
}

/**
 * Mean and type-7 percentiles of a column where request i's values count weights[i] times: exactly what
 * `distribution` would give on the expanded resample, with NaN where it would give null (too few samples).
 * Only the statistics in `stats` are computed; the others are NaN.
 */
export function weightedColumnStats(
  col: SortedColumn,
  weights: Uint32Array,
  stats: readonly ColumnStat[] = COLUMN_STATS,
): Record<ColumnStat, number> {
  let total = 0;
  let sum = 0;
  for (let r = 0; r < weights.length; r++) {
    const w = weights[r] as number;
    if (w === 0) continue;
    total += w * (col.perRequest[r] as number);
    sum += w * (col.sumPerRequest[r] as number);
  }
  return columnStatsFromTotals(col, weights, total, sum, stats);
}

/** weightedColumnStats, given the column's weighted value count and sum (from resampleTotals or a ResampleState). */
export function columnStatsFromTotals(
  col: SortedColumn,
  weights: Uint32Array,
  total: number,
  sum: number,
  stats: readonly ColumnStat[] = COLUMN_STATS,
  bucketCounts: Uint32Array | null = null,
): Record<ColumnStat, number> {
  const out: Record<ColumnStat, number> = { p50: NaN, p90: NaN, p95: NaN, p99: NaN, mean: NaN };
  if (total === 0) return out;
  if (stats.includes('mean')) out.mean = sum / total;
  const wanted = ([50, 90, 95, 99] as const).filter((p) => stats.includes(`p${p}`) && total >= minSamplesFor(p));
  if (wanted.length === 0) return out;
  const positions: number[] = [];
  for (const p of wanted) {
    const rank = (p / 100) * (total - 1);
    positions.push(Math.floor(rank), Math.ceil(rank));
  }
  // Per-bucket weights (stats/rankBuckets.ts) find the same values without walking the column.
  const vals = bucketCounts ? bucketedValuesAt(col, weights, bucketCounts, positions) : valuesAt(col, weights, total, positions);
  wanted.forEach((p, k) => {
    const rank = (p / 100) * (total - 1);
    const a = vals[2 * k] as number;
    const b = vals[2 * k + 1] as number;
    out[`p${p}`] = a + (b - a) * (rank - Math.floor(rank));
  });
  return out;
}

/** Weighted value count and sum of every column, plus ok requests, output tokens and busy time, from one resample. */
export interface ResampleTotals {
  count: Record<ColumnName, number>;
  sum: Record<ColumnName, number>;
  okRequests: number;
  outputTokens: number;
  busyMs: number;
}

/**
 * Everything the bootstrap needs from the per-request arrays of one resample, in a single pass over the
 * requests (written out per column: a generic loop over columns is several times slower in V8).
 */
export function resampleTotals(cols: RequestColumns, weights: Uint32Array): ResampleTotals {
  const { e2eMs: e, ttftMs: t, tpotMs: p, itlMs: g } = cols;
  let ce = 0;
  let se = 0;
  let ct = 0;
  let st = 0;
  let cp = 0;
  let sp = 0;
  let cg = 0;
  let sg = 0;
  let okRequests = 0;
  let outputTokens = 0;
  let busyMs = 0;
  for (let i = 0; i < cols.n; i++) {
    const w = weights[i] as number;
    if (w === 0) continue;
    ce += w * (e.perRequest[i] as number);
    se += w * (e.sumPerRequest[i] as number);
    ct += w * (t.perRequest[i] as number);
    st += w * (t.sumPerRequest[i] as number);
    cp += w * (p.perRequest[i] as number);
    sp += w * (p.sumPerRequest[i] as number);
    cg += w * (g.perRequest[i] as number);
    sg += w * (g.sumPerRequest[i] as number);
    okRequests += w * (cols.ok[i] as number);
    outputTokens += w * (cols.outputTokens[i] as number);
    busyMs += w * (cols.busyMs[i] as number);
  }
  return {
    count: { e2eMs: ce, ttftMs: ct, tpotMs: cp, itlMs: cg },
    sum: { e2eMs: se, ttftMs: st, tpotMs: sp, itlMs: sg },
    okRequests,
    outputTokens,
    busyMs,
  };
}

