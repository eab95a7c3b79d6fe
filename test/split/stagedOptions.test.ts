// `--stages` text: counts, explicit ranges with device and threads, round trip from a scenario's stages,
// and the exact error for each malformed value.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { formatStagesOption, parseStagesOption } from '../../src/engine/staged/stagedOptions.js';

describe('parseStagesOption', () => {
  it('reads a stage count', () => {
    expect(parseStagesOption('3')).toEqual({ plan: { stages: 3 }, stages: [] });
  });

  it('reads ranges with optional device and threads', () => {
    expect(parseStagesOption('0-1@cpu/2, 2-3@cuda:1, 4-4/3,5-7')).toEqual({
      plan: {
        ranges: [
          [0, 1],
          [2, 3],
          [4, 4],
          [5, 7],
        ],
      },
      stages: [{ device: 'cpu', intraOpNumThreads: 2 }, { device: 'cuda:1' }, { intraOpNumThreads: 3 }, {}],
    });
  });

  it('round-trips a scenario layout', () => {
    const layout = [
      { firstLayer: 0, lastLayer: 5, device: 'cpu', threads: 2 },
      { firstLayer: 6, lastLayer: 11, device: 'cuda:0', threads: 1 },
    ];
    const text = formatStagesOption(layout);
    expect(text).toBe('0-5@cpu/2,6-11@cuda:0/1');
    expect(parseStagesOption(text).stages).toEqual([
      { device: 'cpu', intraOpNumThreads: 2 },
      { device: 'cuda:0', intraOpNumThreads: 1 },
    ]);
  });

  it.each([
    ['0', '--stages: must be at least 1, got 0'],
    ['0-1,x', '--stages: stage 1 "x" is not FIRST-LAST[@DEVICE][/THREADS]'],
    ['0-1@tpu', '--stages: stage 0 "0-1@tpu" is not FIRST-LAST[@DEVICE][/THREADS]'],
    ['0-1/0', '--stages: stage 0 threads must be at least 1'],
    ['0-1;2-3', '--stages: stage 0 "0-1;2-3" is not FIRST-LAST[@DEVICE][/THREADS]'],
  ])('rejects %s', (text, message) => {
    expect(() => parseStagesOption(text)).toThrow(UsageError);
    expect(() => parseStagesOption(text)).toThrow(message);
  });
});
