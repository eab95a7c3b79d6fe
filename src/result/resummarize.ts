// A pipeline whose run stopped between checkpoints has rows on disk that its stored summary does not cover.
// Readers summarize those rows instead, with what the scenario says about the load, and say so.
import { histogramDistribution } from '../stats/hdrHistogram.js';
import { summarizePipeline, type SloLimits } from '../stats/summarize.js';
import type { PipelineResult } from '../types.js';
import type { RowsRead } from './readRequests.js';

function sloOf(scenario: Record<string, unknown>): SloLimits | null {
  const slo = scenario['slo'] as Partial<SloLimits> | null | undefined;
  if (!slo) return null;
  return { ttftMs: slo.ttftMs ?? null, tpotMs: slo.tpotMs ?? null, e2eMs: slo.e2eMs ?? null };
}

/** The pipeline re-summarized from the samples read back (memory and quality kept from the last checkpoint). */
export function resummarizeFromRows(p: PipelineResult, scenario: Record<string, unknown>, read: RowsRead): PipelineResult {
  const load = (scenario['load'] ?? {}) as { profile?: string; rate?: number | null };
  const open = load.profile === 'constant' || load.profile === 'poisson';
  // Dispatch lag is not stored per request; send minus scheduled time is the closest measured stand-in.
  const lags: number[] = [];
  for (const s of p.samples) if (!s.warmup) lags.push(s.sentMs - s.scheduledMs);
  const summary = summarizePipeline(p.samples, [], {
    profile: p.summary.load.profile || load.profile || 'unknown',
    slo: sloOf(scenario),
    intendedRate: open ? (load.rate ?? null) : null,
    dispatchLagMs: open ? lags : [],
    clientCpuPct: p.summary.load.clientCpuPct,
    modelFileBytes: p.summary.memory.modelFileBytes,
    faultsInjected: Array.isArray((p.spec as { faults?: unknown }).faults) && ((p.spec as { faults: unknown[] }).faults.length > 0),
    itlHistogram: p.itlHistogram ?? null,
  });
  const itlNote = 'ITL: from the histogram at the last checkpoint (requests after it are not in it)';
  const note = `interrupted: summarized from ${read.rows} requests on disk${read.truncated ? ' (file cut off after the last complete row)' : ''}`;
  return {
    ...p,
    summary: {
      ...summary,
      memory: p.summary.memory,
      itlMs: p.itlHistogram ? { ...histogramDistribution(p.itlHistogram), notes: [...histogramDistribution(p.itlHistogram).notes, itlNote] } : summary.itlMs,
    },
    complete: false,
    error: p.error ? `${p.error}; ${note}` : note,
  };
}
