// Regression limits against a saved result: a metric regresses only when it got worse by more than the limit
// AND the bootstrap interval of the change lies entirely on the worse side of zero. Noise alone cannot fail a build.
import { formatCi, formatPct } from '../report/format.js';
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

function judge(pipeline: string, m: MetricChange, limitPct: number, mwuP: number | null): GateCheck {
  const expression = `regression: ${pipeline} ${m.metric}`;
  const base = { expression, source: 'regression' as const, pipeline, actual: m.changePct, actualText: m.changePct === null ? 'n/a' : formatPct(m.changePct) };
  if (m.changePct === null) {
    return { ...base, pass: true, reason: `${m.metric}: not comparable (${m.baselineNote ?? m.variantNote ?? 'no value'}); not judged` };
  }
  const worsePct = m.better === 'lower' ? m.changePct : -m.changePct;
  const beyond = worsePct > limitPct;
  const change = `${m.metric} ${formatPct(m.changePct)} vs saved`;
  if (m.ci === null) {
    return { ...base, pass: true, reason: `${change}: no confidence interval (${m.ciNote ?? 'none'}), so not judged; bound it with a ratio gate instead` };
  }
  const worseSide = m.better === 'lower' ? m.ci.lowPct > 0 : m.ci.highPct < 0;
  const p = mwuP === null ? '' : `, Mann-Whitney p=${mwuP < 0.001 ? '<0.001' : mwuP.toFixed(3)}`;
  const ci = `CI ${formatCi(m)}${p}`;
  if (beyond && worseSide) {
    return { ...base, pass: false, reason: `${change}: worse by more than ${limitPct}% and significant (${ci})` };
  }
  if (beyond) {
    return { ...base, pass: true, reason: `${change}: beyond the ${limitPct}% limit but not significant (${ci} includes 0)` };
  }
  return { ...base, pass: true, reason: `${change}: within the ${limitPct}% limit (${ci})` };
}

/** Regression checks of every pipeline of the saved result that `current` should still have. */
export function regressionChecks(current: ResultFile, saved: ResultFile, limitPct: number, bootstrap: Partial<BootstrapOptions> = {}): GateCheck[] {
  const checks: GateCheck[] = [];
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
      });
      continue;
    }
    const c = comparePipelines(before, after, { ...bootstrap, metrics: REGRESSION_METRICS });
    for (const key of REGRESSION_METRICS) {
      const m = c.metrics[key];
      if (!m) continue;
      const column = key.split('.')[0];
      const test = c.tests.find((t) => t.column === column);
      checks.push(judge(after.name, m, limitPct, test ? test.pValue : null));
    }
  }
  return checks;
}
