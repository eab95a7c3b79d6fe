import { describe, expect, it } from 'vitest';
import { distribution, minSamplesFor, percentileSorted } from '../../src/stats/distribution.js';
import { createRng, randomInt } from '../../src/stats/rng.js';
import { drawStratifiedWeights, drawWeights, requestColumns, resampleTotals, weightedColumnStats } from '../../src/stats/requestColumns.js';
import { pipelineFromLatencies } from '../fixtures/generateResult.js';

describe('percentile rules reused from distribution', () => {
  it('interpolates type 7 and withholds percentiles with too few samples', () => {
    expect(percentileSorted([1, 2, 3, 4], 75)).toBe(3.25);
    expect(percentileSorted([10, 20, 30, 40, 50], 95)).toBe(48);
    expect([50, 90, 95, 99].map(minSamplesFor)).toEqual([4, 20, 40, 200]);
    const d = distribution([3, 1, 2, 4]);
    expect(d.p50).toBe(2.5);
    expect(d.p90).toBeNull();
  });
});

describe('prng', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = createRng(1);
    const b = createRng(1);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    expect(createRng(2)()).not.toBe(xs[0]);
    const r = createRng(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[randomInt(r, 4)]! += 1;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });
});

describe('weighted resample statistics', () => {
  it('equal what distribution() gives on the expanded resample', () => {
    const e2e = Array.from({ length: 57 }, (_, i) => 100 + ((i * 37) % 57) * 3.5);
    const cols = requestColumns(pipelineFromLatencies('p', e2e).samples);
    const rng = createRng(11);
    const w = new Uint32Array(cols.n);
    for (let trial = 0; trial < 20; trial++) {
      drawWeights(rng, cols.n, w);
      const expanded: number[] = [];
      const expandedItl: number[] = [];
      w.forEach((k, i) => {
        for (let j = 0; j < k; j++) {
          expanded.push(e2e[i]!);
          for (let g = 0; g < 9; g++) expandedItl.push((e2e[i]! * 0.6) / 9);
        }
      });
      const want = distribution(expanded);
      const got = weightedColumnStats(cols.e2eMs, w);
      expect(got.p50).toBeCloseTo(want.p50!, 9);
      expect(got.p90).toBeCloseTo(want.p90!, 9);
      expect(got.p95).toBeCloseTo(want.p95!, 9);
      expect(Number.isNaN(got.p99)).toBe(true); // 57 < 200
      expect(got.mean).toBeCloseTo(want.mean!, 9);
      expect(weightedColumnStats(cols.itlMs, w).p95).toBeCloseTo(distribution(expandedItl).p95!, 9);
      const totals = resampleTotals(cols, w);
      expect(totals.okRequests).toBe(57);
      expect(totals.outputTokens).toBe(570);
      expect(totals.busyMs).toBeCloseTo(expanded.reduce((a, b) => a + b, 0), 6);
    }
  });

  it('ignores warm-up requests and keeps failed ones as resampling units without latency', () => {
    const p = pipelineFromLatencies('p', [10, 20, 30, 40, 50]);
    p.samples[0]!.warmup = true;
    p.samples[1]!.status = 'error';
    const cols = requestColumns(p.samples);
    expect(cols.n).toBe(4);
    expect(Array.from(cols.e2eMs.values)).toEqual([30, 40, 50]);
    expect(resampleTotals(cols, new Uint32Array([1, 1, 1, 1])).okRequests).toBe(3);
  });
});

describe('repeats', () => {
  it('resample within each repeat, keeping its size', () => {
    const p = pipelineFromLatencies('p', [10, 20, 30, 40, 50, 60, 70]);
    p.samples.forEach((s, i) => {
      s.run = i < 3 ? 0 : 1;
    });
    const cols = requestColumns(p.samples);
    expect(cols.strata.map((s) => Array.from(s))).toEqual([[0, 1, 2], [3, 4, 5, 6]]);
    const rng = createRng(5);
    const w = new Uint32Array(cols.n);
    for (let t = 0; t < 50; t++) {
      drawStratifiedWeights(rng, cols.strata, w);
      expect(w[0]! + w[1]! + w[2]!).toBe(3);
      expect(w[3]! + w[4]! + w[5]! + w[6]!).toBe(4);
    }
  });
});
