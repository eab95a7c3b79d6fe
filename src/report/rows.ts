// Which metrics a before/after table shows, in which groups, and their cell text. Shared by the terminal and
// markdown renderers so both print the same table.
import type { MetricChange, PipelineComparison } from '../stats/compare.js';
import { formatCell, formatChange, formatCi, formatP, formatSignificant } from './format.js';

/** One rendered row of a before/after table. */
export interface TableRow {
  metric: string;
  label: string;
  baseline: string;
  variant: string;
  change: string;
  ci: string;
  significant: string;
}

/** A titled group of rows (Latency, Throughput, Memory, Quality). */
export interface TableGroup {
  title: string;
  rows: TableRow[];
}

const LATENCY: Array<[string, string]> = [
  ['e2eMs.p50', 'E2E latency p50'],
  ['e2eMs.p95', 'E2E latency p95'],
  ['e2eMs.p99', 'E2E latency p99'],
  ['ttftMs.p50', 'TTFT p50'],
  ['ttftMs.p95', 'TTFT p95'],
  ['tpotMs.p50', 'TPOT p50'],
  ['tpotMs.mean', 'TPOT mean'],
  ['itlMs.p50', 'ITL p50 (per chunk)'],
];
const THROUGHPUT: Array<[string, string]> = [
  ['requestsPerSecond', 'Requests/s'],
  ['outputTokensPerSecond', 'Output tokens/s'],
  ['goodputRequestsPerSecond', 'Goodput (req/s in SLO)'],
  ['errorRate', 'Failed requests'],
  ['fallbackRate', 'Fallback answers'],
];
const MEMORY: Array<[string, string]> = [
  ['memory.peakRssBytes', 'Peak RSS (server processes)'],
  ['memory.steadyRssBytes', 'Steady RSS (median)'],
  ['memory.gpuPeakBytes', 'GPU memory peak (per process)'],
  ['memory.modelFileBytes', 'Model file size'],
];
const QUALITY: Array<[string, string]> = [
  ['quality.perplexity', 'Perplexity (held-out)'],
  ['quality.perplexityDeltaPct', 'Δ perplexity vs reference'],
  ['quality.top1Agreement', 'Top-1 agreement w/ reference'],
  ['quality.meanKl', 'Mean KL (nats)'],
];

function row(c: MetricChange, label: string): TableRow {
  return {
    metric: c.metric,
    label,
    baseline: formatCell(c.baseline, c.baselineNote, c.unit),
    variant: formatCell(c.variant, c.variantNote, c.unit),
    change: formatChange(c),
    ci: formatCi(c),
    significant: formatSignificant(c),
  };
}

function group(c: PipelineComparison, title: string, spec: Array<[string, string]>, keep: (m: MetricChange) => boolean = () => true): TableGroup {
  const rows: TableRow[] = [];
  for (const [key, label] of spec) {
    const m = c.metrics[key];
    if (m && keep(m)) rows.push(row(m, label));
  }
  return { title, rows };
}

/** The row groups of one comparison's before/after table. Goodput only with an SLO; quality only when evaluated. */
export function comparisonGroups(c: PipelineComparison): TableGroup[] {
  const groups = [
    group(c, 'Latency', LATENCY),
    group(c, 'Throughput', THROUGHPUT, (m) => {
      if (m.metric === 'goodputRequestsPerSecond') return m.baseline !== null || m.variant !== null;
      // Only runs where something fell back get the row.
      if (m.metric === 'fallbackRate') return (m.baseline ?? 0) > 0 || (m.variant ?? 0) > 0;
      return true;
    }),
    group(c, 'Memory', MEMORY),
  ];
  const q = c.metrics['quality.perplexity'];
  if (q && q.variantNote !== 'not evaluated') groups.push(group(c, 'Quality', QUALITY));
  return groups.filter((g) => g.rows.length > 0);
}

const TEST_LABEL = { e2eMs: 'E2E', ttftMs: 'TTFT', tpotMs: 'TPOT' } as const;

/** One line with the rank tests: "E2E p<0.001 (variant slower in 12% of pairs) · TTFT p=0.031 ...". */
export function testsLine(c: PipelineComparison): string | null {
  if (c.tests.length === 0) return null;
  const parts = c.tests.map(
    (t) => `${TEST_LABEL[t.column]} ${formatP(t.pValue)} (${c.variant} slower in ${(t.probXGreater * 100).toFixed(0)}% of request pairs)`,
  );
  return `Mann-Whitney U, two-sided: ${parts.join('; ')}`;
}

/** Footnote on how intervals and significance were computed. */
export function methodLine(c: PipelineComparison): string {
  const b = c.bootstrap;
  return (
    `${Math.round(b.confidence * 100)}% CI: percentile bootstrap of the % change, ${b.resamples} resamples of requests ` +
    `(seed ${b.seed})${c.paired ? ', paired by workload index (both pipelines measured the same requests)' : ''}; throughput via a ratio estimator (output or requests per summed request time); ` +
    `significant = the interval excludes 0. Memory is one measurement per process: no interval.`
  );
}
