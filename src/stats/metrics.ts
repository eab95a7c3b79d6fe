// The metric registry: every number a comparison, a gate or an export can name, how to read it from a
// pipeline result, its unit, and which direction is better. One table so the three cannot disagree.
import type { Distribution, PipelineResult } from '../types.js';
import type { ColumnName, ColumnStat } from './requestColumns.js';

/** Units a metric can carry; renderers format by unit. */
export type MetricUnit = 'ms' | 'bytes' | 'req/s' | 'tok/s' | 'pct' | 'fraction' | 'nats' | 'count' | 'number';

/** How a metric's change between two pipelines gets a confidence interval. */
export type CiMethod =
  /** Recomputed on request resamples (latency percentiles and means). */
  | { kind: 'column'; column: ColumnName; stat: ColumnStat }
  /** Summary value scaled by the resampled share of ok requests or output tokens in a fixed window. */
  | { kind: 'throughput'; basis: 'okRequests' | 'outputTokens' }
  /** No interval; `why` says why (e.g. one measurement per process). */
  | { kind: 'none'; why: string };

/** A metric that can be compared, gated or exported. */
export interface MetricDef {
  key: string;
  label: string;
  unit: MetricUnit;
  better: 'lower' | 'higher';
  ci: CiMethod;
  read(p: PipelineResult): MetricValue;
}

/** A metric value, or null with the reason it is missing. */
export interface MetricValue {
  value: number | null;
  note: string | null;
}

const STAT_LABEL: Record<ColumnStat, string> = { p50: 'p50', p90: 'p90', p95: 'p95', p99: 'p99', mean: 'mean' };
const COLUMN_LABEL: Record<ColumnName, string> = { e2eMs: 'E2E latency', ttftMs: 'TTFT', tpotMs: 'TPOT', itlMs: 'ITL' };

function fromDistribution(d: Distribution, stat: ColumnStat): MetricValue {
  const v = d[stat];
  if (v !== null) return { value: v, note: null };
  // Notes read "p99: too few samples (37 < 200)" or carry the producer's own reason.
  const note = d.notes.find((n) => n.startsWith(`${stat}:`))?.slice(stat.length + 1).trim();
  if (note && !note.startsWith('too few samples')) return { value: null, note };
  if (d.count === 0) return { value: null, note: 'no data' };
  return { value: null, note: 'too few samples' };
}

function plain(value: number | null | undefined, missing: string): MetricValue {
  return value === null || value === undefined || !Number.isFinite(value) ? { value: null, note: missing } : { value, note: null };
}

const SINGLE = 'single measurement per process';
const EVAL = 'deterministic evaluation';

