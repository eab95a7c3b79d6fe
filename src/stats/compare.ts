// Baseline vs variant: the change of every metric, a bootstrap confidence interval for it, and rank tests on
// the latency distributions. Pure: same inputs and seed, same numbers.
import { quantileSorted } from './quantile.js';
import { isAnswered } from './answered.js';
import type { PipelineResult, ResultFile, Sample } from '../types.js';
import { mannWhitneyU, type MannWhitneyResult } from './mannWhitney.js';
import { METRICS, type MetricDef, type MetricUnit } from './metrics.js';
import { createRng } from './rng.js';
import { columnStatsFromTotals, measuredSamples, requestColumns, subsampleMeasured, type ColumnName, type ColumnStat } from './requestColumns.js';
import { drawResample, ResampleState } from './resampleState.js';

/** Bootstrap settings. */
export interface BootstrapOptions {
  resamples: number;
  seed: number;
  /** e.g. 0.95 */
  confidence: number;
  /**
   * Most measured requests per pipeline a round resamples. A larger pipeline is bootstrapped m-out-of-n: each
   * round draws from a seeded subset of this size, and the round's deviation from the subset's own statistic is
   * scaled by sqrt(m / n) around the full-sample value, so a million-request run costs what a 10k one does.
   */
  maxRequests: number;
}

/**
 * Request draws per pipeline per comparison the bootstrap aims to stay under (resamples x subset size). A draw
 * costs 15-30 ns on a busy 2-core machine and a report of two variants bootstraps four pipelines, so 8 million
 * keeps a report's bootstrap near a second; it means m = 4,000 at 2,000 rounds and 1,000 at 10,000.
 */
export const RESAMPLE_BUDGET = 8_000_000;
export const MIN_SUBSET = 1000;

/** Requests per pipeline a bootstrap of `resamples` rounds resamples (m of m-out-of-n when a pipeline has more). */
export function bootstrapSubsetSize(resamples: number, maxRequests: number): number {
  return Math.max(MIN_SUBSET, Math.min(maxRequests, Math.floor(RESAMPLE_BUDGET / Math.max(1, resamples))));
}

/** Settings every report uses unless told otherwise, so re-rendering a result reproduces its intervals. */
export const DEFAULT_BOOTSTRAP: Readonly<BootstrapOptions> = { resamples: 2000, seed: 7, confidence: 0.95, maxRequests: 10_000 };

/** One metric, baseline vs variant. */
export interface MetricChange {
  metric: string;
  label: string;
  unit: MetricUnit;
  better: 'lower' | 'higher';
  baseline: number | null;
  variant: number | null;
  /** Why a value is null ("too few samples", "no GPU", ...). */
  baselineNote: string | null;
  variantNote: string | null;
  /** (variant - baseline) / baseline, in percent. */
  changePct: number | null;
  /** Confidence interval of changePct. */
  ci: { lowPct: number; highPct: number } | null;
  /** Why there is no interval. */
  ciNote: string | null;
  /** The interval excludes 0; null when there is no interval. */
  significant: boolean | null;
  /** Direction judged by the metric's "better" side; 'same' when the change is exactly 0. */
  direction: 'better' | 'worse' | 'same' | null;
}

/** Mann-Whitney U test of a variant's per-request distribution against the baseline's. */
export interface DistributionTest extends MannWhitneyResult {
  column: Exclude<ColumnName, 'itlMs'>;
}

/** Everything that compares one variant with the baseline. */
export interface PipelineComparison {
  baseline: string;
  variant: string;
  metrics: Record<string, MetricChange>;
  tests: DistributionTest[];
  bootstrap: BootstrapOptions;
  /** Resamples drew the same workload requests for both pipelines (they measured exactly the same ones). */
  paired?: boolean;
}

/** The baseline pipeline of a run: the one flagged `baseline`, else the first. */
export function baselineOf(result: ResultFile): PipelineResult {
  const flagged = result.pipelines.find((p) => p.baseline);
  const first = flagged ?? result.pipelines[0];
  if (!first) throw new RangeError('result has no pipelines');
  return first;
}

/** The pipelines compared against the baseline. */
export function variantsOf(result: ResultFile): PipelineResult[] {
  const base = baselineOf(result);
  return result.pipelines.filter((p) => p !== base);
}

type StatKey = `${ColumnName}.${ColumnStat}` | 'okRequests' | 'outputTokens' | 'busyMs';

/** The statistics of each column a set of metrics needs. */
type ColumnNeeds = ReadonlyMap<ColumnName, readonly ColumnStat[]>;

