// CLI wiring for `llmbench report`, `compare`, `gate` and `baseline save`. Logic lives in src/commands/report.ts
// and src/commands/gate.ts; this file parses flags, prints, and maps a failed gate to exit code 1.
import type { Command } from 'commander';
import { LlmbenchError, UsageError } from '../errors.js';
import { gateCommand } from '../commands/gate.js';
import { verdictHeadline } from '../gate/render.js';
import { BASELINE_MAX_REQUESTS } from '../result/storedResult.js';
import { baselineSaveCommand, compareCommand, mergeCommand, parseFormat, REPORT_FORMATS, reportCommand } from '../commands/report.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Registers report, compare, gate and baseline save. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Re-render a run from its result.json: terminal tables, report.md with charts, JSON, or github-benchmark JSON')
    .argument('<result>', 'results/<run-id>/result.json (or the run folder)')
    .option('-f, --format <format>', `one of ${REPORT_FORMATS.join(', ')}`, 'table')
    .option('-o, --out <dir>', 'folder for report.md and its SVG charts (md; default: the result folder)')
    .option('--direction <dir>', 'github-benchmark: "smaller" (customSmallerIsBetter: latency, memory) or "bigger" (customBiggerIsBetter: throughput, speedups)', 'smaller')
    .action(async (file: string, opts: { format: string; out?: string; direction: string }) => {
      const format = parseFormat(opts.format, REPORT_FORMATS);
      if (opts.direction !== 'smaller' && opts.direction !== 'bigger') throw new UsageError(`--direction: expected smaller or bigger, got "${opts.direction}"`);
      const out = await reportCommand({ file, format, out: opts.out ?? null, direction: opts.direction });
      process.stdout.write(out.stdout);
    });

  program
    .command('compare')
    .description('Before/after tables between two runs, pipelines matched by name (a = before, b = after)')
    .argument('<a>', 'result.json of the earlier run')
    .argument('<b>', 'result.json of the later run')
    .option('-f, --format <format>', 'table, md or json', 'table')
    .action(async (a: string, b: string, opts: { format: string }) => {
      const out = await compareCommand({ before: a, after: b, format: parseFormat(opts.format, ['table', 'md', 'json'] as const) });
      process.stdout.write(out.stdout);
    });

  program
    .command('gate')
    .description('Check a run against gates (scenario gates + --gate) and a saved baseline; exit 0 pass, 1 fail, 2 input error')
    .argument('<result>', 'results/<run-id>/result.json (or the run folder)')
    .option('-g, --gate <expr>', 'gate expression, repeatable, e.g. "speedup(outputTokensPerSecond) >= 1.5"', collect, [])
    .option('-b, --baseline <file>', 'saved baseline result (baselines/<name>.json) to check regressions against')
    .option('--max-regression <pct>', 'allowed significant worsening vs --baseline (default 10%)')
    .option('-f, --format <format>', 'table, md or json', 'table')
    .option('--allow-invalid', 'judge pipelines the run marked INVALID or incomplete instead of failing their checks')
    .option('--allow-estimated', 'judge token metrics whose counts did not come from the server (estimated)')
    .action(async (file: string, opts: { gate: string[]; baseline?: string; maxRegression?: string; format: string; allowInvalid?: boolean; allowEstimated?: boolean }) => {
      const { stdout, verdict } = await gateCommand({
        file,
        gates: opts.gate,
        baselineFile: opts.baseline ?? null,
        maxRegression: opts.maxRegression ?? null,
        format: parseFormat(opts.format, ['table', 'md', 'json'] as const),
        stepSummary: process.env['GITHUB_STEP_SUMMARY'] || null,
        allowInvalid: opts.allowInvalid === true,
        allowEstimated: opts.allowEstimated === true,
      });
      process.stdout.write(stdout);
      if (!verdict.pass) throw new LlmbenchError('GATE', `gate failed (${verdictHeadline(verdict)})`, null, 1);
    });

  program
    .command('merge')
    .description('Merge the results of `run --shard I/N` (one folder per shard, same scenario) into one run folder')
    .argument('<dirs...>', 'shard run folders (or their result.json)')
    .requiredOption('-o, --out <dir>', 'folder for the merged result')
    .action(async (dirs: string[], opts: { out: string }) => {
      process.stdout.write((await mergeCommand({ dirs, out: opts.out })).stdout);
    });

  const baseline = program.command('baseline').description('Saved reference results for regression gates');
  baseline
    .command('save')
    .description('Save a result as baselines/<name>.json')
    .argument('<result>', 'results/<run-id>/result.json (or the run folder)')
    .requiredOption('-n, --name <name>', 'baseline name (letters, digits, . - _)')
    .option('--dir <dir>', 'baselines folder', 'baselines')
    .option('--force', 'overwrite an existing baseline, or save an incomplete/invalid run', false)
    .option('--max-requests <n>', `measured requests kept per pipeline, a seeded subset (default ${BASELINE_MAX_REQUESTS}; regression intervals account for it)`)
    .action(async (file: string, opts: { name: string; dir: string; force: boolean; maxRequests?: string }) => {
      let maxRequests: number | undefined;
      if (opts.maxRequests !== undefined) {
        if (!/^\d+$/.test(opts.maxRequests) || Number(opts.maxRequests) < 100) throw new UsageError(`--max-requests: expected an integer >= 100, got "${opts.maxRequests}"`);
        maxRequests = Number(opts.maxRequests);
      }
      process.stdout.write((await baselineSaveCommand({ file, name: opts.name, dir: opts.dir, force: opts.force, maxRequests })).stdout);
    });
}
