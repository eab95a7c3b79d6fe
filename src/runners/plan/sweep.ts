// When a sweep has gone far enough: pure verdicts on one level's summary.
import type { LoadSpec, SloSpec } from '../../scenarios/types.js';
import { summarizeColumns } from '../../stats/summarize.js';
import type { PipelineSummary } from '../../types.js';
import type { LevelRecord } from '../load/levelDrivers.js';

/** Share of completed requests that must meet the SLO for a level to count as within it. */
export const SLO_ATTAINMENT = 0.9;

export interface LevelVerdict {
  saturated: boolean;
  sloBroken: boolean;
  reason: string | null;
}

const failedShare = (s: PipelineSummary): number => (s.counts.total === 0 ? 1 : (s.counts.error + s.counts.timeout) / s.counts.total);
const typicalLatency = (s: PipelineSummary): number | null => s.e2eMs.p50 ?? s.e2eMs.mean;

/**
 * A rate level is saturated when its typical latency doubled against the first level, completions fell
 * below 75% of the offered rate, or more than 5% failed. A concurrency level is saturated when it added
 * less than 5% throughput over the previous one.
 */
export function judgeLevel(
  over: 'rate' | 'concurrency',
  level: number,
  summary: PipelineSummary,
  first: PipelineSummary,
  previous: PipelineSummary | null,
): LevelVerdict {
  const reasons: string[] = [];
  if (failedShare(summary) > 0.05) reasons.push(`${(failedShare(summary) * 100).toFixed(1)}% failed`);
  if (over === 'rate') {
    const lat = typicalLatency(summary);
    const base = typicalLatency(first);
    if (lat !== null && base !== null && summary !== first && lat > 2 * base) {
      reasons.push(`typical latency ${lat.toFixed(0)} ms is over twice the first level's ${base.toFixed(0)} ms`);
    }
    if (summary.requestsPerSecond < 0.75 * level) {
      reasons.push(`completed ${summary.requestsPerSecond.toFixed(2)} req/s of ${level} offered`);
    }
  } else if (previous !== null && summary.requestsPerSecond < 1.05 * previous.requestsPerSecond) {
    reasons.push(`throughput ${summary.requestsPerSecond.toFixed(2)} req/s did not grow 5% over ${previous.requestsPerSecond.toFixed(2)}`);
  }
  let sloBroken = false;
  if (summary.goodputRequestsPerSecond !== null) {
    const attained = summary.requestsPerSecond > 0 ? summary.goodputRequestsPerSecond / summary.requestsPerSecond : 0;
    if (attained < SLO_ATTAINMENT) {
      sloBroken = true;
      reasons.push(`${(attained * 100).toFixed(0)}% of requests met the SLO`);
    }
  }
  const saturated = reasons.length > (sloBroken ? 1 : 0);
  return { saturated, sloBroken, reason: reasons.length > 0 ? reasons.join('; ') : null };
}

/** Why a sweep should stop after its latest level (null: go on), judged on summaries of the levels so far. */
export function sweepStopReason(load: LoadSpec, slo: SloSpec | null, levels: readonly LevelRecord[]): string | null {
  const sweep = load.sweep;
  const last = levels[levels.length - 1];
  if (!sweep || sweep.stopWhen === null || !last || last.level === null) return null;
  const summarize = (rec: LevelRecord): PipelineSummary =>
    summarizeColumns(rec.requests, [], {
      profile: load.profile,
      slo,
      intendedRate: rec.intendedRate,
      dispatchLagMs: [],
      dispatchLagHistogram: rec.dispatchLag,
      clientCpuPct: rec.clientCpuPct,
      modelFileBytes: null,
      faultsInjected: false,
      itlHistogram: rec.itlHistogram,
    });
  const first = levels[0] as LevelRecord;
  const prev = levels.length > 1 ? (levels[levels.length - 2] as LevelRecord) : null;
  const verdict = judgeLevel(sweep.over, last.level, summarize(last), summarize(first), prev ? summarize(prev) : null);
  const stop = sweep.stopWhen === 'saturated' ? verdict.saturated : verdict.sloBroken;
  return stop ? (verdict.reason ?? 'limit reached') : null;
}