// Built once: a template string per statistic per resample showed up in profiles.
const STAT_KEYS = Object.fromEntries(
  (['e2eMs', 'ttftMs', 'tpotMs', 'itlMs'] as const).map((c) => [c, Object.fromEntries((['p50', 'p90', 'p95', 'p99', 'mean'] as const).map((k) => [k, `${c}.${k}`]))]),
) as Record<ColumnName, Record<ColumnStat, StatKey>>;

/** Statistics of one (re)sample that the CI methods need (only the columns and statistics asked for). */
function resampleStats(state: ResampleState, needs: ColumnNeeds): Map<StatKey, number> {
  const out = new Map<StatKey, number>();
  const t = state.totals();
  for (const [c, stats] of needs) {
    const s = columnStatsFromTotals(state.cols[c], state.weights, t.count[c], t.sum[c], stats, state.bucketCounts(c));
    const keys = STAT_KEYS[c];
    for (const k of stats) out.set(keys[k], s[k]);
  }
  out.set('okRequests', t.okRequests);
  out.set('outputTokens', t.outputTokens);
  out.set('busyMs', t.busyMs);
  return out;
}

function statKeyOf(def: MetricDef): StatKey | null {
  if (def.ci.kind === 'column') return `${def.ci.column}.${def.ci.stat}`;
  if (def.ci.kind === 'throughput') return def.ci.basis;
  return null;
}


/** Percentile interval; null when too many resamples were undefined (too few samples in them). */
function interval(changes: number[], resamples: number, confidence: number): { lowPct: number; highPct: number } | null {
  if (changes.length < 0.9 * resamples || changes.length === 0) return null;
  changes.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return { lowPct: quantileSorted(changes, alpha), highPct: quantileSorted(changes, 1 - alpha) };
}

function pct(baseline: number | null, variant: number | null): number | null {
  if (baseline === null || variant === null || baseline === 0) return null;
  return ((variant - baseline) / baseline) * 100;
}

/**
 * For each measured baseline request, the row of the variant's measured request with the same repeat and workload
 * index, when both pipelines measured exactly the same requests, each once; otherwise null.
 */
export function pairedRows(base: readonly Sample[], variant: readonly Sample[]): Uint32Array | null {
  const mb = measuredSamples(base);
  const mv = measuredSamples(variant);
  if (mb.length === 0 || mb.length !== mv.length) return null;
  // A number key (repeat, index) instead of a string: this runs on every request of a million-request run.
  const key = (s: Sample): number => (s.run ?? 0) * 2 ** 32 + s.index;
  const rowOfVariant = new Map<number, number>();
  mv.forEach((s, i) => rowOfVariant.set(key(s), i));
  if (rowOfVariant.size !== mv.length) return null;
  const out = new Uint32Array(mb.length);
  const seen = new Set<number>();
  for (let i = 0; i < mb.length; i++) {
    const k = key(mb[i] as Sample);
    const j = rowOfVariant.get(k);
    if (j === undefined || seen.has(k)) return null;
    seen.add(k);
    out[i] = j;
  }
  return out;
}

/** The variant's measured requests with the same (repeat, workload index) as `subset`, in its order. */
function sameRequests(subset: readonly Sample[], variant: readonly Sample[]): Sample[] {
  const byKey = new Map<string, Sample>();
  for (const s of variant) if (!s.warmup) byKey.set(`${s.run ?? 0}:${s.index}`, s);
  const out: Sample[] = [];
  for (const s of subset) {
    const v = byKey.get(`${s.run ?? 0}:${s.index}`);
    if (v) out.push(v);
  }
  return out;
}

/**
 * Bootstrap distributions of the percent change of every resampleable metric: each round resamples the
 * baseline's and the variant's measured requests independently (with replacement, same sizes, within each
 * repeat when repeats were pooled) and recomputes.
 * Throughput is one number per window, so it is resampled through a ratio estimator: by Little's law a window's
 * throughput is (work done / summed request time) x (mean requests in flight). Holding the in-flight level fixed,
 * the reported value is scaled by the resample's (ok requests or output tokens) / (summed E2E) relative to the full
 * sample's, so the interval reflects variation in per-request service time and output length.
 * When both pipelines measured exactly the same workload requests, a round draws the same requests for both
 * (paired by workload index), so the interval reflects the optimization rather than which prompts were drawn.
 */
