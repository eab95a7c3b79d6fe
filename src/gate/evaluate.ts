// Evaluates gates against a result: every check with its actual value, pass/fail and a reason a person can act on.
import { LlmbenchError } from '../errors.js';
import { formatPct, formatRatio, formatValue } from '../report/format.js';
import { estimatedCounts } from '../report/warnings.js';
import { baselineOf, comparePipelines, type BootstrapOptions, type MetricChange } from '../stats/compare.js';
import { metric } from '../stats/metrics.js';
import type { PipelineResult, ResultFile } from '../types.js';
import { compare, parseGates, type Gate } from './parse.js';
import { regressionChecks } from './regression.js';
import { invalidReasonsText } from '../report/invalidReasons.js';

/** One judged check. */
export interface GateCheck {
  /** The expression as written, or "regression: <metric>" for baseline-file checks. */
  expression: string;
  source: 'gate' | 'regression';
  /** Pipeline judged (null when the check is about the result as a whole). */
  pipeline: string | null;
  actual: number | null;
  /** Text of the actual value ("2.31x", "412 ms", "+12.0%"). */
  actualText: string;
  pass: boolean;
  reason: string;
  /** A passing regression check with nothing to look at (within the limit, or not judged); tables fold these. */
  quiet: boolean;
}

/** The outcome of all gates. */
export interface GateVerdict {
  pass: boolean;
  checks: GateCheck[];
}

/** Options of evaluateGates. */
export interface GateOptions {
  /** A saved result to check regressions against (pipelines matched by name). */
  baseline?: ResultFile | null;
  /** Allowed worsening in percent before a significant change counts as a regression (default 10). */
  maxRegressionPct?: number;
  /** Also evaluate `result.scenario.gates` (default true). */
  includeScenarioGates?: boolean;
  /** Judge pipelines the run marked INVALID or incomplete instead of failing their checks (default false). */
  allowInvalid?: boolean;
  /** Judge token metrics whose counts did not come from the server's usage (default false). */
  allowEstimated?: boolean;
  bootstrap?: Partial<BootstrapOptions>;
}

/** Gate expressions stored in the result's scenario; an input error when they are not a list of strings. */
export function scenarioGates(result: ResultFile): string[] {
  const g = result.scenario['gates'];
  if (g === undefined || g === null) return [];
  if (!Array.isArray(g) || !g.every((x) => typeof x === 'string')) {
    throw new LlmbenchError('RESULT', `result ${result.runId}: scenario.gates must be a list of expression strings`);
  }
  return g;
}

function targets(result: ResultFile, gate: Gate): PipelineResult[] {
  const base = baselineOf(result);
  switch (gate.target.kind) {
    case 'baseline':
      return [base];
    case 'variants': {
      const vs = result.pipelines.filter((p) => p !== base);
      return gate.metric.startsWith('quality.') ? vs.filter((p) => p.quality !== null) : vs;
    }
    case 'pipeline': {
      const name = gate.target.name;
      const p = result.pipelines.find((x) => x.name === name);
      if (!p) {
        throw new LlmbenchError('GATE', `gate "${gate.source}": no pipeline named "${name}"`, `Pipelines in this result: ${result.pipelines.map((x) => x.name).join(', ')}`);
      }
      if (gate.kind !== 'value' && p === base) {
        throw new LlmbenchError('GATE', `gate "${gate.source}": "${name}" is the baseline; ${gate.kind}() compares a variant with it`);
      }
      return [p];
    }
  }
}

const OP_TEXT = { '<': '<', '<=': '<=', '>': '>', '>=': '>=', '==': '==' } as const;

/** The compared quantity of a function gate and its CI, from the % change of the metric. */
function derived(gate: Gate, c: MetricChange, confidence: number): { actual: number | null; text: string; ci: string } {
  const fromChange = (pct: number): number => {
    const r = 1 + pct / 100;
    if (gate.kind === 'ratio') return r;
    if (gate.kind === 'speedup') return c.better === 'higher' ? r : 1 / r;
    return pct;
  };
  const fmt = (v: number): string => (gate.kind === 'change' ? formatPct(v) : formatRatio(v));
  if (c.changePct === null) return { actual: null, text: 'n/a', ci: '' };
  const actual = fromChange(c.changePct);
  let ci = '';
  if (c.ci) {
    const [a, b] = [fromChange(c.ci.lowPct), fromChange(c.ci.highPct)].sort((x, y) => x - y) as [number, number];
    ci = ` (${Math.round(confidence * 100)}% CI ${fmt(a)} to ${fmt(b)})`;
  }
  return { actual, text: fmt(actual), ci };
}

function thresholdText(gate: Gate): string {
  if (gate.kind === 'change') return formatPct(gate.threshold);
  if (gate.kind !== 'value') return formatRatio(gate.threshold);
  return formatValue(gate.threshold, metric(gate.metric).unit);
}

