// Export for github-action-benchmark's custom tools. One file holds one direction, so `direction` picks:
//   smaller -> tool: customSmallerIsBetter (latency, memory, perplexity)
//   bigger  -> tool: customBiggerIsBetter  (throughput, agreement, and each variant's in-run speedups)
// Speedups measured inside one run are the portable series: they compare pipelines on the same machine.
import type { PipelineComparison } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { formatRatio } from './format.js';

/** One data point in the shape github-action-benchmark reads. */
export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

export type BenchmarkDirection = 'smaller' | 'bigger';

const MIB = 1024 ** 2;

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Entries for one direction; metrics without a value are left out. */
export function githubBenchmarkEntries(result: ResultFile, comparisons: readonly PipelineComparison[], direction: BenchmarkDirection): BenchmarkEntry[] {
  const out: BenchmarkEntry[] = [];
  const push = (name: string, unit: string, value: number | null | undefined, extra?: string, range?: string): void => {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    out.push({ name, unit, value: round(value), ...(range ? { range } : {}), ...(extra ? { extra } : {}) });
  };
  for (const p of result.pipelines) {
    const s = p.summary;
    const extra = `${s.counts.ok}/${s.counts.total} requests ok, run ${result.runId}`;
    if (direction === 'smaller') {
      push(`${p.name} - E2E latency p50`, 'ms', s.e2eMs.p50, extra);
      push(`${p.name} - E2E latency p95`, 'ms', s.e2eMs.p95, extra);
      push(`${p.name} - TTFT p50`, 'ms', s.ttftMs.p50, extra);
      push(`${p.name} - TTFT p95`, 'ms', s.ttftMs.p95, extra);
      push(`${p.name} - TPOT mean`, 'ms', s.tpotMs.mean, extra);
      push(`${p.name} - peak RSS`, 'MiB', s.memory.peakRssBytes === null ? null : s.memory.peakRssBytes / MIB);
      push(`${p.name} - GPU memory peak`, 'MiB', s.memory.gpuPeakBytes === null ? null : s.memory.gpuPeakBytes / MIB);
      push(`${p.name} - perplexity`, 'ppl', p.quality?.perplexity);
    } else {
      push(`${p.name} - requests/s`, 'req/s', s.requestsPerSecond, extra);
      push(`${p.name} - output tokens/s`, 'tok/s', s.outputTokensPerSecond, extra);
      push(`${p.name} - goodput`, 'req/s', s.goodputRequestsPerSecond, extra);
      push(`${p.name} - top-1 agreement`, '%', p.quality?.top1Agreement == null ? null : p.quality.top1Agreement * 100);
    }
  }
  if (direction === 'bigger') {
    for (const c of comparisons) {
      for (const [key, label] of [['outputTokensPerSecond', 'output tokens/s'], ['e2eMs.p50', 'E2E p50'], ['memory.peakRssBytes', 'peak RSS']] as const) {
        const m = c.metrics[key];
        if (!m || m.changePct === null) continue;
        const toSpeedup = (pct: number): number => (m.better === 'higher' ? 1 + pct / 100 : 1 / (1 + pct / 100));
        const ci = m.ci ? [toSpeedup(m.ci.lowPct), toSpeedup(m.ci.highPct)].sort((a, b) => a - b) : null;
        const level = Math.round(c.bootstrap.confidence * 100);
        const range = ci ? `${formatRatio(ci[0] as number)} to ${formatRatio(ci[1] as number)} (${level}% CI)` : undefined;
        push(`${c.variant} vs ${c.baseline} - ${label} improvement`, 'x', toSpeedup(m.changePct), undefined, range);
      }
    }
  }
  return out;
}

/** The JSON text of githubBenchmarkEntries. */
export function renderGithubBenchmark(result: ResultFile, comparisons: readonly PipelineComparison[], direction: BenchmarkDirection): string {
  return `${JSON.stringify(githubBenchmarkEntries(result, comparisons, direction), null, 2)}\n`;
}
