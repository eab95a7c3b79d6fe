// The one call the run command makes at the end of a run: every rendering of the result, computed once.
import { compareRun, type BootstrapOptions, type PipelineComparison } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { renderMarkdown } from './markdown.js';
import { renderTerminal } from './terminal.js';

/** Terminal text, report.md text, and the files report.md references (name relative to report.md -> content). */
export interface RunReport {
  terminal: string;
  markdown: string;
  files: Record<string, string>;
  comparisons: PipelineComparison[];
}

/**
 * Renders a result for the terminal and as report.md with charts. Pure apart from time spent: the same result
 * file always gives the same strings, so `llmbench report` re-renders exactly what the run wrote.
 */
export async function renderRunReport(result: ResultFile, bootstrap: Partial<BootstrapOptions> = {}): Promise<RunReport> {
  const comparisons = compareRun(result, bootstrap);
  const md = await renderMarkdown(result, comparisons);
  return { terminal: renderTerminal(result, comparisons), markdown: md.markdown, files: md.files, comparisons };
}
