// Report formats of `llmbench report`, keyed by `--format`. Adding one is a renderer (result + comparisons in,
// text or files out) and one line in REPORT_RENDERERS.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PipelineComparison } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { renderGithubBenchmark, type BenchmarkDirection } from './githubBenchmark.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderTerminal } from './terminal.js';

/** What a command prints, and the files it wrote (absolute paths). */
export interface CommandOutput {
  stdout: string;
  written: string[];
}

/** Where a report comes from and goes to. */
export interface ReportTarget {
  /** The result file or run folder the report is of. */
  file: string;
  /** Folder for formats that write files (default: the run folder). */
  out: string | null;
  direction: BenchmarkDirection;
}

export type ReportRenderer = (result: ResultFile, comparisons: PipelineComparison[], target: ReportTarget) => Promise<CommandOutput> | CommandOutput;

export const REPORT_RENDERERS = {
  table: (result, comparisons) => ({ stdout: renderTerminal(result, comparisons), written: [] }),
  md: async (result, comparisons, target) => {
    const md = await renderMarkdown(result, comparisons);
    const dir = resolve(target.out ?? resultDir(target.file));
    const written = writeReportFiles(dir, md.markdown, md.files);
    return { stdout: `wrote ${join(dir, 'report.md')} and ${written.length - 1} charts\n`, written };
  },
  json: (result, comparisons) => ({ stdout: renderJson(result, comparisons), written: [] }),
  'github-benchmark': (result, comparisons, target) => ({ stdout: renderGithubBenchmark(result, comparisons, target.direction), written: [] }),
} satisfies Record<string, ReportRenderer>;

export type ReportFormat = keyof typeof REPORT_RENDERERS;
export const REPORT_FORMATS = Object.keys(REPORT_RENDERERS) as ReportFormat[];

function resultDir(file: string): string {
  return file.endsWith('.json') ? dirname(file) : file;
}

/** Writes report.md and its charts into dir; returns the paths written. */
export function writeReportFiles(dir: string, markdown: string, files: Record<string, string>): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, content] of [['report.md', markdown] as const, ...Object.entries(files)]) {
    const path = join(dir, name);
    writeFileSync(path, content);
    written.push(path);
  }
  return written;
}
