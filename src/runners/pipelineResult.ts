// Pools what the repeats and levels of one pipeline measured into its PipelineResult: summaries (the sweep's
// sustainable point as the headline), samples, merged ITL histograms, traces and events.
import type { Scenario } from '../scenarios/types.js';
import { HdrHistogram } from '../stats/hdrHistogram.js';
import { SampleColumns } from '../stats/sampleColumns.js';
import { summarizeAutocannon, summarizeColumns, type SummarizeOptions } from '../stats/summarize.js';
import type { AutocannonStats, HdrHistogramData, PipelineResult, PipelineSummary, QualityReport, Sample } from '../types.js';
import type { LevelRecord, PipelineRunOutput } from './pipelineRun.js';
import type { PreparedPipeline } from './plan/prepare.js';
import { judgeLevel } from './plan/sweep.js';

/** Merges level histograms (exact: counts add). */
function mergedHistogram(list: ReadonlyArray<HdrHistogramData | null>): HdrHistogramData | null {
  const present = list.filter((h): h is HdrHistogramData => h !== null);
  if (present.length === 0) return null;
  const h = new HdrHistogram();
  for (const x of present) h.merge(x);
  return h.toData();
}

function summarizeRecords(
  records: Array<{ rec: LevelRecord; out: PipelineRunOutput }>,
  warmup: PipelineRunOutput['warmup'],
  scenario: Scenario,
  prepared: PreparedPipeline,
): PipelineSummary {
  const traces = records.length > 0 ? uniqueTraces(records.map((r) => r.out)) : [];
  const cpu = records.map((r) => r.rec.clientCpuPct);
  const opts: SummarizeOptions = {
    profile: scenario.load.profile,
    slo: scenario.slo,
    intendedRate: records[0]?.rec.intendedRate ?? null,
    dispatchLagMs: [],
    dispatchLagHistogram: mergedHistogram(records.map((r) => r.rec.dispatchLag)),
    clientCpuPct: cpu.length > 0 ? Math.max(...cpu) : null,
    modelFileBytes: prepared.modelFileBytes,
    // Killed replicas and deliberate overload (a rate above the measured capacity) fail requests on purpose:
    // those failures are the measurement, not a broken run.
    faultsInjected: (prepared.spec.kind === 'local' && prepared.spec.faults.length > 0) || (scenario.load.rateFromCapacity?.factor ?? 0) > 1,
    itlHistogram: mergedHistogram(records.map((r) => r.rec.itlHistogram)),
  };
  const cannon = records.map((r) => r.rec.autocannon).filter((a): a is AutocannonStats => a !== null);
  if (cannon.length > 0) return summarizeAutocannon(poolAutocannon(cannon), traces, opts);
  return summarizeColumns(pooledRequests(warmup, records.map((r) => r.rec)), traces, opts);
}

/** Warm-up samples and the levels' columns as one set of columns (a copy: typed arrays, no objects). */
export function pooledRequests(warmup: readonly Sample[], levels: readonly LevelRecord[]): SampleColumns {
  if (warmup.length === 0 && levels.length === 1) return (levels[0] as LevelRecord).requests;
  const c = new SampleColumns(warmup.length + levels.reduce((n, l) => n + l.requests.length, 0));
  for (const s of warmup) c.push(s);
  for (const l of levels) c.append(l.requests);
  return c;
}

/** Every request of a pipeline's repeats (warm-up included) as columns, in the order they were kept. */
export function pipelineRequests(outs: readonly PipelineRunOutput[]): SampleColumns {
  return pooledRequests(
    outs.flatMap((o) => o.warmup),
    outs.flatMap((o) => o.levels),
  );
}

function uniqueTraces(outs: PipelineRunOutput[]) {
  const seen = new Set<PipelineRunOutput>();
  const traces = [];
  for (const o of outs) {
    if (seen.has(o)) continue;
    seen.add(o);
    if (o.trace) traces.push(o.trace);
  }
  return traces;
}

