// Pure summaries of what a load driver measured, exactly per the metric definitions in DESIGN.md:
// warm-up excluded; window = first send to last completion (per repeat, summed); TPOT per request;
// ITL pooled per chunk; goodput = ok requests meeting every SLO individually; memory from process traces.
import { median, quantileSorted } from './quantile.js';
import type { AutocannonStats, Distribution, HdrHistogramData, InvalidReason, LoadSummary, MemorySummary, PipelineSummary, ResourceTrace, Sample } from '../types.js';
import { distributionOfTyped } from './distribution.js';
import { histogramDistribution, histogramPercentile } from './hdrHistogram.js';
import { achievedRate, replicaSummaries, requestFigures, resentPrompts } from './requestFigures.js';
import { SampleColumns } from './sampleColumns.js';

/** When a measurement stops being trustworthy. */
export interface ValidityThresholds {
  /** Share of failed (error + timeout) requests above which the run is invalid, unless faults were injected. */
  maxFailedShare: number;
  /** Client CPU (% of one core) above which the load generator was the bottleneck. */
  maxClientCpuPct: number;
  /** Dispatch lag p95 limit for open loops: max(floor, share x mean inter-arrival gap). */
  lagFloorMs: number;
  lagShareOfGap: number;
}

export const DEFAULT_VALIDITY: ValidityThresholds = {
  maxFailedShare: 0.05,
  maxClientCpuPct: 90,
  lagFloorMs: 10,
  lagShareOfGap: 0.5,
};

/** Latency limits (ms) for goodput; null fields are not checked. */
export interface SloLimits {
  ttftMs: number | null;
  tpotMs: number | null;
  e2eMs: number | null;
}

export interface SummarizeOptions {
  profile: string;
  slo: SloLimits | null;
  /** Intended open-loop rate (req/s); null for closed loops. */
  intendedRate: number | null;
  /** Open-loop dispatcher lag per request (ms), pooled over repeats; empty for closed loops. */
  dispatchLagMs: readonly number[];
  /**
   * The same lags as a histogram (us), which a run keeps instead of a list so its memory does not grow per
   * request; takes precedence over `dispatchLagMs`. p95 is then within 0.2% (exact below 1.024 ms), max exact.
   */
  dispatchLagHistogram?: HdrHistogramData | null;
  clientCpuPct: number | null;
  modelFileBytes: number | null;
  /** Failures are the point of a fault-injection run, so they do not invalidate it. */
  faultsInjected: boolean;
  /**
   * Pooled gaps of the measured ok requests, when the samples are compacted (gaps summarized per request):
   * ITL then comes from this histogram instead of the samples' gap arrays.
   */
  itlHistogram?: HdrHistogramData | null;
  thresholds?: Partial<ValidityThresholds>;
}

/** Measured window per repeat: first send to last completion of its non-warm-up requests. */
export function measuredWindows(c: SampleColumns): Map<number, { startMs: number; endMs: number }> {
  const out = new Map<number, { startMs: number; endMs: number }>();
  const { sentMs, endMs } = c.f64;
  const run = c.i32.run;
  for (let i = 0; i < c.length; i++) {
    if (c.warmup[i] === 1) continue;
    const r = run[i] as number;
    const w = out.get(r);
    if (!w) out.set(r, { startMs: sentMs[i] as number, endMs: endMs[i] as number });
    else {
      w.startMs = Math.min(w.startMs, sentMs[i] as number);
      w.endMs = Math.max(w.endMs, endMs[i] as number);
    }
  }
  return out;
}


/** Sum over processes at each sampling instant (all processes of a tick share its timestamp). */
function totalsOverTime(trace: ResourceTrace, series: 'rss' | 'gpu'): Array<[number, number]> {
  const byTime = new Map<number, number>();
  for (const p of trace.processes) for (const [t, v] of p[series]) byTime.set(t, (byTime.get(t) ?? 0) + v);
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]);
}

