// Logic of `llmbench gate`: gates from the scenario and the command line, optional regression limits against a
// saved baseline, a printed verdict, and the markdown summary for GitHub Actions.
import { appendFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { comparisonMarkdown } from '../report/markdown.js';
import { readResultFile } from '../result/readResult.js';
import { compareRun } from '../stats/compare.js';
import { evaluateGates, scenarioGates, type GateVerdict } from '../gate/evaluate.js';
import { renderVerdictMarkdown, renderVerdictTable } from '../gate/render.js';

/** Parses "10%" or "10" into 10 (percent). */
export function parseMaxRegression(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1000) throw new UsageError(`--max-regression: expected a percentage like 10%, got "${value}"`);
  return n;
}

/** Options of gateCommand. */
export interface GateCommandOptions {
  file: string;
  gates: string[];
  baselineFile: string | null;
  maxRegression: string | null;
  format: 'table' | 'md' | 'json';
  /** $GITHUB_STEP_SUMMARY, when set. */
  stepSummary: string | null;
  /** Judge INVALID / incomplete pipelines instead of failing their checks. */
  allowInvalid?: boolean;
  /** Judge token metrics whose counts are estimated. */
  allowEstimated?: boolean;
}

/** Runs the gate; returns the text to print and the verdict (the CLI maps it to exit 0/1). */
export async function gateCommand(opts: GateCommandOptions): Promise<{ stdout: string; verdict: GateVerdict }> {
  const result = await readResultFile(opts.file);
  if (opts.maxRegression !== null && opts.baselineFile === null) {
    throw new UsageError('--max-regression needs --baseline <file>');
  }
  const saved = opts.baselineFile === null ? null : await readResultFile(opts.baselineFile);
  if (opts.gates.length === 0 && scenarioGates(result).length === 0 && saved === null) {
    throw new UsageError(`${opts.file}: nothing to check: the scenario has no gates and no --gate or --baseline was given`, 'Add gates to the scenario (gates: [...]) or pass --gate "speedup(outputTokensPerSecond) >= 1.5".');
  }
  if (saved && !saved.pipelines.some((p) => result.pipelines.some((q) => q.name === p.name))) {
    throw new UsageError(`${opts.baselineFile}: no pipeline names in common with ${opts.file}`);
  }
  const verdict = evaluateGates(result, opts.gates, {
    baseline: saved,
    maxRegressionPct: opts.maxRegression === null ? 10 : parseMaxRegression(opts.maxRegression),
    allowInvalid: opts.allowInvalid === true,
    allowEstimated: opts.allowEstimated === true,
  });
  if (opts.stepSummary) {
    const tables = compareRun(result).map((c) => `#### ${c.variant} vs ${c.baseline}\n\n${comparisonMarkdown(c, c.baseline, c.variant)}\n`);
    appendFileSync(opts.stepSummary, `${renderVerdictMarkdown(verdict)}\n${tables.join('\n')}\n`);
  }
  const stdout =
    opts.format === 'json' ? `${JSON.stringify(verdict, null, 2)}\n` : opts.format === 'md' ? renderVerdictMarkdown(verdict) : renderVerdictTable(verdict);
  return { stdout, verdict };
}
