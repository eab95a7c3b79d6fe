// Layer plans: even splits put the extra layers first; explicit ranges must tile 0..L-1 exactly, and every
// way they can fail says what is wrong.
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { resolveSplitPlan } from '../../src/split/splitPlan.js';

const pairs = (plan: Parameters<typeof resolveSplitPlan>[0], layers: number): number[][] =>
  resolveSplitPlan(plan, layers).map((r) => [r.firstLayer, r.lastLayer]);

describe('resolveSplitPlan', () => {
  it('divides layers evenly, extra layers to the first stages', () => {
    expect(pairs({ stages: 2 }, 4)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(pairs({ stages: 3 }, 4)).toEqual([
      [0, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(pairs({ stages: 5 }, 12)).toEqual([
      [0, 2],
      [3, 5],
      [6, 7],
      [8, 9],
      [10, 11],
    ]);
    expect(pairs({ stages: 1 }, 3)).toEqual([[0, 2]]);
    expect(pairs({ stages: 2 }, 2)).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('accepts explicit ranges as pairs or objects', () => {
    expect(
      pairs(
        {
          ranges: [
            [0, 0],
            [1, 3],
          ],
        },
        4,
      ),
    ).toEqual([
      [0, 0],
      [1, 3],
    ]);
    expect(
      pairs(
        {
          ranges: [
            { firstLayer: 0, lastLayer: 2 },
            { firstLayer: 3, lastLayer: 3 },
          ],
        },
        4,
      ),
    ).toEqual([
      [0, 2],
      [3, 3],
    ]);
  });

  const bad: [string, Parameters<typeof resolveSplitPlan>[0], number, string][] = [
    ['more stages than layers', { stages: 3 }, 2, 'split: 3 stages for a model with 2 layers'],
    ['zero stages', { stages: 0 }, 2, 'split: stage count must be a positive integer (got 0)'],
    ['fractional stages', { stages: 1.5 }, 2, 'split: stage count must be a positive integer (got 1.5)'],
    [
      'overlapping ranges',
      {
        ranges: [
          [0, 2],
          [2, 3],
        ],
      },
      4,
      'split: stage 1 range [2, 3] overlaps stage 0 (which ends at layer 2)',
    ],
    [
      'a gap',
      {
        ranges: [
          [0, 0],
          [2, 3],
        ],
      },
      4,
      'split: layers 1..1 are in no stage (stage 1 starts at 2)',
    ],
    ['not starting at 0', { ranges: [[1, 3]] }, 4, 'split: layers 0..0 are in no stage (stage 0 starts at 1)'],
    ['missing the last layers', { ranges: [[0, 1]] }, 4, 'split: layers 2..3 are in no stage'],
    ['past the last layer', { ranges: [[0, 4]] }, 4, 'split: stage 0 range [0, 4] goes past the last layer 3'],
    ['reversed', { ranges: [[2, 1]] }, 4, 'split: stage 0 range [2, 1] ends before it starts'],
    ['negative', { ranges: [[-1, 1]] }, 4, 'split: stage 0 range [-1, 1] is not a pair of layer indices'],
    ['empty', { ranges: [] }, 4, 'split: no stage ranges given'],
  ];
  it.each(bad)('rejects %s', (_label, plan, layers, message) => {
    let err: unknown;
    try {
      resolveSplitPlan(plan, layers);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe(message);
  });
});