function peakAndSteady(
  traces: readonly ResourceTrace[],
  windows: Map<number, { startMs: number; endMs: number }>,
  series: 'rss' | 'gpu',
): { peak: number | null; steady: number | null } {
  let peak: number | null = null;
  const steadyPerRun: number[] = [];
  traces.forEach((trace, run) => {
    const totals = totalsOverTime(trace, series);
    if (totals.length === 0) return;
    for (const [, v] of totals) peak = Math.max(peak ?? 0, v);
    const w = windows.get(run);
    const inWindow = w ? totals.filter(([t]) => t >= w.startMs && t <= w.endMs).map(([, v]) => v) : [];
    steadyPerRun.push(median(inWindow.length > 0 ? inWindow : totals.map(([, v]) => v)));
  });
  return { peak, steady: steadyPerRun.length > 0 ? median(steadyPerRun) : null };
}

/**
 * Memory of a pipeline: peak = highest simultaneous sum over its processes (so a restarted replica is not
 * counted twice); steady = median of that sum during the measured window. Traces are per repeat, in order.
 */
export function summarizeMemory(
  traces: readonly ResourceTrace[],
  windows: Map<number, { startMs: number; endMs: number }>,
  modelFileBytes: number | null,
): MemorySummary {
  const rss = peakAndSteady(traces, windows, 'rss');
  const gpuKnown = traces.length > 0 && traces.every((t) => t.gpuAvailable);
  const gpu = gpuKnown ? peakAndSteady(traces, windows, 'gpu') : { peak: null, steady: null };
  return {
    peakRssBytes: rss.peak,
    steadyRssBytes: rss.steady,
    gpuPeakBytes: gpu.peak,
    gpuSteadyBytes: gpu.steady,
    modelFileBytes,
    processCount: traces.reduce((m, t) => Math.max(m, new Set(t.processes.map((p) => p.pid)).size), 0),
  };
}

function validity(
  counts: PipelineSummary['counts'],
  load: LoadSummary,
  opts: SummarizeOptions,
  t: ValidityThresholds,
  answered = counts.ok,
): InvalidReason[] {
  const reasons: InvalidReason[] = [];
  if (counts.total === 0) reasons.push({ kind: 'no-requests' });
  else if (answered === 0) reasons.push({ kind: 'none-answered' });
  const failed = counts.error + counts.timeout;
  if (counts.total > 0 && !opts.faultsInjected && failed / counts.total > t.maxFailedShare) {
    reasons.push({ kind: 'failed-share', share: failed / counts.total, limit: t.maxFailedShare });
  }
  if (opts.intendedRate !== null && load.p95ScheduleLagMs !== null) {
    const limit = Math.max(t.lagFloorMs, t.lagShareOfGap * (1000 / opts.intendedRate));
    if (load.p95ScheduleLagMs > limit) {
      reasons.push({ kind: 'schedule-lag', p95LagMs: load.p95ScheduleLagMs, limitMs: limit });
    }
  }
  if (opts.clientCpuPct !== null && opts.clientCpuPct > t.maxClientCpuPct) {
    reasons.push({ kind: 'client-cpu', cpuPct: opts.clientCpuPct, limitPct: t.maxClientCpuPct });
  }
  return reasons;
}

/** p95 and max dispatch lag: from the histogram when the run kept one, else from the list. */
function scheduleLag(opts: SummarizeOptions): { p95: number | null; max: number | null } {
  const h = opts.dispatchLagHistogram;
  if (h) return h.count > 0 ? { p95: histogramPercentile(h, 95) / 1000, max: h.maxUs / 1000 } : { p95: null, max: null };
  if (opts.dispatchLagMs.length === 0) return { p95: null, max: null };
  const lags = Float64Array.from(opts.dispatchLagMs).sort();
  return { p95: quantileSorted(lags, 0.95), max: lags[lags.length - 1] as number };
}

/** Summarizes one pipeline's samples (all repeats) and resource traces (one per repeat). */
export function summarizePipeline(samples: readonly Sample[], traces: readonly ResourceTrace[], opts: SummarizeOptions): PipelineSummary {
  return summarizeColumns(SampleColumns.from(samples, samples.length), traces, opts);
}

