import { beforeAll, describe, expect, it } from 'vitest';
import { LlmbenchError } from '../../src/errors.js';
import { evaluateGates } from '../../src/gate/evaluate.js';
import { regressionChecks } from '../../src/gate/regression.js';
import { readResultFile } from '../../src/result/readResult.js';
import type { PipelineResult, ResultFile } from '../../src/types.js';
import { resultWith, simulatedPipeline } from '../fixtures/generateResult.js';
import { STUDY_FIXTURE } from '../fixtures/paths.js';

let study: ResultFile;
beforeAll(async () => {
  study = await readResultFile(STUDY_FIXTURE);
});

// Fixture: baseline e2e p95 698 ms, int8 402 ms, int8-2rep 391 ms; output tok/s 318 / 580 / 572;
// peak RSS 1.31 GB / 470 MB / 905 MB; int8 perplexity +0.91%; int8-2rep 3 of 240 failed; no GPU.
describe('evaluateGates on the study fixture', () => {
  it.each([
    ['variant.e2eMs.p95 <= 410', [true, true]],
    ['variant.e2eMs.p95 <= 400ms', [false, true]],
    ['baseline.e2eMs.p95 <= 750', [true]],
    ['baseline.e2eMs.p99 <= 10s', [false]],
    ['speedup(outputTokensPerSecond) >= 1.5', [true, true]],
    ['speedup(outputTokensPerSecond) >= 1.85', [true, false]],
    ['speedup(e2eMs.p50) >= 1.55', [true, true]],
    ['ratio(memory.peakRssBytes) <= 0.5', [true, false]],
    ['change(outputTokensPerSecond) >= 85%', [true, false]],
    ['quality.perplexityDeltaPct <= 2', [true, true]],
    ['quality.perplexityDeltaPct <= 0.5', [false, false]],
    ['pipeline("int8-2rep").errorRate <= 1%', [false]],
    ['pipeline("int8").errorRate == 0', [true]],
    ['pipeline("int8").speedup(outputTokensPerSecond) >= 2', [false]],
    ['variant.memory.gpuPeakBytes <= 1GiB', [false, false]],
  ])('%s -> %j', (expr, want) => {
    const v = evaluateGates(study, [expr], { includeScenarioGates: false, bootstrap: { resamples: 300 } });
    expect(v.checks.map((c) => c.pass)).toEqual(want);
    expect(v.pass).toBe(want.every(Boolean));
  });

  it('reports actual values and reasons', () => {
    const v = evaluateGates(study, ['pipeline("int8").speedup(outputTokensPerSecond) >= 2', 'variant.memory.gpuPeakBytes <= 1GiB'], { includeScenarioGates: false });
    const [speedup, gpu] = v.checks;
    expect(speedup).toMatchObject({ pipeline: 'int8', actualText: '1.88x', pass: false, source: 'gate' });
    expect(speedup!.actual).toBeCloseTo(588.43 / 313.61, 2);
    expect(speedup!.reason).toMatch(/^int8 vs baseline: speedup\(outputTokensPerSecond\) = 1\.88x \(95% CI 1\.\d\dx to 1\.\d\dx\), needs >= 2\.00x$/);
    expect(gpu!.reason).toBe('int8: memory.gpuPeakBytes has no value (no GPU), so <= 1.00 GiB cannot be shown');
  });

  it('includes the scenario gates by default', () => {
    const v = evaluateGates(study, []);
    expect(v.checks.map((c) => c.expression)).toEqual([
      'speedup(outputTokensPerSecond) >= 1.5',
      'speedup(outputTokensPerSecond) >= 1.5',
      'quality.perplexityDeltaPct <= 2',
      'quality.perplexityDeltaPct <= 2',
    ]);
    expect(v.pass).toBe(true);
  });

  it('fails a quality gate when no variant was evaluated, and rejects unknown pipelines as input errors', () => {
    const noQuality = { ...study, pipelines: study.pipelines.map((p) => ({ ...p, quality: null })) };
    const v = evaluateGates(noQuality, ['quality.perplexityDeltaPct <= 2'], { includeScenarioGates: false });
    expect(v.checks).toHaveLength(1);
    expect(v.checks[0]).toMatchObject({ pass: false, reason: 'no variant has a quality evaluation; nothing to check' });
    expect(() => evaluateGates(study, ['pipeline("fp16").e2eMs.p50 < 1'], { includeScenarioGates: false })).toThrow(LlmbenchError);
    expect(() => evaluateGates(study, ['pipeline("baseline").speedup(e2eMs.p50) > 1'], { includeScenarioGates: false })).toThrow(/is the baseline/);
  });
});