function buildRegistry(): MetricDef[] {
  const defs: MetricDef[] = [];
  for (const column of ['e2eMs', 'ttftMs', 'tpotMs', 'itlMs'] as const) {
    for (const stat of ['p50', 'p90', 'p95', 'p99', 'mean'] as const) {
      defs.push({
        key: `${column}.${stat}`,
        label: `${COLUMN_LABEL[column]} ${STAT_LABEL[stat]}`,
        unit: 'ms',
        better: 'lower',
        ci: { kind: 'column', column, stat },
        read: (p) => fromDistribution(p.summary[column], stat),
      });
    }
  }
  defs.push(
    {
      key: 'requestsPerSecond',
      label: 'Throughput (req/s)',
      unit: 'req/s',
      better: 'higher',
      ci: { kind: 'throughput', basis: 'okRequests' },
      read: (p) => plain(p.summary.requestsPerSecond, 'no data'),
    },
    {
      key: 'outputTokensPerSecond',
      label: 'Output tokens/s',
      unit: 'tok/s',
      better: 'higher',
      ci: { kind: 'throughput', basis: 'outputTokens' },
      read: (p) => plain(p.summary.outputTokensPerSecond, 'no data'),
    },
    {
      key: 'goodputRequestsPerSecond',
      label: 'Goodput (req/s in SLO)',
      unit: 'req/s',
      better: 'higher',
      ci: { kind: 'none', why: 'SLO judged per request by the run' },
      read: (p) => plain(p.summary.goodputRequestsPerSecond, 'no SLO'),
    },
    {
      key: 'errorRate',
      label: 'Error rate',
      unit: 'fraction',
      better: 'lower',
      ci: { kind: 'none', why: 'count' },
      read: (p) => {
        const c = p.summary.counts;
        return c.total > 0 ? { value: (c.error + c.timeout) / c.total, note: null } : { value: null, note: 'no requests' };
      },
    },
    {
      key: 'fallbackRate',
      label: 'Fallback rate',
      unit: 'fraction',
      better: 'lower',
      ci: { kind: 'none', why: 'count' },
      read: (p) => {
        const c = p.summary.counts;
        return c.total > 0 ? { value: (p.summary.fallback?.count ?? 0) / c.total, note: null } : { value: null, note: 'no requests' };
      },
    },
  );
  const mem: Array<[keyof PipelineResult['summary']['memory'], string, string]> = [
    ['peakRssBytes', 'Peak RSS (sum of server processes)', 'no data'],
    ['steadyRssBytes', 'Steady RSS (median in window)', 'no data'],
    ['gpuPeakBytes', 'GPU memory peak (per-process)', 'no GPU'],
    ['gpuSteadyBytes', 'GPU memory steady (per-process)', 'no GPU'],
    ['modelFileBytes', 'Model file size', 'no data'],
  ];
  for (const [field, label, missing] of mem) {
    defs.push({
      key: `memory.${field}`,
      label,
      unit: 'bytes',
      better: 'lower',
      ci: { kind: 'none', why: field === 'modelFileBytes' ? 'file size' : SINGLE },
      read: (p) => plain(p.summary.memory[field], missing),
    });
  }
  const quality: Array<[keyof NonNullable<PipelineResult['quality']>, string, MetricUnit, 'lower' | 'higher']> = [
    ['perplexity', 'Perplexity', 'number', 'lower'],
    ['perplexityDeltaPct', 'Δ perplexity vs fp32', 'pct', 'lower'],
    ['top1Agreement', 'Top-1 agreement with fp32', 'fraction', 'higher'],
    ['meanKl', 'Mean KL vs fp32 (nats)', 'nats', 'lower'],
    ['greedyAgreement', 'Greedy-text agreement', 'fraction', 'higher'],
  ];
  for (const [field, label, unit, better] of quality) {
    defs.push({
      key: `quality.${field}`,
      label,
      unit,
      better,
      ci: { kind: 'none', why: EVAL },
      read: (p) => (p.quality === null ? { value: null, note: 'not evaluated' } : plain(p.quality[field], 'no reference')),
    });
  }
  return defs;
}

/** Every metric, in display order. */
export const METRICS: readonly MetricDef[] = buildRegistry();

const BY_KEY = new Map(METRICS.map((m) => [m.key, m]));

/** Short names accepted for convenience (`peakRssBytes` for `memory.peakRssBytes`). */
export const METRIC_ALIASES: Readonly<Record<string, string>> = Object.fromEntries([
  ...METRICS.filter((m) => m.key.startsWith('memory.')).map((m) => [m.key.slice('memory.'.length), m.key]),
  ['goodput', 'goodputRequestsPerSecond'],
]);

/** Looks a metric up by key or alias; undefined when unknown. */
export function findMetric(name: string): MetricDef | undefined {
  return BY_KEY.get(name) ?? BY_KEY.get(METRIC_ALIASES[name] ?? '');
}

/** The metric with this key; throws on an unknown key (a programming error, not a user one). */
export function metric(key: string): MetricDef {
  const m = BY_KEY.get(key);
  if (!m) throw new Error(`unknown metric key ${key}`);
  return m;
}
