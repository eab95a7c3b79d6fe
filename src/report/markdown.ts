// report.md: the run's full story in GitHub markdown, with SVG charts referenced by relative path.
import type { PipelineComparison } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { renderCharts } from './charts.js';
import { METRIC_DEFINITIONS, methodNotes } from './definitions.js';
import { formatPct } from './format.js';
import { mdTable } from './mdTable.js';
import { memorySection } from './memorySection.js';
import { placementSection } from './placementSection.js';
import { comparisonGroups, testsLine } from './rows.js';
import { fallbackSection } from './fallbackSection.js';
import { balancingSection, failuresSection, overviewSection, provenanceSection, scenarioSection, sweepSection } from './sections.js';
import { workloadNotes } from './notes.js';
import { validityWarnings } from './warnings.js';

/** A rendered markdown report and the files (SVG charts) it references, by name relative to it. */
export interface MarkdownReport {
  markdown: string;
  files: Record<string, string>;
}

/** One before/after table in markdown. */
export function comparisonMarkdown(c: PipelineComparison, baselineLabel: string, variantLabel: string): string {
  const pct = Math.round(c.bootstrap.confidence * 100);
  const rows: string[][] = [];
  for (const g of comparisonGroups(c)) {
    rows.push([`**${g.title}**`, '', '', '', '', '']);
    for (const r of g.rows) rows.push([r.label, r.baseline, r.variant, r.change, r.ci, r.significant]);
  }
  const parts = [mdTable(['Metric', baselineLabel, variantLabel, 'Change', `${pct}% CI of change`, 'Significant?'], rows, ['l', 'r', 'r', 'r', 'r', 'l'])];
  const tests = testsLine(c);
  if (tests) parts.push('', tests);
  return parts.join('\n');
}

/** "int8: E2E p50 -39.8%, output tok/s +82.4%, peak RSS -64.1%" with non-significant changes marked. */
function headline(c: PipelineComparison): string {
  const bits: string[] = [];
  for (const [key, label] of [['e2eMs.p50', 'E2E p50'], ['e2eMs.p95', 'E2E p95'], ['outputTokensPerSecond', 'output tok/s'], ['memory.peakRssBytes', 'peak RSS'], ['quality.perplexityDeltaPct', 'perplexity']] as const) {
    const m = c.metrics[key];
    if (!m) continue;
    if (key === 'quality.perplexityDeltaPct') {
      if (m.variant !== null) bits.push(`${label} ${formatPct(m.variant, 2)} vs reference`);
      continue;
    }
    if (m.changePct === null) continue;
    const sig = m.significant === false ? ' (not significant)' : '';
    bits.push(`${label} ${formatPct(m.changePct)}${sig}`);
  }
  return `- **${c.variant}** vs ${c.baseline}: ${bits.join(', ') || 'no comparable numbers'}`;
}

function warningsBlock(warnings: string[]): string {
  if (warnings.length === 0) return '';
  return ['> [!WARNING]', '> **Validity warnings**', '>', ...warnings.map((w) => `> - ${w}`)].join('\n');
}

/** Renders report.md and its charts from a result and its comparisons. */
export async function renderMarkdown(result: ResultFile, comparisons: readonly PipelineComparison[]): Promise<MarkdownReport> {
  const charts = await renderCharts(result);
  const chartFiles = new Set(charts.map((c) => c.file));
  const name = typeof result.scenario['name'] === 'string' ? result.scenario['name'] : result.runId;
  const baseline = result.pipelines.find((p) => p.baseline) ?? result.pipelines[0];
  const parts: string[] = [
    `# llmbench report: ${name}`,
    '',
    `Run \`${result.runId}\`, ${result.startedAt} to ${result.finishedAt}; ${result.pipelines.length} pipelines, ` +
      `baseline \`${baseline?.name ?? '—'}\`, repeats ${result.repeats}${result.complete ? '' : ' (incomplete)'}.`,
  ];
  const warnings = warningsBlock(validityWarnings(result));
  if (warnings) parts.push('', warnings);
  if (comparisons.length > 0) parts.push('', '## Summary', '', ...comparisons.map(headline));
  for (const c of comparisons) {
    parts.push('', `## ${c.variant} vs ${c.baseline}`, '', comparisonMarkdown(c, c.baseline, c.variant));
  }
  parts.push('', overviewSection(result));
  const notes = workloadNotes(result);
  if (notes.length > 0) parts.push('', '### Workload as delivered', '', ...notes.map((n) => `- ${n}`));
  const chartLines = charts
    .filter((c) => c.file !== 'replicas.svg' && c.file !== 'throughput-latency.svg')
    .map((c) => `![${c.title}](${c.file})`);
  if (chartLines.length > 0) parts.push('', '## Latency distributions', '', chartLines.join('\n\n'));
  const memory = memorySection(result);
  if (memory) parts.push('', memory);
  const placement = placementSection(result);
  if (placement) parts.push('', placement);
  for (const section of [fallbackSection(result), balancingSection(result), failuresSection(result), sweepSection(result)]) {
    if (!section) continue;
    // Sections reference their chart; drop the reference when the chart had no data.
    const lines = section.split('\n').filter((l) => !/^!\[.*\]\((.+\.svg)\)$/.test(l) || chartFiles.has(l.replace(/^!\[.*\]\((.+)\)$/, '$1')));
    parts.push('', lines.join('\n'));
  }
  parts.push('', scenarioSection(result));
  parts.push('', '## Metric definitions', '', ...METRIC_DEFINITIONS.map(([term, def]) => `- **${term}**: ${def}`));
  const b = comparisons[0]?.bootstrap;
  if (b) parts.push('', '## Method', '', ...methodNotes(b.resamples, b.seed, b.confidence, comparisons.some((c) => c.paired === true)).map((n) => `- ${n}`));
  parts.push('', provenanceSection(result), '');
  return { markdown: parts.join('\n'), files: Object.fromEntries(charts.map((c) => [c.file, c.svg])) };
}