/** A result with a baseline and one "int8" pipeline, closed loop, with the int8 slowed down by `slowdown`. */
function twoPipelineRun(runId: string, seed: number, requests: number, slowdown: number): ResultFile {
  const base = simulatedPipeline(seed, 'fp32', requests, 2);
  const int8: PipelineResult = simulatedPipeline(seed + 1, 'int8', requests, 2, 0.6 * slowdown);
  return resultWith(runId, [base, int8]);
}

describe('regression checks against a saved baseline', () => {
  it('fails on a significant regression beyond the limit', () => {
    const saved = twoPipelineRun('saved', 1, 150, 1);
    const current = twoPipelineRun('current', 101, 150, 1.3);
    const v = evaluateGates(current, [], { baseline: saved, maxRegressionPct: 10 });
    expect(v.pass).toBe(false);
    const failed = v.checks.filter((c) => !c.pass);
    expect(failed.every((c) => c.pipeline === 'int8' && c.source === 'regression')).toBe(true);
    expect(failed.map((c) => c.expression)).toContain('regression: int8 tpotMs.mean');
    const tpot = failed.find((c) => c.expression === 'regression: int8 tpotMs.mean')!;
    expect(tpot.actual!).toBeGreaterThan(25);
    expect(tpot.reason).toMatch(/worse by more than 10% and significant, 99\.64% CI \[\+\d+\.\d%, \+\d+\.\d%\] excludes 0 \(Mann-Whitney p<0\.001\)$/);
  });

  it('does not fail on a change beyond the limit that is not significant', () => {
    const saved = twoPipelineRun('saved', 1, 10, 1);
    const current = twoPipelineRun('current', 101, 10, 1.15);
    const checks = regressionChecks(current, saved, 10);
    const beyond = checks.filter((c) => c.actual !== null && Math.abs(c.actual) > 10 && !c.expression.includes('memory'));
    expect(beyond.length).toBeGreaterThan(0);
    for (const c of beyond) {
      if (c.reason.includes('not significant')) expect(c.pass).toBe(true);
    }
    const noise = beyond.find((c) => c.reason.includes('beyond the 10% limit but not significant'));
    expect(noise?.reason).toMatch(/CI \[-?\d+\.\d%, \+\d+\.\d%\] includes 0/);
    expect(noise).toBeDefined();
    expect(noise!.pass).toBe(true);
    expect(noise!.quiet).toBe(false);
  });

  it('rarely raises a false alarm on unchanged builds (family-wise)', () => {
    let alarms = 0;
    for (let t = 0; t < 8; t++) {
      const v = evaluateGates(twoPipelineRun('current', 500 + t, 80, 1), [], { baseline: twoPipelineRun('saved', 900 + t, 80, 1), includeScenarioGates: false });
      if (!v.pass) alarms++;
    }
    expect(alarms).toBeLessThanOrEqual(1);
  });

  it('flags pipelines missing from the current result, and leaves memory unjudged', () => {
    const saved = twoPipelineRun('saved', 1, 60, 1);
    const current = resultWith('current', [saved.pipelines[0]!]);
    const checks = regressionChecks(current, saved, 10);
    expect(checks.find((c) => c.expression === 'regression: int8')).toMatchObject({ pass: false, reason: 'pipeline "int8" is in the saved baseline (saved) but not in this result' });
    const mem = checks.find((c) => c.expression === 'regression: fp32 memory.peakRssBytes')!;
    expect(mem).toMatchObject({ pass: true, quiet: true });
    expect(mem.reason).toContain('no confidence interval');
  });
});
