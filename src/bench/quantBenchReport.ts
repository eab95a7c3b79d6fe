// Pure summary and rendering for `npm run bench:quant`: medians per variant, ratios against fp32, a
// markdown table, and the ORT memory probe table.
import type { QualityReport } from '../types.js';
import type { BenchChildResult } from './quantBenchChild.js';
import type { ProbeResult } from './quantBenchProbe.js';

import { median } from '../stats/quantile.js';

/** One variant's medians over every child run. */
export interface VariantSummary {
  variant: string;
  dir: string;
  fileBytes: number;
  weightBytes: number;
  runs: number;
  sessionCreateMs: number;
  prefillMs: number;
  decodeMsPerTokenB1: number;
  decodeStepMsBatch: number;
  peakRssBytes: number;
  steadyRssBytes: number;
  quality: QualityReport | null;
}

/** Medians of a variant's child results. */
export function summarizeVariant(variant: string, dir: string, fileBytes: number, weightBytes: number, runs: BenchChildResult[], quality: QualityReport | null): VariantSummary {
  return {
    variant,
    dir,
    fileBytes,
    weightBytes,
    runs: runs.length,
    sessionCreateMs: median(runs.map((r) => r.sessionCreateMs)),
    prefillMs: median(runs.flatMap((r) => r.prefillMs)),
    decodeMsPerTokenB1: median(runs.flatMap((r) => r.decodeMsPerTokenB1)),
    decodeStepMsBatch: median(runs.flatMap((r) => r.decodeStepMsBatch)),
    peakRssBytes: median(runs.map((r) => r.peakRssBytes)),
    steadyRssBytes: median(runs.map((r) => r.rssEndBytes)),
    quality,
  };
}

const f = (x: number | null | undefined, d = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const mbs = (b: number): string => f(b / 1e6, 1);

/** Markdown table of all variants, ratios against the first (the fp32 baseline). */
export function renderBenchTable(rows: VariantSummary[], batch: number, promptTokens: number): string {
  const base = rows[0];
  if (!base) return '';
  const head = [
    'variant',
    'file MB',
    'weights MB',
    'session create ms',
    `prefill ms (${promptTokens} tok)`,
    'decode ms/tok b1',
    'b1 speedup',
    `decode ms/step b${batch}`,
    `tok/s b${batch}`,
    `b${batch} speedup`,
    'peak RSS MB',
    'steady RSS MB',
    'steady RSS vs fp32',
    'peak RSS vs fp32',
    'perplexity',
    'KL vs fp32',
    'top-1 vs fp32',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const q = r.quality;
    const cells = [
      r.variant,
      mbs(r.fileBytes),
      mbs(r.weightBytes),
      f(r.sessionCreateMs, 0),
      f(r.prefillMs, 0),
      f(r.decodeMsPerTokenB1, 1),
      `${f(base.decodeMsPerTokenB1 / r.decodeMsPerTokenB1, 2)}x`,
      f(r.decodeStepMsBatch, 1),
      f((batch * 1000) / r.decodeStepMsBatch, 1),
      `${f(base.decodeStepMsBatch / r.decodeStepMsBatch, 2)}x`,
      mbs(r.peakRssBytes),
      mbs(r.steadyRssBytes),
      `${f((100 * r.steadyRssBytes) / base.steadyRssBytes, 0)}%`,
      `${f((100 * r.peakRssBytes) / base.peakRssBytes, 0)}%`,
      q ? (q.perplexity < 1e4 ? f(q.perplexity, 2) : q.perplexity.toExponential(2)) : 'n/a',
      q?.meanKl === null || q?.meanKl === undefined ? (r === base ? '0' : 'n/a') : f(q.meanKl, 4),
      q?.top1Agreement === null || q?.top1Agreement === undefined ? (r === base ? '100%' : 'n/a') : `${f(q.top1Agreement * 100, 1)}%`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Markdown table of the ORT probes (raw sessions from the file, one option set each). */
export function renderProbeTable(probes: ProbeResult[]): string {
  const lines = ['| variant: session options | create ms | RSS after load MB | peak RSS MB | decode ms/tok (b1, median) |', '|---|---|---|---|---|'];
  for (const p of probes) {
    lines.push(`| ${p.label} | ${f(p.createMs, 0)} | ${mbs(p.rssAfterLoadBytes)} | ${mbs(p.peakRssBytes)} | ${f(p.decodeMsMedian, 1)} |`);
  }
  return `${lines.join('\n')}\n`;
}