function bootstrapChanges(
  base: PipelineResult,
  variant: PipelineResult,
  defs: readonly MetricDef[],
  opts: BootstrapOptions,
  pairs: Uint32Array | null,
): Map<string, { changes: number[] } | { why: string }> {
  const out = new Map<string, { changes: number[] } | { why: string }>();
  // Work is resamples x requests: a gate that needs 10,000 resamples for a family-wise level draws from a
  // smaller subset (never below MIN_SUBSET) so that it costs about what a 2,000-round report does.
  const m = bootstrapSubsetSize(opts.resamples, opts.maxRequests);
  const subB = subsampleMeasured(base.samples, m, opts.seed);
  // Paired pipelines keep the same requests in both subsets, so the pairing survives the subsampling.
  const subV = pairs ? sameRequests(subB, variant.samples) : subsampleMeasured(variant.samples, m, opts.seed + 1);
  const subPairs = pairs ? pairedRows(subB, subV) : null;
  const colsB = requestColumns(subB);
  const colsV = requestColumns(subV);
  // sqrt(m / n): how much narrower the full sample's spread is than the subset's (1 when nothing was left out).
  const scaleOf = (p: PipelineResult, m: number): number => {
    const n = Math.max(p.samplesThinnedFrom ?? 0, measuredCount(p));
    return m > 0 && n > m ? Math.sqrt(m / n) : 1;
  };
  const scaleB = scaleOf(base, colsB.n);
  const scaleV = scaleOf(variant, colsV.n);
  const itlSummarized = !colsB.itlGapsKept || !colsV.itlGapsKept;
  const wanted = defs.filter((d) => {
    if (statKeyOf(d) === null) return false;
    if (itlSummarized && d.ci.kind === 'column' && d.ci.column === 'itlMs' && d.ci.stat !== 'mean') {
      out.set(d.key, { why: 'ITL gaps are stored as a pooled histogram, not per request' });
      return false;
    }
    return true;
  });
  const needs = new Map<ColumnName, ColumnStat[]>();
  for (const d of wanted) if (d.ci.kind === 'column') needs.set(d.ci.column, [...(needs.get(d.ci.column) ?? []), d.ci.stat]);
  if (colsB.n === 0 || colsV.n === 0) {
    for (const d of wanted) out.set(d.key, { why: 'no per-request samples' });
    return out;
  }
  const stB = new ResampleState(colsB);
  const stV = new ResampleState(colsV);
  const fullB = resampleStats(stB.drawAll(), needs);
  const fullV = resampleStats(stV.drawAll(), needs);
  const lists = new Map<string, number[]>(wanted.map((d) => [d.key, []]));
  // Reported values, read once rather than per round.
  const valueB = new Map(wanted.map((d) => [d.key, d.read(base).value ?? NaN]));
  const valueV = new Map(wanted.map((d) => [d.key, d.read(variant).value ?? NaN]));
  const rng = createRng(opts.seed);
  for (let r = 0; r < opts.resamples; r++) {
    // Same rng sequence as drawing the baseline's weights, then (unpaired) the variant's.
    drawResample(rng, colsB.strata, stB, subPairs, stV);
    if (!subPairs) drawResample(rng, colsV.strata, stV);
    const sB = resampleStats(stB, needs);
    const sV = resampleStats(stV, needs);
    for (const d of wanted) {
      const key = statKeyOf(d) as StatKey;
      let b = sB.get(key) as number;
      let v = sV.get(key) as number;
      if (d.ci.kind === 'throughput') {
        const rate = (s: Map<StatKey, number>): number => (s.get(key) as number) / (s.get('busyMs') as number);
        b = (valueB.get(d.key) as number) * (1 + (rate(sB) / rate(fullB) - 1) * scaleB);
        v = (valueV.get(d.key) as number) * (1 + (rate(sV) / rate(fullV) - 1) * scaleV);
      } else {
        // m-out-of-n: the subset round's deviation, shrunk to the full sample's spread, around its value.
        if (scaleB < 1) b = (valueB.get(d.key) as number) + (b - (fullB.get(key) as number)) * scaleB;
        if (scaleV < 1) v = (valueV.get(d.key) as number) + (v - (fullV.get(key) as number)) * scaleV;
      }
      const c = ((v - b) / b) * 100;
      if (Number.isFinite(c)) (lists.get(d.key) as number[]).push(c);
    }
  }
  for (const d of wanted) out.set(d.key, { changes: lists.get(d.key) as number[] });
  return out;
}

function measuredCount(p: PipelineResult): number {
  let n = 0;
  for (const s of p.samples) if (!s.warmup) n++;
  return n;
}

