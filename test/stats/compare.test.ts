import { describe, expect, it } from 'vitest';
import { comparePipelines } from '../../src/stats/compare.js';
import { createRng, randomNormal } from '../../src/stats/rng.js';
import { generateStudyResult, pipelineFromLatencies, simulatedPipeline } from '../fixtures/generateResult.js';

const lognormalSample = (seed: number, n: number, median: number): number[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => median * Math.exp(0.4 * randomNormal(rng)));
};

const TPUT = ['outputTokensPerSecond', 'requestsPerSecond'];

describe('comparePipelines', () => {
  it('pairs requests by workload index when both pipelines measured the same ones: the interval then shows the change, not the prompt mix', () => {
    // Request cost varies 5x with the prompt; the variant is exactly 10% faster on every one of them.
    const base = lognormalSample(11, 120, 200).map((v, i) => v * (1 + 4 * ((i * 7) % 10) / 9));
    const a = pipelineFromLatencies('a', base, true);
    const b = pipelineFromLatencies('b', base.map((v) => v * 0.9));
    const paired = comparePipelines(a, b, { resamples: 400, seed: 3, metrics: ['e2eMs.mean', 'e2eMs.p50'] });
    expect(paired.paired).toBe(true);
    expect(paired.metrics['e2eMs.mean']!.ci!.lowPct).toBeCloseTo(-10, 6);
    expect(paired.metrics['e2eMs.mean']!.ci!.highPct).toBeCloseTo(-10, 6);
    // The same numbers under other workload indices cannot be paired: independent resamples, a wide interval.
    const shifted = { ...b, samples: b.samples.map((s) => ({ ...s, index: s.index + 1000 })) };
    const unpaired = comparePipelines(a, shifted, { resamples: 400, seed: 3, metrics: ['e2eMs.mean'] });
    expect(unpaired.paired).toBe(false);
    const ci = unpaired.metrics['e2eMs.mean']!.ci!;
    expect(ci.highPct - ci.lowPct).toBeGreaterThan(10);
  });

  it('95% CIs of the change between two samples of one distribution cover 0 in most seeded trials', () => {
    let coveredP50 = 0;
    let coveredMean = 0;
    for (let t = 0; t < 100; t++) {
      const a = pipelineFromLatencies('a', lognormalSample(1000 + t, 120, 200), true);
      const b = pipelineFromLatencies('b', lognormalSample(5000 + t, 120, 200));
      const c = comparePipelines(a, b, { resamples: 400, seed: t, metrics: ['e2eMs.p50', 'tpotMs.mean'] });
      const m = c.metrics;
      if (m['e2eMs.p50']!.ci!.lowPct <= 0 && m['e2eMs.p50']!.ci!.highPct >= 0) coveredP50++;
      if (m['tpotMs.mean']!.ci!.lowPct <= 0 && m['tpotMs.mean']!.ci!.highPct >= 0) coveredMean++;
    }
    expect(coveredP50).toBeGreaterThanOrEqual(90);
    expect(coveredMean).toBeGreaterThanOrEqual(90);
  });

  it('throughput CIs (ratio estimator) cover 0 for identical closed-loop pipelines and detect a 30% slowdown', () => {
    const covers = (ci: { lowPct: number; highPct: number } | null): boolean => ci !== null && ci.lowPct <= 0 && ci.highPct >= 0;
    let tok = 0;
    let req = 0;
    for (let t = 0; t < 100; t++) {
      const c = comparePipelines(simulatedPipeline(1000 + t, 'a', 200, 4), simulatedPipeline(5000 + t, 'b', 200, 4), { resamples: 300, seed: t, metrics: TPUT });
      if (covers(c.metrics['outputTokensPerSecond']!.ci)) tok++;
      if (covers(c.metrics['requestsPerSecond']!.ci)) req++;
    }
    expect(tok).toBeGreaterThanOrEqual(90);
    expect(req).toBeGreaterThanOrEqual(90);
    let detected = 0;
    for (let t = 0; t < 10; t++) {
      const c = comparePipelines(simulatedPipeline(1000 + t, 'a', 200, 4), simulatedPipeline(5000 + t, 'b', 200, 4, 1.3), { resamples: 300, seed: t, metrics: TPUT });
      const m = c.metrics['outputTokensPerSecond']!;
      if (m.significant && m.direction === 'worse' && m.ci!.highPct < 0) detected++;
    }
    expect(detected).toBeGreaterThanOrEqual(9);
  });

  it('detects a 25% shift in latency with the right sign, CI and Mann-Whitney p', () => {
    let detected = 0;
    for (let t = 0; t < 20; t++) {
      const a = pipelineFromLatencies('a', lognormalSample(1000 + t, 120, 200), true);
      const b = pipelineFromLatencies('b', lognormalSample(5000 + t, 120, 250));
      const c = comparePipelines(a, b, { resamples: 400, seed: t });
      const p50 = c.metrics['e2eMs.p50']!;
      const mwu = c.tests.find((x) => x.column === 'e2eMs')!;
      if (p50.significant && p50.ci!.lowPct > 0 && p50.direction === 'worse' && mwu.pValue < 0.05) detected++;
    }
    expect(detected).toBeGreaterThanOrEqual(18);
  });

  it('is deterministic for a seed and explains missing intervals', () => {
    const r = generateStudyResult();
    const [base, int8] = [r.pipelines[0]!, r.pipelines[1]!];
    const c1 = comparePipelines(base, int8);
    const c2 = comparePipelines(base, int8);
    expect(c1).toEqual(c2);
    const e2e = c1.metrics['e2eMs.p50']!;
    expect(e2e.baseline).toBe(base.summary.e2eMs.p50);
    expect(e2e.changePct).toBeCloseTo(((int8.summary.e2eMs.p50! - base.summary.e2eMs.p50!) / base.summary.e2eMs.p50!) * 100, 9);
    expect(e2e.ci!.lowPct).toBeLessThan(e2e.changePct!);
    expect(e2e.ci!.highPct).toBeGreaterThan(e2e.changePct!);
    expect(e2e.significant).toBe(true);
    expect(e2e.direction).toBe('better');
    // Baseline has 150 requests: p99 needs 200.
    expect(c1.metrics['e2eMs.p99']!.baselineNote).toBe('too few samples');
    expect(c1.metrics['e2eMs.p99']!.ci).toBeNull();
    expect(c1.metrics['memory.peakRssBytes']!.ciNote).toBe('single measurement per process');
    expect(c1.metrics['memory.gpuPeakBytes']!.variantNote).toBe('no GPU');
    expect(c1.metrics['quality.perplexity']!.baseline).toBe(12.2);
    expect(c1.metrics['quality.perplexityDeltaPct']!.variant).toBeCloseTo(0.9098, 9);
    expect(c1.metrics['outputTokensPerSecond']!.direction).toBe('better');
    expect(c1.metrics['outputTokensPerSecond']!.significant).toBe(true);
  });
});
