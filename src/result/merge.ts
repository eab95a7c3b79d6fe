// `llmbench merge`: shard results of one scenario (run --shard I/N on several machines) -> one run folder that
// reports and gates like any other. Rows are concatenated (times moved onto the earliest shard's clock, to the
// microsecond), ITL histograms add bucket by bucket: both exact. Summaries are recomputed from the merged rows.
import { LlmbenchError } from '../errors.js';
import { HdrHistogram } from '../stats/hdrHistogram.js';
import { summarizePipeline } from '../stats/summarize.js';
import type { MemorySummary, PipelineResult, ResultFile, Sample } from '../types.js';
import { compactSample } from './requestRows.js';

function mergeError(problem: string, hint: string | null = null): LlmbenchError {
  return new LlmbenchError('RESULT', `merge: ${problem}`, hint);
}

/** Sum of the shards' values, null when none has one (each shard measured its own processes). */
function sumOrNull(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length > 0 ? known.reduce((a, b) => a + b, 0) : null;
}

function mergedMemory(list: MemorySummary[]): MemorySummary {
  return {
    peakRssBytes: sumOrNull(list.map((m) => m.peakRssBytes)),
    steadyRssBytes: sumOrNull(list.map((m) => m.steadyRssBytes)),
    gpuPeakBytes: sumOrNull(list.map((m) => m.gpuPeakBytes)),
    gpuSteadyBytes: sumOrNull(list.map((m) => m.gpuSteadyBytes)),
    modelFileBytes: list[0]?.modelFileBytes ?? null,
    processCount: list.reduce((a, m) => a + m.processCount, 0),
  };
}

function checkShards(shards: readonly ResultFile[], labels: readonly string[]): number {
  const first = shards[0] as ResultFile;
  const count = first.shard?.count ?? null;
  const seen = new Map<number, string>();
  shards.forEach((r, i) => {
    const label = labels[i] as string;
    if (!r.shard) throw mergeError(`${label} is not a shard (it was not run with --shard I/N)`);
    if (r.shard.count !== count) throw mergeError(`${label} is shard ${r.shard.index}/${r.shard.count}, but ${labels[0]} is one of ${count}`);
    const dup = seen.get(r.shard.index);
    if (dup) throw mergeError(`${label} and ${dup} are both shard ${r.shard.index}/${count}`);
    seen.set(r.shard.index, label);
    if (r.scenario['workloadSha256'] !== first.scenario['workloadSha256'] || r.scenario['seed'] !== first.scenario['seed']) {
      throw mergeError(`${label} ran a different workload or seed than ${labels[0]}`, 'Shards must run the same scenario file.');
    }
    const names = r.pipelines.map((p) => p.name).join(', ');
    if (names !== first.pipelines.map((p) => p.name).join(', ')) throw mergeError(`${label} has pipelines ${names}; ${labels[0]} has ${first.pipelines.map((p) => p.name).join(', ')}`);
    for (const p of r.pipelines) {
      if (p.sweep) throw mergeError(`${label}: pipeline ${p.name} is a sweep; merging sweeps is not supported`);
      if (p.autocannon) throw mergeError(`${label}: pipeline ${p.name} used the autocannon driver (no per-request rows to merge)`);
    }
  });
  if (seen.size !== count) {
    const missing = Array.from({ length: count ?? 0 }, (_, i) => i).filter((i) => !seen.has(i));
    throw mergeError(`shards ${missing.join(', ')} of ${count} are missing`, 'Pass every shard folder, or merge a complete set.');
  }
  return count as number;
}

