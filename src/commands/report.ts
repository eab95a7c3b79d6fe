// Logic of `llmbench report`, `compare` and `baseline save`. The CLI file only parses flags and prints.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LlmbenchError, UsageError } from '../errors.js';
import { compareRun } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { compareRuns, renderCompareMarkdown, renderCompareTerminal } from '../report/compareRuns.js';
import type { BenchmarkDirection } from '../report/githubBenchmark.js';
import { REPORT_RENDERERS, type CommandOutput, type ReportFormat } from '../report/formats.js';
import { readResultFile } from '../result/readResult.js';
import { mergeShards } from '../result/merge.js';
import { BASELINE_MAX_REQUESTS, storedBaseline } from '../result/storedResult.js';
import { writeRunFolder } from '../result/writeRun.js';

export { REPORT_FORMATS, writeReportFiles, type CommandOutput, type ReportFormat } from '../report/formats.js';

/** Validates a --format value. */
export function parseFormat<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--format: expected one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** `llmbench report <result.json>`. */
export async function reportCommand(opts: { file: string; format: ReportFormat; out: string | null; direction: BenchmarkDirection }): Promise<CommandOutput> {
  const result = await readResultFile(opts.file);
  const comparisons = compareRun(result);
  return REPORT_RENDERERS[opts.format](result, comparisons, { file: opts.file, out: opts.out, direction: opts.direction });
}

/** `llmbench compare <before> <after>`. */
export async function compareCommand(opts: { before: string; after: string; format: 'table' | 'md' | 'json' }): Promise<CommandOutput> {
  const a = await readResultFile(opts.before);
  const b = await readResultFile(opts.after);
  const rc = compareRuns(a, b);
  if (rc.comparisons.length === 0) {
    throw new LlmbenchError('RESULT', `${opts.before} and ${opts.after} have no pipeline names in common`, `before: ${a.pipelines.map((p) => p.name).join(', ')}; after: ${b.pipelines.map((p) => p.name).join(', ')}`);
  }
  const stdout =
    opts.format === 'md' ? renderCompareMarkdown(a, b, rc) : opts.format === 'json' ? `${JSON.stringify(rc, null, 2)}\n` : renderCompareTerminal(a, b, rc);
  return { stdout, written: [] };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks a baseline name: letters, digits, dot, dash, underscore; no path, no ".json". */
export function validateBaselineName(name: string): string {
  if (!NAME.test(name) || name.includes('..') || name.toLowerCase().endsWith('.json')) {
    throw new UsageError(`--name: "${name}" is not a valid baseline name`, 'Use 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit, without ".json" (e.g. --name main-gpt2).');
  }
  return name;
}

/**
 * The result as stored in baselines/ (schema 2): summaries and provenance, resource traces dropped, and per
 * pipeline at most `maxRequests` measured requests (a seeded subset) as embedded rows: what regression gates
 * resample. The intervals account for the subset (see stats/compare.ts).
 */
export function baselineContent(result: ResultFile, maxRequests: number = BASELINE_MAX_REQUESTS): Record<string, unknown> {
  return storedBaseline(result, maxRequests);
}

/** `llmbench baseline save <result.json> --name N`. */
export async function baselineSaveCommand(opts: { file: string; name: string; dir: string; force: boolean; maxRequests?: number }): Promise<CommandOutput> {
  const name = validateBaselineName(opts.name);
  const result = await readResultFile(opts.file);
  const problems = [
    ...(result.complete ? [] : ['the run is incomplete']),
    ...result.pipelines.filter((p) => !p.summary.valid).map((p) => `pipeline ${p.name} is marked INVALID`),
  ];
  if (problems.length > 0 && !opts.force) {
    throw new LlmbenchError('RESULT', `${opts.file}: not saving as a baseline: ${problems.join('; ')}`, 'Rerun, or pass --force to save it anyway.');
  }
  const path = resolve(opts.dir, `${name}.json`);
  if (existsSync(path) && !opts.force) {
    throw new LlmbenchError('RESULT', `${path} already exists`, 'Pass --force to replace it.');
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(baselineContent(result, opts.maxRequests))}\n`);
  return { stdout: `saved ${result.runId} as baseline "${name}": ${path}\n`, written: [path] };
}

/** `llmbench merge DIR... --out DIR`: shard results of one scenario into one run folder. */
export async function mergeCommand(opts: { dirs: string[]; out: string }): Promise<CommandOutput> {
  const shards: ResultFile[] = [];
  for (const d of opts.dirs) shards.push(await readResultFile(d));
  const merged = mergeShards(shards, opts.dirs);
  if (existsSync(join(opts.out, 'result.json'))) {
    throw new LlmbenchError('RESULT', `${join(opts.out, 'result.json')} already exists`, 'Merge into a new folder.');
  }
  const path = await writeRunFolder(opts.out, merged);
  const counts = merged.pipelines.map((p) => `${p.name} ${p.summary.counts.total}`).join(', ');
  return { stdout: `merged ${shards.length} shards (${counts} requests): ${path}\n`, written: [path] };
}
