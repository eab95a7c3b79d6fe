import { wilcoxonRankSum } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/stats/rng.js';
import { mannWhitneyU } from '../../src/stats/mannWhitney.js';
import { erfc, normalSurvival, twoSidedP } from '../../src/stats/normal.js';

describe('normal tail', () => {
  it('matches tabulated values', () => {
    expect(erfc(1)).toBeCloseTo(0.1572992070, 7);
    expect(erfc(-1)).toBeCloseTo(1.8427007930, 7);
    expect(normalSurvival(1.959963985)).toBeCloseTo(0.025, 7);
    expect(twoSidedP(0)).toBeCloseTo(1, 7);
    // Relative accuracy deep in the tail: P(Z > 7) = 1.279812544e-12.
    expect(normalSurvival(7) / 1.279812544e-12).toBeCloseTo(1, 5);
  });
});

describe('mannWhitneyU', () => {
  it('computes U, tie-corrected z and p on a hand-worked table', () => {
    // Pooled ranks: 1.5->1, 2.0 (x,y)->2.5, 3.0 (x,x,y)->5, 4->7, 5->8, 6->9, 7->10, 8->11.
    // R_x = 1 + 2.5 + 5 + 5 + 10 = 23.5, U_x = 23.5 - 5*6/2 = 8.5, U_y = 30 - 8.5 = 21.5.
    // Ties {2: 2, 3: 3}: sum(t^3 - t) = 6 + 24 = 30; var = 30/12 * (12 - 30/110) = 29.318182.
    // z = -(|8.5 - 15| - 0.5) / sqrt(29.318182) = -1.108110; p = 0.267814 (scipy asymptotic agrees).
    const r = mannWhitneyU([1.5, 2.0, 3.0, 3.0, 7.0], [2.0, 3.0, 4.0, 5.0, 6.0, 8.0]);
    expect(r).not.toBeNull();
    expect(r!.uX).toBe(8.5);
    expect(r!.uY).toBe(21.5);
    expect(r!.z).toBeCloseTo(-1.10811, 5);
    expect(r!.pValue).toBeCloseTo(0.2678145, 6);
    expect(r!.probXGreater).toBeCloseTo(8.5 / 30, 12);
  });

  it('gives p = 0.030383 for complete separation of 4 vs 4 (normal approximation)', () => {
    const r = mannWhitneyU([10, 20, 30, 40], [50, 60, 70, 80])!;
    expect(r.uX).toBe(0);
    expect(r.pValue).toBeCloseTo(0.0303828, 6);
    expect(mannWhitneyU([50, 60, 70, 80], [10, 20, 30, 40])!.pValue).toBeCloseTo(0.0303828, 6);
  });

  it('returns p = 1 when every value ties and null for an empty side', () => {
    expect(mannWhitneyU([5, 5, 5], [5, 5])!.pValue).toBe(1);
    expect(mannWhitneyU([], [1, 2])).toBeNull();
  });

  it('agrees with simple-statistics rank sums on seeded data with many ties', () => {
    const rng = createRng(9);
    for (let t = 0; t < 20; t++) {
      const x = Array.from({ length: 5 + t }, () => Math.floor(rng() * 12));
      const y = Array.from({ length: 30 - t }, () => Math.floor(rng() * 12) + 1);
      const r = mannWhitneyU(x, y)!;
      expect(r.uX).toBeCloseTo(wilcoxonRankSum(x, y) - (x.length * (x.length + 1)) / 2, 9);
      expect(r.uX + r.uY).toBe(x.length * y.length);
    }
  });
});