/** Rank tests on the same seeded subsets the bootstrap uses (all requests up to `maxRequests`). */
function distributionTests(base: PipelineResult, variant: PipelineResult, opts: BootstrapOptions): DistributionTest[] {
  const tests: DistributionTest[] = [];
  const okB = subsampleMeasured(base.samples, opts.maxRequests, opts.seed).filter(isAnswered);
  const okV = subsampleMeasured(variant.samples, opts.maxRequests, opts.seed + 1).filter(isAnswered);
  const pick = {
    e2eMs: (s: (typeof okB)[number]) => s.e2eMs,
    ttftMs: (s: (typeof okB)[number]) => s.ttftMs,
    // Token pace is the primary's alone (a canned fallback arrives in one piece).
    tpotMs: (s: (typeof okB)[number]) => (s.status === 'ok' ? s.tpotMs : null),
  };
  for (const column of ['e2eMs', 'ttftMs', 'tpotMs'] as const) {
    const xs = okV.map(pick[column]).filter((v): v is number => v !== null);
    const ys = okB.map(pick[column]).filter((v): v is number => v !== null);
    const r = mannWhitneyU(xs, ys);
    if (r) tests.push({ column, ...r });
  }
  return tests;
}

/** Quality of the baseline model: its own evaluation, or the reference the variant was evaluated against. */
function baselineQualityValue(def: MetricDef, base: PipelineResult, variant: PipelineResult): { value: number | null; note: string | null } {
  const own = def.read(base);
  if (own.value !== null) return own;
  if (def.key === 'quality.perplexity' && variant.quality?.referencePerplexity != null) {
    return { value: variant.quality.referencePerplexity, note: null };
  }
  // Agreement, KL and delta are measured against the baseline model itself.
  return { value: null, note: 'reference' };
}

/** Options of a comparison: bootstrap settings, and optionally which metric keys to compute (default: all). */
export interface CompareOptions extends Partial<BootstrapOptions> {
  metrics?: readonly string[];
  /** Run the rank tests (default true); a gate judging one metric by its interval does not read them. */
  tests?: boolean;
}

/** Compares one variant with a baseline on every registered metric (or the ones asked for). */
export function comparePipelines(base: PipelineResult, variant: PipelineResult, opts: CompareOptions = {}): PipelineComparison {
  const { metrics: only, tests: wantTests, ...rest } = opts;
  const bootstrap: BootstrapOptions = { ...DEFAULT_BOOTSTRAP, ...rest };
  const defs = only ? METRICS.filter((d) => only.includes(d.key)) : METRICS;
  const pairs = pairedRows(base.samples, variant.samples);
  const boot = bootstrapChanges(base, variant, defs, bootstrap, pairs);
  const metrics: Record<string, MetricChange> = {};
  for (const def of defs) {
    const vb = def.key.startsWith('quality.') ? baselineQualityValue(def, base, variant) : def.read(base);
    const vv = def.read(variant);
    const relative = def.key.startsWith('quality.') && def.key !== 'quality.perplexity';
    const changePct = relative ? null : pct(vb.value, vv.value);
    let ci: MetricChange['ci'] = null;
    let ciNote: string | null = null;
    if (def.ci.kind === 'none') ciNote = def.ci.why;
    else if (changePct === null) ciNote = 'no change to estimate';
    else {
      const b = boot.get(def.key);
      if (!b) ciNote = 'no samples';
      else if ('why' in b) ciNote = b.why;
      else {
        ci = interval(b.changes, bootstrap.resamples, bootstrap.confidence);
        if (!ci) ciNote = 'too few samples';
      }
    }
    const direction: MetricChange['direction'] =
      changePct === null ? null : changePct === 0 ? 'same' : (changePct < 0) === (def.better === 'lower') ? 'better' : 'worse';
    metrics[def.key] = {
      metric: def.key,
      label: def.label,
      unit: def.unit,
      better: def.better,
      baseline: vb.value,
      variant: vv.value,
      baselineNote: vb.note,
      variantNote: vv.note,
      changePct,
      ci,
      ciNote,
      significant: ci === null ? null : ci.lowPct > 0 || ci.highPct < 0,
      direction,
    };
  }
  return { baseline: base.name, variant: variant.name, metrics, tests: wantTests === false ? [] : distributionTests(base, variant, bootstrap), bootstrap, paired: pairs !== null };
}

/** Every variant of a run compared with its baseline. */
export function compareRun(result: ResultFile, opts: CompareOptions = {}): PipelineComparison[] {
  const base = baselineOf(result);
  return variantsOf(result).map((v) => comparePipelines(base, v, opts));
}
