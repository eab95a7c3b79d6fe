// Gate expressions, parsed once into data. Grammar (whitespace is free):
//
//   gate     := [ 'pipeline("' NAME '").' ] subject OP NUMBER [UNIT]
//   subject  := 'variant.' METRIC        every non-baseline pipeline (all must pass)
//             | 'baseline.' METRIC       the baseline pipeline
//             | 'quality.' FIELD         every variant that has a quality evaluation
//             | METRIC                   only after pipeline("NAME"): that pipeline's own value
//             | FN '(' METRIC ')'        FN: speedup | ratio | change, each variant against the baseline
//   OP       := '<=' | '<' | '>=' | '>' | '=='
//   UNIT     := ms | s | % | x | B | KB | MB | GB | KiB | MiB | GiB
//
// speedup = how many times better (variant/baseline when higher is better, baseline/variant when lower is
// better); ratio = variant/baseline; change = (variant - baseline) / baseline in percent.
import { LlmbenchError } from '../errors.js';
import { findMetric, METRICS, type MetricDef } from '../stats/metrics.js';

/** What a gate measures. */
export type GateKind = 'value' | 'speedup' | 'ratio' | 'change';
export type GateOp = '<' | '<=' | '>' | '>=' | '==';

/** Which pipelines a gate judges. */
export type GateTarget = { kind: 'variants' } | { kind: 'baseline' } | { kind: 'pipeline'; name: string };

/** A parsed gate. */
export interface Gate {
  source: string;
  kind: GateKind;
  target: GateTarget;
  /** Canonical metric key (aliases resolved). */
  metric: string;
  op: GateOp;
  /** In the metric's unit for value gates (ms, bytes, fraction...), a plain ratio, or percent for change(). */
  threshold: number;
}

const EXAMPLES = 'e.g. variant.e2eMs.p95 <= 300ms, speedup(outputTokensPerSecond) >= 1.5, pipeline("int8").ratio(memory.peakRssBytes) <= 0.5';

function gateError(source: string, problem: string, hint: string | null = null): LlmbenchError {
  return new LlmbenchError('GATE', `gate "${source}": ${problem}`, hint ?? `Write gates as <subject> <op> <number>[unit], ${EXAMPLES}. See docs/gates.md.`);
}

