// The logic of `llmbench run` (the CLI file only wires flags and signals to this): pick the scenario,
// apply --quick/--repeat, run it, render the report, and apply the gates when asked.
import { UsageError } from '../errors.js';
import { evaluateGates, scenarioGates } from '../gate/evaluate.js';
import { renderVerdictTable, verdictHeadline } from '../gate/render.js';
import { writeReportFiles } from './report.js';
import { renderRunReport } from '../report/runReport.js';
import { builtinScenarioPath } from '../scenarios/builtin.js';
import { scenarioFromFlags, type TargetFlags } from '../scenarios/fromFlags.js';
import { loadScenario } from '../scenarios/load.js';
import { applyOverrides } from '../scenarios/overrides.js';
import type { Scenario } from '../scenarios/types.js';
import type { ResultFile } from '../types.js';
import { dryRunPlan } from './dryRun.js';
import { runScenario } from '../runners/run.js';
import type { ShardSpec } from '../runners/plan/shard.js';

/** Shipped scenario `llmbench run` uses without an argument (the default study when it exists). */
export const DEFAULT_SCENARIOS = ['default', 'fp32-vs-int8'];

export interface RunCommandOptions {
  scenario: string | null;
  out: string | null;
  quick: boolean;
  repeat: number | null;
  /** Check the scenario's gates after the run (exit 1 when one fails). */
  gate: boolean;
  /** A run without a scenario file (`--target URL ...`); exclusive with `scenario`. */
  target?: TargetFlags | null;
  /** External targets may be off this machine. */
  allowRemote?: boolean;
  /** Gates judge INVALID / incomplete pipelines instead of failing. */
  allowInvalid?: boolean;
  /** Gates judge token metrics with estimated counts. */
  allowEstimated?: boolean;
  /** Drive one shard of the load (`--shard I/N`). */
  shard?: ShardSpec | null;
}

export interface RunCommandIo {
  progress: (line: string) => void;
  signal: AbortSignal;
}

export interface RunCommandOutput {
  stdout: string;
  /** 0 ok; 1 a pipeline failed, the result is incomplete or a gate failed; 130 interrupted. */
  exitCode: number;
  resultPath: string;
  result: ResultFile;
}

function defaultScenario(): string {
  const name = DEFAULT_SCENARIOS.find((n) => builtinScenarioPath(n) !== null);
  if (!name) throw new UsageError('no scenario given and no shipped default scenario found', 'Pass a scenario file: llmbench run my-scenario.yaml');
  return name;
}

/** The scenario a run command means: a file, a shipped name, or `--target` flags; with --quick/--repeat applied. */
export function resolveRunScenario(opts: RunCommandOptions): Scenario {
  if (opts.repeat !== null && (!Number.isInteger(opts.repeat) || opts.repeat < 1 || opts.repeat > 100)) {
    throw new UsageError(`--repeat: expected an integer from 1 to 100, got ${opts.repeat}`);
  }
  if (opts.target && opts.scenario !== null) {
    throw new UsageError(`give a scenario file or --target, not both (got "${opts.scenario}" and --target ${opts.target.target})`);
  }
  const loaded = opts.target
    ? scenarioFromFlags({ ...opts.target, allowRemote: opts.target.allowRemote || opts.allowRemote === true }, process.cwd())
    : loadScenario(opts.scenario ?? defaultScenario(), { allowRemote: opts.allowRemote === true });
  return applyOverrides(loaded, { quick: opts.quick, ...(opts.repeat !== null ? { repeat: opts.repeat } : {}) });
}

/** `llmbench run --dry-run`: validates, builds the workload and prints the plan; sends nothing. */
export function dryRunCommand(opts: RunCommandOptions): string {
  return dryRunPlan(resolveRunScenario(opts));
}

/** Runs `llmbench run`; never leaves processes behind (the runners stop what they start). */
export async function runCommand(opts: RunCommandOptions, io: RunCommandIo): Promise<RunCommandOutput> {
  const scenario = resolveRunScenario(opts);
  io.progress(`scenario ${scenario.name}: ${scenario.pipelines.map((p) => p.name).join(' vs ')}${scenario.repeat > 1 ? `, ${scenario.repeat} repeats interleaved` : ''}`);
  const { result, dir, path } = await runScenario(scenario, { outDir: opts.out ?? undefined, signal: io.signal, onProgress: io.progress, shard: opts.shard ?? null });

  const parts: string[] = [];
  try {
    const report = await renderRunReport(result);
    writeReportFiles(dir, report.markdown, report.files);
    parts.push(report.terminal);
  } catch (e) {
    parts.push(`(report could not be rendered: ${e instanceof Error ? e.message : String(e)}; the result file is intact)\n`);
  }
  for (const p of result.pipelines) {
    if (p.error) parts.push(`pipeline ${p.name}: ${p.complete ? 'warning' : 'incomplete'}: ${p.error}\n`);
  }
  parts.push(`result: ${path}\n`);

  let exitCode = io.signal.aborted ? 130 : result.complete ? 0 : 1;
  if (opts.gate && exitCode === 0) {
    if (scenarioGates(result).length === 0) {
      parts.push('gate: the scenario has no gates; nothing to check\n');
    } else {
      const verdict = evaluateGates(result, [], { allowInvalid: opts.allowInvalid === true, allowEstimated: opts.allowEstimated === true });
      parts.push(renderVerdictTable(verdict));
      parts.push(`gate: ${verdictHeadline(verdict)}\n`);
      if (!verdict.pass) exitCode = 1;
    }
  }
  return { stdout: parts.join('\n'), exitCode, resultPath: path, result };
}