/** Repeats of autocannon: counts add up; latency figures are the mean over repeats (said in the note). */
function poolAutocannon(list: AutocannonStats[]): AutocannonStats {
  if (list.length === 1) return list[0] as AutocannonStats;
  const sum = (f: (a: AutocannonStats) => number): number => list.reduce((s, a) => s + f(a), 0);
  const mean = (f: (a: AutocannonStats) => number): number => sum(f) / list.length;
  const first = list[0] as AutocannonStats;
  return {
    ...first,
    durationMs: sum((a) => a.durationMs),
    requestsPerSecond: { mean: mean((a) => a.requestsPerSecond.mean), stddev: mean((a) => a.requestsPerSecond.stddev), min: Math.min(...list.map((a) => a.requestsPerSecond.min)), max: Math.max(...list.map((a) => a.requestsPerSecond.max)) },
    latencyMs: {
      mean: mean((a) => a.latencyMs.mean),
      stddev: mean((a) => a.latencyMs.stddev),
      min: Math.min(...list.map((a) => a.latencyMs.min)),
      max: Math.max(...list.map((a) => a.latencyMs.max)),
      p50: mean((a) => a.latencyMs.p50),
      p90: mean((a) => a.latencyMs.p90),
      p97_5: mean((a) => a.latencyMs.p97_5),
      p99: mean((a) => a.latencyMs.p99),
    },
    total: sum((a) => a.total),
    ok: sum((a) => a.ok),
    non2xx: sum((a) => a.non2xx),
    errors: sum((a) => a.errors),
    timeouts: sum((a) => a.timeouts),
    outputTokens: sum((a) => a.outputTokens),
    note: `${first.note}; ${list.length} repeats: counts summed, latency percentiles averaged over repeats`,
  };
}

/** Pools the repeats of one pipeline into its PipelineResult. */
export function buildPipelineResult(
  prepared: PreparedPipeline,
  outs: PipelineRunOutput[],
  scenario: Scenario,
  quality: QualityReport | null,
): PipelineResult {
  const spec = prepared.spec;
  const warmup = outs.flatMap((o) => o.warmup);
  const all = outs.flatMap((o) => o.levels.map((rec) => ({ rec, out: o })));
  let sweep: PipelineResult['sweep'] = null;
  let summary: PipelineSummary;
  const s = scenario.load.sweep;
  if (s) {
    const levels = [...new Set(all.map((r) => r.rec.level as number))].sort((a, b) => a - b);
    sweep = levels.map((level) => ({ level, summary: summarizeRecords(all.filter((r) => r.rec.level === level), [], scenario, prepared) }));
    // The headline is the highest level that stayed valid and unsaturated (the sustainable point).
    let chosen = sweep[0]?.summary ?? summarizeRecords([], warmup, scenario, prepared);
    sweep.forEach((point, i) => {
      const first = sweep?.[0]?.summary as PipelineSummary;
      const v = judgeLevel(s.over, point.level, point.summary, first, i > 0 ? (sweep?.[i - 1]?.summary ?? null) : null);
      if (point.summary.valid && !v.saturated && !v.sloBroken) chosen = point.summary;
    });
    summary = chosen;
  } else {
    summary = summarizeRecords(all, warmup, scenario, prepared);
  }
  const errors = outs.map((o) => o.error).filter((e): e is string => e !== null);
  const lastTrace = [...outs].reverse().find((o) => o.trace !== null)?.trace ?? null;
  const cannon = all.map((r) => r.rec.autocannon).filter((a): a is AutocannonStats => a !== null);
  return {
    name: spec.name,
    baseline: spec.baseline,
    spec: spec as unknown as Record<string, unknown>,
    summary,
    quality,
    // The requests stay in columns (pipelineRequests) while a run goes; whoever needs objects makes them.
    samples: [],
    repeatStartsEpochMs: outs.map((o) => o.startEpochMs),
    itlHistogram: mergedHistogram(all.map((r) => r.rec.itlHistogram)),
    dispatchLagHistogram: mergedHistogram(all.map((r) => r.rec.dispatchLag)),
    resources: lastTrace ? { ...lastTrace, clientCpuPct: summary.load.clientCpuPct } : null,
    sweep,
    events: outs.flatMap((o) => o.events),
    complete: outs.length === scenario.repeat && outs.every((o) => o.complete),
    error: errors.length > 0 ? [...new Set(errors)].join('; ') : null,
    autocannon: cannon.length > 0 ? poolAutocannon(cannon) : null,
    balancer: [...outs].reverse().find((o) => o.balancer !== null)?.balancer ?? null,
    memoryBreakdown: [...outs].reverse().find((o) => o.memoryBreakdown !== null)?.memoryBreakdown ?? null,
    placement: [...outs].reverse().find((o) => o.placement !== null)?.placement ?? null,
  };
}

