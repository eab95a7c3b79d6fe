// Pure summaries of what a load driver measured, exactly per the metric definitions in DESIGN.md:
// warm-up excluded; window = first send to last completion (per repeat, summed); TPOT per request;
// ITL pooled per chunk; goodput = ok requests meeting every SLO individually; memory from process traces.
import { median } from './quantile.js';
import type {
  AutocannonStats,
  Distribution,
  FallbackSummary,
  HdrHistogramData,
  InvalidReason,
  LoadSummary,
  MemorySummary,
  PipelineSummary,
  ReplicaSummary,
  ResourceTrace,
  Sample,
} from '../types.js';
import { isAnswered } from './answered.js';
import { distribution } from './distribution.js';
import { histogramDistribution } from './hdrHistogram.js';

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

const runOf = (s: Sample): number => s.run ?? 0;

/** Measured window per repeat: first send to last completion of its non-warm-up requests. */
export function measuredWindows(samples: readonly Sample[]): Map<number, { startMs: number; endMs: number }> {
  const out = new Map<number, { startMs: number; endMs: number }>();
  for (const s of samples) {
    if (s.warmup) continue;
    const w = out.get(runOf(s));
    if (!w) out.set(runOf(s), { startMs: s.sentMs, endMs: s.endMs });
    else {
      w.startMs = Math.min(w.startMs, s.sentMs);
      w.endMs = Math.max(w.endMs, s.endMs);
    }
  }
  return out;
}

