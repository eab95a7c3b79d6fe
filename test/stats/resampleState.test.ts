import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/stats/rng.js';
import { BUCKET_VALUES } from '../../src/stats/rankBuckets.js';
import { columnStatsFromTotals, drawStratifiedWeights, requestColumns, resampleTotals, type ColumnName } from '../../src/stats/requestColumns.js';
import { drawResample, ResampleState } from '../../src/stats/resampleState.js';
import type { Sample } from '../../src/types.js';
import { simulatedPipeline } from '../fixtures/generateResult.js';

/** Samples with ties, failed requests (no TTFT/TPOT) and two repeats, over many rank buckets. */
function samples(n: number): Sample[] {
  const base = simulatedPipeline(5, 'p', n, 4).samples;
  return base.map((s, i) => {
    const failed = i % 17 === 0;
    return {
      ...s,
      run: i % 2,
      e2eMs: Math.round(s.e2eMs / 5) * 5, // ties across bucket edges
      status: failed ? 'error' : s.status,
      ttftMs: failed ? null : s.ttftMs,
      tpotMs: failed ? null : s.tpotMs,
    };
  });
}

describe('resample state (rank buckets)', () => {
  it('draws exactly the weights drawStratifiedWeights draws, and finds the same percentiles as a column walk', () => {
    const cols = requestColumns(samples(BUCKET_VALUES * 23 + 5));
    const state = new ResampleState(cols);
    const a = createRng(3);
    const b = createRng(3);
    const w = new Uint32Array(cols.n);
    for (let round = 0; round < 30; round++) {
      drawResample(a, cols.strata, state);
      drawStratifiedWeights(b, cols.strata, w);
      expect(Array.from(state.weights)).toEqual(Array.from(w));
      const t = resampleTotals(cols, w);
      for (const c of ['e2eMs', 'ttftMs', 'tpotMs'] as ColumnName[]) {
        const counts = state.bucketCounts(c);
        expect(counts).not.toBeNull();
        const walked = columnStatsFromTotals(cols[c], w, t.count[c], t.sum[c]);
        const bucketed = columnStatsFromTotals(cols[c], state.weights, t.count[c], t.sum[c], undefined, counts);
        expect(bucketed).toEqual(walked);
      }
    }
  });

  it('pairs draws: request k of the baseline draws pairs[k] of the variant', () => {
    const cols = requestColumns(samples(300));
    const a = new ResampleState(cols);
    const b = new ResampleState(cols);
    const pairs = Uint32Array.from({ length: cols.n }, (_, i) => cols.n - 1 - i);
    drawResample(createRng(9), cols.strata, a, pairs, b);
    for (let i = 0; i < cols.n; i++) expect(b.weights[pairs[i]!]).toBe(a.weights[i]);
    expect(a.drawAll().weights.every((x) => x === 1)).toBe(true);
  });
});
