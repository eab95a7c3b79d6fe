// Regression limits against a saved result: a metric regresses only when it got worse by more than the limit
// AND the bootstrap interval of the change lies entirely on the worse side of zero. Because one verdict checks
// many (pipeline, metric) pairs, the intervals are Bonferroni-widened so that the chance of any false alarm on an
// unchanged build stays near FAMILY_ALPHA, not 5% per check.
import { formatCi, formatP, formatPct } from '../report/format.js';
import { comparePipelines, type BootstrapOptions, type MetricChange } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import type { GateCheck } from './evaluate.js';

/** Metrics checked against a saved baseline. Memory is listed but, having no interval, is reported, not judged. */
export const REGRESSION_METRICS: readonly string[] = [
  'e2eMs.p50',
  'e2eMs.p95',
  'ttftMs.p50',
  'ttftMs.p95',
  'tpotMs.mean',
  'requestsPerSecond',
  'outputTokensPerSecond',
  'memory.peakRssBytes',
];

/** Family-wise false-alarm rate for all regression checks of one verdict. */
export const FAMILY_ALPHA = 0.05;
const MAX_RESAMPLES = 10_000;

/** Interval level and resample count for k simultaneous checks (enough resamples to reach into each tail). */
export function familyBootstrap(k: number, base: Partial<BootstrapOptions>): Partial<BootstrapOptions> {
  const alpha = FAMILY_ALPHA / Math.max(1, k);
  const resamples = Math.min(MAX_RESAMPLES, Math.max(base.resamples ?? 2000, Math.ceil(20 / (alpha / 2))));
  return { ...base, confidence: 1 - alpha, resamples };
}

function judge(pipeline: string, m: MetricChange, limitPct: number, mwuP: number | null, confidence: number): GateCheck {
  const expression = `regression: ${pipeline} ${m.metric}`;
  const base = { expression, source: 'regression' as const, pipeline, actual: m.changePct, actualText: m.changePct === null ? 'n/a' : formatPct(m.changePct) };
  if (m.changePct === null) {
    return { ...base, pass: true, quiet: true, reason: `${m.metric}: not comparable (${m.baselineNote ?? m.variantNote ?? 'no value'}); not judged` };
  }
  const worsePct = m.better === 'lower' ? m.changePct : -m.changePct;
  const beyond = worsePct > limitPct;
  const change = `${m.metric} ${formatPct(m.changePct)} vs saved`;
  if (m.ci === null) {
    return { ...base, pass: true, quiet: true, reason: `${change}: no confidence interval (${m.ciNote ?? 'none'}), so not judged; bound it with a ratio gate instead` };
  }
  const worseSide = m.better === 'lower' ? m.ci.lowPct > 0 : m.ci.highPct < 0;
  const p = mwuP === null ? '' : ` (Mann-Whitney ${formatP(mwuP)})`;
  const ci = `${(confidence * 100).toFixed(2)}% CI ${formatCi(m)}`;
  if (beyond && worseSide) {
    return { ...base, pass: false, quiet: false, reason: `${change}: worse by more than ${limitPct}% and significant, ${ci} excludes 0${p}` };
  }
  if (beyond) {
    return { ...base, pass: true, quiet: false, reason: `${change}: beyond the ${limitPct}% limit but not significant, ${ci} includes 0${p}` };
  }
  return { ...base, pass: true, quiet: true, reason: `${change}: within the ${limitPct}% limit, ${ci}${p}` };
}

/** Regression checks of every pipeline of the saved result that `current` should still have. */
export function regressionChecks(current: ResultFile, saved: ResultFile, limitPct: number, bootstrap: Partial<BootstrapOptions> = {}): GateCheck[] {
  const checks: GateCheck[] = [];
  const [a, b] = [saved.provenance, current.provenance];
  if (a.cpuModel !== b.cpuModel || a.cpuCores !== b.cpuCores || a.gpu !== b.gpu) {
    checks.push({
      expression: 'regression: same machine',
      source: 'regression',
      pipeline: null,
      actual: null,
      actualText: 'differs',
      pass: true,
      quiet: false,
      reason: `saved baseline ran on ${a.cpuModel} (${a.cpuCores} cores${a.gpu ? `, ${a.gpu}` : ''}), this run on ${b.cpuModel} (${b.cpuCores} cores${b.gpu ? `, ${b.gpu}` : ''}): absolute numbers across machines mislead; prefer ratio gates`,
    });
  }
  const common = saved.pipelines.filter((p) => current.pipelines.some((q) => q.name === p.name)).length;
  const judged = REGRESSION_METRICS.filter((k) => !k.startsWith('memory.')).length;
  const boot = familyBootstrap(common * judged, bootstrap);
  for (const before of saved.pipelines) {
    const after = current.pipelines.find((p) => p.name === before.name);
    if (!after) {
      checks.push({
        expression: `regression: ${before.name}`,
        source: 'regression',
        pipeline: before.name,
        actual: null,
        actualText: 'missing',
        pass: false,
        reason: `pipeline "${before.name}" is in the saved baseline (${saved.runId}) but not in this result`,
        quiet: false,
      });
      continue;
    }
    const c = comparePipelines(before, after, { ...boot, metrics: REGRESSION_METRICS });
    for (const key of REGRESSION_METRICS) {
      const m = c.metrics[key];
      if (!m) continue;
      const column = key.split('.')[0];
      const test = c.tests.find((t) => t.column === column);
      checks.push(judge(after.name, m, limitPct, test ? test.pValue : null, c.bootstrap.confidence));
    }
  }
  return checks;
}
