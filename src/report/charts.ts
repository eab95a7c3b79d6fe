// SVG charts for report.md: vega-lite specs compiled to vega and rendered headless (no canvas needed).
// Data is reduced to at most CDF_POINTS per pipeline so the SVGs stay small and re-render identically.
import { isAnswered } from '../stats/answered.js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { percentileSorted } from '../stats/distribution.js';
import type { PipelineResult, ResultFile } from '../types.js';

/** A rendered chart: the file name next to report.md, its caption, and the SVG text. */
export interface Chart {
  file: string;
  title: string;
  svg: string;
}

const CDF_POINTS = 200;
const WIDTH = 520;
const HEIGHT = 280;
const CONFIG = { background: 'white', font: 'Helvetica, Arial, sans-serif', axis: { grid: true } };

type Row = Record<string, string | number>;

function okValues(p: PipelineResult, pick: (s: PipelineResult['samples'][number]) => number | null): Float64Array {
  const out = new Float64Array(p.samples.length);
  let k = 0;
  for (const s of p.samples) {
    if (s.warmup || !isAnswered(s)) continue;
    const v = pick(s);
    if (v !== null && Number.isFinite(v)) out[k++] = v;
  }
  // A typed array sorts numerically in native code: several times faster than Array#sort on a million values.
  return out.subarray(0, k).sort();
}

/** Evenly spaced quantiles of a sorted array, as CDF points. */
function cdfRows(pipeline: string, sorted: Float64Array, field: string): Row[] {
  const k = Math.min(CDF_POINTS, sorted.length);
  const rows: Row[] = [];
  for (let i = 0; i < k; i++) {
    const q = k === 1 ? 1 : i / (k - 1);
    rows.push({ pipeline, [field]: round(percentileSorted(sorted, q * 100)), fraction: round(q) });
  }
  return rows;
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function latencyCdf(result: ResultFile): TopLevelSpec | null {
  const values = result.pipelines.flatMap((p) => cdfRows(p.name, okValues(p, (s) => s.e2eMs), 'e2eMs'));
  if (values.length === 0) return null;
  return {
    width: WIDTH, height: HEIGHT, config: CONFIG,
    title: 'End-to-end latency CDF (ok requests)',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'e2eMs', type: 'quantitative', title: 'E2E latency (ms)' },
      y: { field: 'fraction', type: 'quantitative', title: 'fraction of requests', scale: { domain: [0, 1] } },
      color: { field: 'pipeline', type: 'nominal', sort: null },
    },
  };
}

function boxplot(result: ResultFile, field: 'ttftMs' | 'tpotMs', title: string, axis: string): TopLevelSpec | null {
  // Quantile points keep the quartiles and extremes of the full data while bounding the spec size.
  // TPOT is the primary's token pace; a fallback's (one canned piece) would read as ~0.
  const values = result.pipelines.flatMap((p) => cdfRows(p.name, okValues(p, (s) => (field === 'tpotMs' && s.status !== 'ok' ? null : s[field])), field));
  if (values.length === 0) return null;
  return {
    width: WIDTH, height: Math.max(120, 60 * result.pipelines.length), config: CONFIG,
    title,
    data: { values },
    mark: { type: 'boxplot', extent: 'min-max' },
    encoding: {
      y: { field: 'pipeline', type: 'nominal', sort: null, title: null },
      x: { field, type: 'quantitative', title: axis },
      color: { field: 'pipeline', type: 'nominal', sort: null, legend: null },
    },
  };
}

function sweepChart(result: ResultFile): TopLevelSpec | null {
  const values: Row[] = [];
  for (const p of result.pipelines) {
    for (const pt of p.sweep ?? []) {
      for (const [pctl, v] of [['p50', pt.summary.e2eMs.p50], ['p95', pt.summary.e2eMs.p95]] as const) {
        if (v !== null) values.push({ pipeline: p.name, level: pt.level, percentile: pctl, tokensPerSecond: round(pt.summary.outputTokensPerSecond), e2eMs: round(v) });
      }
    }
  }
  if (values.length === 0) return null;
  return {
    width: WIDTH, height: HEIGHT, config: CONFIG,
    title: 'Throughput vs latency across the sweep',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'tokensPerSecond', type: 'quantitative', title: 'output tokens/s' },
      y: { field: 'e2eMs', type: 'quantitative', title: 'E2E latency (ms)' },
      color: { field: 'pipeline', type: 'nominal', sort: null },
      strokeDash: { field: 'percentile', type: 'nominal', title: 'E2E', legend: { symbolType: 'stroke' } },
      order: { field: 'level', type: 'quantitative' },
      detail: { field: 'percentile', type: 'nominal' },
    },
  };
}

function replicaChart(result: ResultFile): TopLevelSpec | null {
  const values: Row[] = [];
  for (const p of result.pipelines) {
    if (p.summary.replicas.length < 2) continue;
    for (const r of p.summary.replicas) values.push({ pipeline: p.name, replica: r.replica, requests: r.requests });
  }
  if (values.length === 0) return null;
  return {
    width: WIDTH, height: Math.max(80, 50 * new Set(values.map((v) => v.pipeline)).size), config: CONFIG,
    title: 'Requests served per replica',
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'pipeline', type: 'nominal', sort: null, title: null },
      x: { field: 'requests', type: 'quantitative', stack: 'zero', title: 'requests' },
      color: { field: 'replica', type: 'nominal' },
      order: { field: 'replica', type: 'ordinal' },
    },
  };
}

/** Every chart the result has data for. */
export async function renderCharts(result: ResultFile): Promise<Chart[]> {
  const specs: Array<[string, string, TopLevelSpec | null]> = [
    ['latency-cdf.svg', 'E2E latency CDF per pipeline', latencyCdf(result)],
    ['ttft.svg', 'TTFT distribution per pipeline', boxplot(result, 'ttftMs', 'Time to first token (ok requests)', 'TTFT (ms)')],
    ['tpot.svg', 'TPOT distribution per pipeline', boxplot(result, 'tpotMs', 'Time per output token (ok requests)', 'TPOT (ms)')],
    ['throughput-latency.svg', 'Throughput vs latency (sweep)', sweepChart(result)],
    ['replicas.svg', 'Per-replica load split', replicaChart(result)],
  ];
  const charts: Chart[] = [];
  for (const [file, title, spec] of specs) {
    if (spec) charts.push({ file, title, svg: await toSvg(spec) });
  }
  return charts;
}
