// `llmbench compare a b`: the same before/after tables, between two runs instead of within one.
// Pipelines are matched by name; a is "before", b is "after".
import { comparePipelines, type CompareOptions, type PipelineComparison } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { comparisonMarkdown } from './markdown.js';
import { methodLine } from './rows.js';
import { renderComparisonTable, renderWarnings } from './terminal.js';
import { validityWarnings } from './warnings.js';

/** Two runs compared pipeline by pipeline. */
export interface RunComparison {
  before: string;
  after: string;
  comparisons: PipelineComparison[];
  onlyBefore: string[];
  onlyAfter: string[];
}

/** Matches pipelines by name and compares each pair (before = a). */
export function compareRuns(a: ResultFile, b: ResultFile, opts: CompareOptions = {}): RunComparison {
  const comparisons: PipelineComparison[] = [];
  for (const pa of a.pipelines) {
    const pb = b.pipelines.find((p) => p.name === pa.name);
    if (pb) comparisons.push(comparePipelines(pa, pb, opts));
  }
  return {
    before: a.runId,
    after: b.runId,
    comparisons,
    onlyBefore: a.pipelines.filter((p) => !b.pipelines.some((q) => q.name === p.name)).map((p) => p.name),
    onlyAfter: b.pipelines.filter((p) => !a.pipelines.some((q) => q.name === p.name)).map((p) => p.name),
  };
}

function warnings(a: ResultFile, b: ResultFile, rc: RunComparison): string[] {
  const w = [...validityWarnings(a).map((x) => `before: ${x}`), ...validityWarnings(b).map((x) => `after: ${x}`)];
  if (rc.onlyBefore.length) w.push(`only in before (${a.runId}): ${rc.onlyBefore.join(', ')}`);
  if (rc.onlyAfter.length) w.push(`only in after (${b.runId}): ${rc.onlyAfter.join(', ')}`);
  if (a.provenance.cpuModel !== b.provenance.cpuModel || a.provenance.cpuCores !== b.provenance.cpuCores) {
    w.push(`different machines (${a.provenance.cpuModel}, ${a.provenance.cpuCores} cores vs ${b.provenance.cpuModel}, ${b.provenance.cpuCores} cores): absolute numbers are not comparable`);
  }
  return w;
}

/** Terminal tables for a run comparison. */
export function renderCompareTerminal(a: ResultFile, b: ResultFile, rc: RunComparison): string {
  const parts = [`llmbench compare: before ${a.runId} -> after ${b.runId}`];
  const w = renderWarnings(warnings(a, b, rc));
  if (w) parts.push(w);
  for (const c of rc.comparisons) {
    parts.push(renderComparisonTable(c, { title: `${c.variant}: before vs after`, baseline: 'before', variant: 'after' }));
  }
  if (rc.comparisons[0]) parts.push(methodLine(rc.comparisons[0]));
  else parts.push('No pipeline names in common: nothing to compare.');
  return `${parts.join('\n\n')}\n`;
}

/** Markdown tables for a run comparison. */
export function renderCompareMarkdown(a: ResultFile, b: ResultFile, rc: RunComparison): string {
  const parts = [`# llmbench compare: \`${a.runId}\` → \`${b.runId}\``];
  const w = warnings(a, b, rc);
  if (w.length) parts.push('', '> [!WARNING]', ...w.map((x) => `> - ${x}`));
  for (const c of rc.comparisons) parts.push('', `## ${c.variant}`, '', comparisonMarkdown(c, 'before', 'after'));
  if (rc.comparisons[0]) parts.push('', methodLine(rc.comparisons[0]));
  return `${parts.join('\n')}\n`;
}