/** Summarizes one pipeline's requests held as columns (all repeats) and resource traces (one per repeat). */
export function summarizeColumns(c: SampleColumns, traces: readonly ResourceTrace[], opts: SummarizeOptions): PipelineSummary {
  const t = { ...DEFAULT_VALIDITY, ...opts.thresholds };
  const r = requestFigures(c, opts.slo);
  const counts = r.counts;
  const windows = measuredWindows(c);
  let windowMs = 0;
  for (const w of windows.values()) windowMs += w.endMs - w.startMs;
  const perSec = (n: number): number => (windowMs > 0 ? (n / windowMs) * 1000 : 0);
  let itlMs: Distribution;
  if (opts.itlHistogram) itlMs = histogramDistribution(opts.itlHistogram);
  else itlMs = distributionOfTyped(c.okGapsMs, c.okGapCount);
  const lag = scheduleLag(opts);
  const load: LoadSummary = {
    profile: opts.profile,
    intendedRate: opts.intendedRate,
    achievedRate: achievedRate(c, counts.total, windowMs),
    p95ScheduleLagMs: lag.p95,
    maxScheduleLagMs: lag.max,
    clientCpuPct: opts.clientCpuPct,
  };
  const invalidReasons = validity(counts, load, opts, t, r.answered);
  return {
    counts,
    ttftMs: r.ttftMs,
    tpotMs: r.tpotMs,
    itlMs,
    e2eMs: r.e2eMs,
    windowMs,
    requestsPerSecond: perSec(counts.ok),
    outputTokensPerSecond: perSec(r.outputTokens),
    goodputRequestsPerSecond: opts.slo ? perSec(r.metSlo) : null,
    outputTokens: r.outputTokens,
    tokenCountMismatches: r.tokenCountMismatches,
    answerTtftMs: r.answerTtftMs,
    resentPrompts: resentPrompts(c),
    outputTokenSources: r.outputTokenSources,
    stoppedEarly: r.stoppedEarly,
    promptTokensMean: r.promptTokensMean,
    outputLength: r.outputLength,
    memory: summarizeMemory(traces, windows, opts.modelFileBytes),
    load,
    replicas: replicaSummaries(c),
    retries: r.retries,
    ...(r.fallback ? { fallback: r.fallback } : {}),
    valid: invalidReasons.length === 0,
    invalidReasons,
  };
}

function emptyDistribution(note: string): Distribution {
  return { count: 0, mean: null, min: null, max: null, p50: null, p90: null, p95: null, p99: null, notes: [note] };
}

/** A PipelineSummary from autocannon's aggregates (latency is response time; no TTFT/TPOT/ITL exist). */
export function summarizeAutocannon(stats: AutocannonStats, traces: readonly ResourceTrace[], opts: SummarizeOptions): PipelineSummary {
  const t = { ...DEFAULT_VALIDITY, ...opts.thresholds };
  const counts = { total: stats.total, ok: stats.ok, error: stats.non2xx + stats.errors, timeout: stats.timeouts };
  const noSamples = 'autocannon driver: no per-request samples';
  const e2eMs: Distribution = {
    count: stats.ok,
    mean: stats.ok > 0 ? stats.latencyMs.mean : null,
    min: stats.ok > 0 ? stats.latencyMs.min : null,
    max: stats.ok > 0 ? stats.latencyMs.max : null,
    p50: stats.ok > 0 ? stats.latencyMs.p50 : null,
    p90: stats.ok > 0 ? stats.latencyMs.p90 : null,
    p95: null,
    p99: stats.ok > 0 ? stats.latencyMs.p99 : null,
    notes: [`p95: autocannon reports p97.5 (${stats.latencyMs.p97_5} ms), not p95`],
  };
  const seconds = stats.durationMs / 1000;
  const load: LoadSummary = {
    profile: opts.profile,
    intendedRate: stats.intendedRate,
    achievedRate: seconds > 0 ? stats.total / seconds : 0,
    p95ScheduleLagMs: null,
    maxScheduleLagMs: null,
    clientCpuPct: opts.clientCpuPct,
  };
  const invalidReasons = validity(counts, load, { ...opts, intendedRate: null }, t);
  return {
    counts,
    ttftMs: emptyDistribution(noSamples),
    tpotMs: emptyDistribution(noSamples),
    itlMs: emptyDistribution(noSamples),
    e2eMs,
    windowMs: stats.durationMs,
    requestsPerSecond: seconds > 0 ? stats.ok / seconds : 0,
    outputTokensPerSecond: seconds > 0 ? stats.outputTokens / seconds : 0,
    goodputRequestsPerSecond: null,
    outputTokens: stats.outputTokens,
    tokenCountMismatches: 0,
    memory: summarizeMemory(traces, new Map(), opts.modelFileBytes),
    load,
    replicas: [],
    retries: 0,
    valid: invalidReasons.length === 0,
    invalidReasons,
  };
}
