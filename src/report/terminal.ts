// Terminal rendering with cli-table3: validity warnings on top, then one before/after table per variant.
import { fallbackSection } from './fallbackSection.js';
import Table from 'cli-table3';
import type { PipelineComparison } from '../stats/compare.js';
import type { PipelineSummary, ResultFile } from '../types.js';
import { formatNumber, formatValue } from './format.js';
import { comparisonGroups, methodLine, testsLine } from './rows.js';
import { workloadNotes } from './notes.js';
import { validityWarnings } from './warnings.js';

/** Column captions of a before/after table. */
export interface ComparisonLabels {
  title: string;
  baseline: string;
  variant: string;
}

function newTable(head: string[]): Table.Table {
  // No colours: output must be identical in a pipe, a file and a terminal.
  return new Table({ head, style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1, compact: true } });
}

/** One before/after table as text. */
export function renderComparisonTable(c: PipelineComparison, labels: ComparisonLabels): string {
  const pct = Math.round(c.bootstrap.confidence * 100);
  const table = newTable(['metric', labels.baseline, labels.variant, 'change', `${pct}% CI of change`, 'significant?']);
  for (const g of comparisonGroups(c)) {
    table.push([{ colSpan: 6, content: g.title }]);
    for (const r of g.rows) table.push([r.label, r.baseline, r.variant, r.change, r.ci, r.significant]);
  }
  const lines = [labels.title, table.toString()];
  const tests = testsLine(c);
  if (tests) lines.push(tests);
  return lines.join('\n');
}

/** Warnings block ("" when there are none). */
export function renderWarnings(warnings: readonly string[]): string {
  if (warnings.length === 0) return '';
  return ['Validity warnings:', ...warnings.map((w) => `  ! ${w}`)].join('\n');
}

function pipelineSummaryText(name: string, s: PipelineSummary): string {
  const ms = (v: number | null): string => (v === null ? 'too few samples' : formatValue(v, 'ms'));
  const rows: Array<[string, string]> = [
    ['requests ok/total', `${s.counts.ok}/${s.counts.total}`],
    ['TTFT p50 / p95', `${ms(s.ttftMs.p50)} / ${ms(s.ttftMs.p95)}`],
    ['TPOT p50 / mean', `${ms(s.tpotMs.p50)} / ${ms(s.tpotMs.mean)}`],
    ['ITL p50 (per chunk)', ms(s.itlMs.p50)],
    ['E2E p50 / p95 / p99', `${ms(s.e2eMs.p50)} / ${ms(s.e2eMs.p95)} / ${ms(s.e2eMs.p99)}`],
    ['requests/s', formatNumber(s.requestsPerSecond)],
    ['output tokens/s', formatNumber(s.outputTokensPerSecond)],
  ];
  const t = newTable([name, '']);
  for (const r of rows) t.push(r);
  return t.toString();
}

/** The run's terminal report. */
export function renderTerminal(result: ResultFile, comparisons: readonly PipelineComparison[]): string {
  const name = typeof result.scenario['name'] === 'string' ? result.scenario['name'] : 'scenario';
  const parts: string[] = [`llmbench run ${result.runId} (${name}), ${result.pipelines.length} pipelines, repeats: ${result.repeats}`];
  const warnings = renderWarnings(validityWarnings(result));
  if (warnings) parts.push(warnings);
  const notes = workloadNotes(result);
  if (notes.length > 0) parts.push(['Workload as delivered:', ...notes.map((n) => `  - ${n}`)].join('\n'));
  for (const c of comparisons) {
    const title = c.baseline === 'baseline' ? `${c.variant} vs baseline` : `${c.variant} vs ${c.baseline} (baseline)`;
    parts.push(renderComparisonTable(c, { title, baseline: c.baseline, variant: c.variant }));
  }
  const fallbacks = fallbackSection(result);
  if (fallbacks) parts.push(fallbacks.replace(/^## /, ''));
  if (comparisons[0]) parts.push(methodLine(comparisons[0]));
  else {
    // A single target (`run --target URL`) still deserves its numbers on screen, not just a file.
    for (const p of result.pipelines) parts.push(pipelineSummaryText(p.name, p.summary));
    parts.push('Only one pipeline: nothing to compare. Use --format md for its full summary.');
  }
  return `${parts.join('\n\n')}\n`;
}