/** True when an ok sample meets every SLO limit. A non-streamed response's first token is its last. */
export function meetsSlo(s: Sample, slo: SloLimits): boolean {
  if (s.status !== 'ok') return false;
  if (slo.ttftMs !== null && (s.ttftMs ?? s.e2eMs) > slo.ttftMs) return false;
  if (slo.tpotMs !== null && s.tpotMs !== null && s.tpotMs > slo.tpotMs) return false;
  if (slo.e2eMs !== null && s.e2eMs > slo.e2eMs) return false;
  return true;
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
  samples: readonly Sample[],
  modelFileBytes: number | null,
): MemorySummary {
  const windows = measuredWindows(samples);
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

function replicaSummaries(measured: readonly Sample[]): ReplicaSummary[] {
  const groups = new Map<string, Sample[]>();
  for (const s of measured) {
    const key = s.replica ?? 'unknown';
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([replica, g]) => ({
      replica,
      requests: g.length,
      share: g.length / measured.length,
      errors: g.filter((s) => !isAnswered(s)).length,
      e2eMs: distribution(g.filter(isAnswered).map((s) => s.e2eMs)),
    }));
}

function achievedRate(measured: readonly Sample[], windowMs: number): number {
  let intervals = 0;
  let spanMs = 0;
  // Folded per repeat, never spread into Math.max: V8 throws past ~150k arguments.
  const byRun = new Map<number, { count: number; first: number; last: number }>();
  for (const s of measured) {
    const r = byRun.get(runOf(s));
    if (!r) byRun.set(runOf(s), { count: 1, first: s.sentMs, last: s.sentMs });
    else {
      r.count++;
      if (s.sentMs < r.first) r.first = s.sentMs;
      if (s.sentMs > r.last) r.last = s.sentMs;
    }
  }
  for (const r of byRun.values()) {
    if (r.count < 2) continue;
    intervals += r.count - 1;
    spanMs += r.last - r.first;
  }
  if (spanMs > 0) return (intervals / spanMs) * 1000;
  return windowMs > 0 ? (measured.length / windowMs) * 1000 : 0;
}

function pctOf(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (rank - lo);
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

/** Requests whose workload index was already sent earlier in the same repeat (warm-up included). */
export function resentPrompts(samples: readonly Sample[]): number {
  const seen = new Map<number, Set<number>>();
  let resent = 0;
  for (const s of samples) {
    let set = seen.get(runOf(s));
    if (!set) seen.set(runOf(s), (set = new Set()));
    if (set.has(s.index)) resent++;
    else set.add(s.index);
  }
  return resent;
}

function meanOf(xs: number[]): number | null {
  return xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** Mean prompt length per request as the server reported it and as the workload sized it (requests that had both). */
function promptMeans(ok: readonly Sample[]): { server: number | null; client: number | null } {
  const both = ok.filter((s) => s.promptTokens !== null && s.clientPromptTokens !== undefined && s.clientPromptTokens !== null);
  return { server: meanOf(both.map((s) => s.promptTokens as number)), client: meanOf(both.map((s) => s.clientPromptTokens as number)) };
}

/** Summarizes one pipeline's samples (all repeats) and resource traces (one per repeat). */
export function summarizePipeline(
  samples: readonly Sample[],
  traces: readonly ResourceTrace[],
  opts: SummarizeOptions,
): PipelineSummary {
  const t = { ...DEFAULT_VALIDITY, ...opts.thresholds };
  const measured = samples.filter((s) => !s.warmup);
  const ok = measured.filter((s) => s.status === 'ok');
  const answered = measured.filter(isAnswered);
  const counts = {
    total: measured.length,
    ok: ok.length,
    error: measured.filter((s) => s.status === 'error').length,
    timeout: measured.filter((s) => s.status === 'timeout').length,
  };
  let windowMs = 0;
  for (const w of measuredWindows(measured).values()) windowMs += w.endMs - w.startMs;
  const perSec = (n: number): number => (windowMs > 0 ? (n / windowMs) * 1000 : 0);
  // Time to an answer (TTFT, E2E) counts every answer, fallbacks included: the client waited for each. Token
  // pace and throughput count the primary's answers only, so a canned reply is not mistaken for capacity.
  const outputTokens = ok.reduce((sum, s) => sum + s.outputTokens, 0);
  let itlMs: Distribution;
  if (opts.itlHistogram) itlMs = histogramDistribution(opts.itlHistogram);
  else {
    const itl: number[] = [];
    for (const s of ok) for (const g of s.itlMs) itl.push(g);
    itlMs = distribution(itl);
  }
  const lags = [...opts.dispatchLagMs].sort((a, b) => a - b);
  const load: LoadSummary = {
    profile: opts.profile,
    intendedRate: opts.intendedRate,
    achievedRate: achievedRate(measured, windowMs),
    p95ScheduleLagMs: pctOf(lags, 95),
    maxScheduleLagMs: lags.length > 0 ? (lags[lags.length - 1] as number) : null,
    clientCpuPct: opts.clientCpuPct,
  };
  const invalidReasons = validity(counts, load, opts, t, answered.length);
  const fallback = fallbackSummary(measured);
  return {
    counts,
    ttftMs: distribution(answered.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs]))),
    tpotMs: distribution(ok.flatMap((s) => (s.tpotMs === null ? [] : [s.tpotMs]))),
    itlMs,
    e2eMs: distribution(answered.map((s) => s.e2eMs)),
    windowMs,
    requestsPerSecond: perSec(ok.length),
    outputTokensPerSecond: perSec(outputTokens),
    goodputRequestsPerSecond: opts.slo ? perSec(ok.filter((s) => meetsSlo(s, opts.slo as SloLimits)).length) : null,
    outputTokens,
    tokenCountMismatches: measured.filter((s) => s.tokenCountMismatch !== null).length,
    answerTtftMs: distribution(ok.flatMap((s) => (s.answerTtftMs === null || s.answerTtftMs === undefined ? [] : [s.answerTtftMs]))),
    resentPrompts: resentPrompts(samples),
    outputTokenSources: {
      usage: ok.filter((s) => s.outputTokensSource === 'usage').length,
      tokenizer: ok.filter((s) => s.outputTokensSource === 'tokenizer').length,
      none: ok.filter((s) => s.outputTokensSource === 'none').length,
    },
    stoppedEarly: ok.filter((s) => typeof s.finishReason === 'string' && s.finishReason !== 'length').length,
    promptTokensMean: promptMeans(ok),
    outputLength: ok.reduce(
      (acc, s) => (s.requestedTokens === undefined ? acc : { requested: acc.requested + s.requestedTokens, delivered: acc.delivered + s.outputTokens }),
      { requested: 0, delivered: 0 },
    ),
    memory: summarizeMemory(traces, samples, opts.modelFileBytes),
    load,
    replicas: replicaSummaries(measured),
    retries: measured.reduce((sum, s) => sum + (s.retries ?? 0), 0),
    ...(fallback ? { fallback } : {}),
    valid: invalidReasons.length === 0,
    invalidReasons,
  };
}

/** Fallback answers beside primary ones; undefined when no request fell back. */
export function fallbackSummary(measured: readonly Sample[]): FallbackSummary | undefined {
  const fb = measured.filter((s) => s.status === 'fallback');
  if (fb.length === 0) return undefined;
  const ok = measured.filter((s) => s.status === 'ok');
  const reasons: Record<string, number> = {};
  for (const s of fb) {
    const r = s.fallbackReason ?? 'unknown';
    reasons[r] = (reasons[r] ?? 0) + 1;
  }
  const ttft = (xs: Sample[]): number[] => xs.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs]));
  return {
    count: fb.length,
    share: fb.length / measured.length,
    reasons,
    e2eMs: distribution(fb.map((s) => s.e2eMs)),
    ttftMs: distribution(ttft(fb)),
    primaryE2eMs: distribution(ok.map((s) => s.e2eMs)),
    primaryTtftMs: distribution(ttft(ok)),
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
    memory: summarizeMemory(traces, [], opts.modelFileBytes),
    load,
    replicas: [],
    retries: 0,
    valid: invalidReasons.length === 0,
    invalidReasons,
  };
}