/** Why a pipeline's numbers cannot back a verdict, or null when they can. */
function untrusted(p: PipelineResult, metricKey: string, opts: GateOptions): string | null {
  const why: string[] = [];
  if (opts.allowInvalid !== true) {
    if (!p.summary.valid) why.push(`${p.name} is INVALID (${invalidReasonsText(p.summary.invalidReasons)})`);
    if (!p.complete) why.push(`${p.name} is incomplete${p.error ? ` (${p.error})` : ''}`);
  }
  if (opts.allowEstimated !== true && /tokens/i.test(metricKey)) {
    const est = estimatedCounts(p);
    if (est) why.push(`${p.name}'s output token counts are estimated: ${est}`);
  }
  return why.length > 0 ? why.join('; ') : null;
}

/** A check on numbers the run itself distrusts fails, saying why and how to judge it anyway. */
function withTrust(check: GateCheck, pipelines: PipelineResult[], metricKey: string, opts: GateOptions): GateCheck {
  const why = pipelines.map((p) => untrusted(p, metricKey, opts)).filter((w): w is string => w !== null);
  if (why.length === 0) return check;
  const flags = [opts.allowInvalid !== true && /INVALID|incomplete/.test(why.join()) ? '--allow-invalid' : null, /estimated/.test(why.join()) ? '--allow-estimated' : null]
    .filter((f) => f !== null)
    .join(' / ');
  return { ...check, pass: false, reason: `${check.reason}; not judged: ${why.join('; ')} (pass ${flags} to judge it anyway)` };
}

function checkGate(result: ResultFile, gate: Gate, opts: GateOptions): GateCheck[] {
  const base = baselineOf(result);
  return checkGateRaw(result, gate, opts.bootstrap ?? {}).map((c) => {
    const p = result.pipelines.find((x) => x.name === c.pipeline);
    if (!p) return c;
    return withTrust(c, gate.kind === 'value' || p === base ? [p] : [base, p], gate.metric, opts);
  });
}

function checkGateRaw(result: ResultFile, gate: Gate, bootstrap: Partial<BootstrapOptions>): GateCheck[] {
  const def = metric(gate.metric);
  const ps = targets(result, gate);
  const want = `${OP_TEXT[gate.op]} ${thresholdText(gate)}`;
  if (ps.length === 0) {
    const what = gate.metric.startsWith('quality.') ? 'no variant has a quality evaluation' : 'no variant pipelines in this result';
    return [{ expression: gate.source, source: 'gate', pipeline: null, actual: null, actualText: 'n/a', pass: false, reason: `${what}; nothing to check`, quiet: false }];
  }
  const base = baselineOf(result);
  return ps.map((p): GateCheck => {
    if (gate.kind === 'value') {
      const v = def.read(p);
      if (v.value === null) {
        return { expression: gate.source, source: 'gate', pipeline: p.name, actual: null, actualText: v.note ?? 'n/a', pass: false, reason: `${p.name}: ${def.key} has no value (${v.note ?? 'missing'}), so ${want} cannot be shown`, quiet: false };
      }
      const pass = compare(v.value, gate.op, gate.threshold);
      const text = formatValue(v.value, def.unit);
      return { expression: gate.source, source: 'gate', pipeline: p.name, actual: v.value, actualText: text, pass, reason: `${p.name}: ${def.key} = ${text}, ${pass ? 'meets' : 'needs'} ${want}`, quiet: false };
    }
    const c = comparePipelines(base, p, { ...bootstrap, metrics: [gate.metric], tests: false });
    const m = c.metrics[gate.metric] as MetricChange;
    const d = derived(gate, m, c.bootstrap.confidence);
    const label = `${gate.kind}(${gate.metric})`;
    if (d.actual === null) {
      const why = m.baselineNote ?? m.variantNote ?? 'no comparable values';
      return { expression: gate.source, source: 'gate', pipeline: p.name, actual: null, actualText: 'n/a', pass: false, reason: `${p.name}: ${label} cannot be computed (${why})`, quiet: false };
    }
    const pass = compare(d.actual, gate.op, gate.threshold);
    return { expression: gate.source, source: 'gate', pipeline: p.name, actual: d.actual, actualText: d.text, pass, reason: `${p.name} vs ${base.name}: ${label} = ${d.text}${d.ci}, ${pass ? 'meets' : 'needs'} ${want}`, quiet: false };
  });
}

/**
 * Evaluates gate expressions (plus the scenario's own, unless turned off) and, with `opts.baseline`, the
 * regression limits against a saved result. Malformed gates or unknown pipelines throw an LlmbenchError (exit 2);
 * a failed check only makes the verdict fail.
 */
export function evaluateGates(result: ResultFile, gates: readonly string[], opts: GateOptions = {}): GateVerdict {
  const all = [...(opts.includeScenarioGates === false ? [] : scenarioGates(result)), ...gates];
  const parsed = parseGates(all);
  const bootstrap = opts.bootstrap ?? {};
  const checks = parsed.flatMap((g) => checkGate(result, g, opts));
  if (opts.baseline) {
    for (const c of regressionChecks(result, opts.baseline, opts.maxRegressionPct ?? 10, bootstrap)) {
      const p = result.pipelines.find((x) => x.name === c.pipeline);
      checks.push(p ? withTrust(c, [p], c.expression, opts) : c);
    }
  }
  return { pass: checks.every((c) => c.pass), checks };
}