/** The valid metric names, compactly ("e2eMs.{p50,p90,p95,p99,mean}, ..."), for error messages. */
export function validMetricList(): string {
  const groups = new Map<string, string[]>();
  const singles: string[] = [];
  for (const m of METRICS) {
    const dot = m.key.lastIndexOf('.');
    const head = dot > 0 ? m.key.slice(0, dot) : '';
    if (head && /^(e2eMs|ttftMs|tpotMs|itlMs)$/.test(head)) groups.set(head, [...(groups.get(head) ?? []), m.key.slice(dot + 1)]);
    else singles.push(m.key);
  }
  return [...[...groups].map(([h, tails]) => `${h}.{${tails.join(',')}}`), ...singles].join(', ');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function resolveMetric(source: string, name: string): MetricDef {
  const m = findMetric(name);
  if (m) return m;
  const best = METRICS.map((d) => [d.key, editDistance(name, d.key)] as const).sort((a, b) => a[1] - b[1])[0];
  const guess = best && best[1] <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean ${best[0]}?)` : '';
  throw gateError(source, `unknown metric "${name}"${guess}`, `Valid metrics: ${validMetricList()}. Memory fields also work without "memory." (peakRssBytes).`);
}

const BYTE_UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Converts "300" + "ms" into the metric's unit; throws on a unit that does not fit. */
function scaleThreshold(source: string, kind: GateKind, def: MetricDef, value: number, unit: string): number {
  const u = unit.toLowerCase();
  if (kind === 'speedup' || kind === 'ratio') {
    if (u === '' || u === 'x') return value;
    throw gateError(source, `${kind}() compares as a plain ratio; use a number like 1.5 or 1.5x, not "${unit}"`);
  }
  if (kind === 'change') {
    if (u === '' || u === '%') return value;
    throw gateError(source, `change() is in percent; use a number like 10 or 10%, not "${unit}"`);
  }
  if (u === '') return value;
  switch (def.unit) {
    case 'ms':
      if (u === 'ms') return value;
      if (u === 's') return value * 1000;
      break;
    case 'bytes':
      if (BYTE_UNITS[u] !== undefined) return value * BYTE_UNITS[u];
      break;
    case 'pct':
      if (u === '%') return value;
      break;
    case 'fraction':
      if (u === '%') return value / 100;
      break;
    default:
      break;
  }
  throw gateError(source, `unit "${unit}" does not fit ${def.key} (measured in ${def.unit})`);
}

const SHAPE = /^\s*(?:pipeline\(\s*(?:"([^"]+)"|'([^']+)')\s*\)\s*\.\s*)?(.+?)\s*(<=|>=|==|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([A-Za-z%]*)\s*$/i;

/** Parses one gate expression; throws an LlmbenchError (exit 2) that says what is wrong. */
export function parseGate(source: string): Gate {
  const m = SHAPE.exec(source);
  if (!m) throw gateError(source, 'expected <subject> <op> <number>[unit]');
  const scoped = m[1] ?? m[2] ?? null;
  const subject = (m[3] as string).replace(/\s+/g, '');
  const op = m[4] as GateOp;
  const value = Number(m[5]);
  const unit = m[6] ?? '';

  let kind: GateKind;
  let metricName: string;
  let target: GateTarget;
  const fn = /^(speedup|ratio|change)\(([^()]+)\)$/.exec(subject);
  if (fn) {
    kind = fn[1] as GateKind;
    metricName = fn[2] as string;
    target = scoped ? { kind: 'pipeline', name: scoped } : { kind: 'variants' };
  } else {
    kind = 'value';
    const sel = /^(variant|baseline)\.(.+)$/.exec(subject);
    if (sel) {
      if (scoped) throw gateError(source, `pipeline("${scoped}") already picks the pipeline; drop "${sel[1]}."`);
      metricName = sel[2] as string;
      target = sel[1] === 'baseline' ? { kind: 'baseline' } : { kind: 'variants' };
    } else if (scoped) {
      metricName = subject;
      target = { kind: 'pipeline', name: scoped };
    } else if (subject.startsWith('quality.')) {
      metricName = subject;
      target = { kind: 'variants' };
    } else {
      // Resolve first so a misspelt metric gets the more useful error.
      resolveMetric(source, subject);
      throw gateError(source, `say which pipeline "${subject}" belongs to: variant.${subject}, baseline.${subject} or pipeline("NAME").${subject}`);
    }
  }
  const def = resolveMetric(source, metricName);
  return { source: source.trim(), kind, target, metric: def.key, op, threshold: scaleThreshold(source, kind, def, value, unit) };
}

/** Parses every expression, collecting all problems into one error. */
export function parseGates(sources: readonly string[]): Gate[] {
  const gates: Gate[] = [];
  const errors: LlmbenchError[] = [];
  for (const s of sources) {
    try {
      gates.push(parseGate(s));
    } catch (e) {
      if (e instanceof LlmbenchError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length === 1) throw errors[0] as LlmbenchError;
  if (errors.length > 1) {
    const lines = errors.map((e) => e.message + (e.hint ? `\n    ${e.hint}` : ''));
    throw new LlmbenchError('GATE', `${errors.length} invalid gate expressions:\n  ${lines.join('\n  ')}`);
  }
  return gates;
}

/** Applies a comparison operator. */
export function compare(actual: number, op: GateOp, threshold: number): boolean {
  switch (op) {
    case '<':
      return actual < threshold;
    case '<=':
      return actual <= threshold;
    case '>':
      return actual > threshold;
    case '>=':
      return actual >= threshold;
    case '==':
      return actual === threshold;
  }
}