function mergePipeline(parts: PipelineResult[], scenario: Record<string, unknown>): PipelineResult {
  const first = parts[0] as PipelineResult;
  // Each repeat's times move onto the clock of the shard that started that repeat first.
  const repeats = Math.max(...parts.map((p) => p.repeatStartsEpochMs?.length ?? 0), 1);
  const origin: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const starts = parts.map((p) => p.repeatStartsEpochMs?.[r]).filter((v): v is number => typeof v === 'number');
    origin.push(starts.length > 0 ? Math.min(...starts) : 0);
  }
  const samples: Sample[] = [];
  const itl = new HdrHistogram();
  // Dispatch lag merges exactly when every shard kept its histogram (results before it kept none).
  const lag = parts.every((p) => p.dispatchLagHistogram) ? new HdrHistogram() : null;
  for (const p of parts) {
    if (p.itlHistogram) itl.merge(p.itlHistogram);
    if (lag && p.dispatchLagHistogram) lag.merge(p.dispatchLagHistogram);
    for (const s of p.samples) {
      const run = s.run ?? 0;
      const start = p.repeatStartsEpochMs?.[run];
      const shiftMs = typeof start === 'number' ? Math.round((start - (origin[run] as number)) * 1000) / 1000 : 0;
      samples.push(
        shiftMs === 0
          ? s
          : compactSample({
              ...s,
              scheduledMs: s.scheduledMs + shiftMs,
              sentMs: s.sentMs + shiftMs,
              firstTokenMs: s.firstTokenMs === null ? null : s.firstTokenMs + shiftMs,
              endMs: s.endMs + shiftMs,
            }),
      );
    }
  }
  samples.sort((a, b) => (a.run ?? 0) - (b.run ?? 0) || a.scheduledMs - b.scheduledMs);
  const load = (scenario['load'] ?? {}) as { profile?: string };
  const intended = parts.map((p) => p.summary.load.intendedRate);
  const slo = scenario['slo'] as { ttftMs: number | null; tpotMs: number | null; e2eMs: number | null } | null | undefined;
  const summary = summarizePipeline(samples, [], {
    profile: first.summary.load.profile || load.profile || 'unknown',
    slo: slo ?? null,
    intendedRate: intended.every((v) => v !== null) ? (intended as number[]).reduce((a, b) => a + b, 0) : null,
    // Each shard's lag histogram adds into the merged one; without them the merged p95 and max are the worst
    // shard's (set below).
    dispatchLagMs: [],
    dispatchLagHistogram: lag ? lag.toData() : null,
    clientCpuPct: null,
    modelFileBytes: first.summary.memory.modelFileBytes,
    faultsInjected: Array.isArray(first.spec['faults']) && (first.spec['faults'] as unknown[]).length > 0,
    itlHistogram: itl.count > 0 ? itl.toData() : null,
  });
  const worst = (f: (p: PipelineResult) => number | null): number | null => {
    const v = parts.map(f).filter((x): x is number => x !== null);
    return v.length > 0 ? Math.max(...v) : null;
  };
  const shardReasons = parts.flatMap((p, i) => p.summary.invalidReasons.map((r) => ({ kind: 'shard' as const, shard: i, reason: r })));
  // Lag is judged per machine against its own share of the rate: a shard that fell behind is named below.
  const invalidReasons = [...summary.invalidReasons.filter((r) => r.kind !== 'schedule-lag'), ...shardReasons];
  return {
    ...first,
    summary: {
      ...summary,
      memory: mergedMemory(parts.map((p) => p.summary.memory)),
      load: {
        ...summary.load,
        ...(lag ? {} : { p95ScheduleLagMs: worst((p) => p.summary.load.p95ScheduleLagMs), maxScheduleLagMs: worst((p) => p.summary.load.maxScheduleLagMs) }),
        clientCpuPct: worst((p) => p.summary.load.clientCpuPct),
      },
      valid: invalidReasons.length === 0,
      invalidReasons,
    },
    samples,
    itlHistogram: itl.count > 0 ? itl.toData() : null,
    dispatchLagHistogram: lag ? lag.toData() : null,
    samplesThinnedFrom: null,
    repeatStartsEpochMs: origin,
    resources: null,
    events: parts.flatMap((p, i) => p.events.map((e) => ({ ...e, detail: `shard ${i}: ${e.detail}` }))),
    complete: parts.every((p) => p.complete),
    error: parts.map((p, i) => (p.error ? `shard ${i}: ${p.error}` : null)).filter((e) => e !== null).join('; ') || null,
  };
}

/** Merges a complete set of shard results into one result (pure; the caller writes it). */
export function mergeShards(shards: readonly ResultFile[], labels: readonly string[]): ResultFile {
  if (shards.length < 2) throw mergeError('give at least two shard folders');
  const count = checkShards(shards, labels);
  const ordered = [...shards].sort((a, b) => (a.shard?.index ?? 0) - (b.shard?.index ?? 0));
  const first = ordered[0] as ResultFile;
  const starts = ordered.map((r) => r.startedAt).sort();
  const ends = ordered.map((r) => r.finishedAt).sort();
  return {
    ...first,
    runId: first.runId.replace(/-shard\d+of\d+$/, '') + `-merged${count}`,
    startedAt: starts[0] as string,
    finishedAt: ends[ends.length - 1] as string,
    complete: ordered.every((r) => r.complete),
    shard: null,
    mergedShards: ordered.map((r) => ({ runId: r.runId, index: r.shard?.index ?? 0 })),
    pipelines: first.pipelines.map((p, i) => mergePipeline(ordered.map((r) => r.pipelines[i] as PipelineResult), first.scenario)),
  };
}
