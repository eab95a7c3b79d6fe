// The quantize peak-RSS table of bench:quant: limits, differences and the verdict column from given rows.
import { describe, expect, it } from 'vitest';
import { renderQuantizeRssTable } from '../../src/bench/quantizeRss.js';

const MiB = 2 ** 20;

describe('renderQuantizeRssTable', () => {
  it('compares each peak with model size + 500 MB and says NO when it is over', () => {
    const rows = [
      { step: 'quantize --method int8', command: 'node x', modelBytes: 622 * MiB, peakRssBytes: 337 * MiB, elapsedMs: 1 },
      { step: 'split into 2 stages', command: 'node y', modelBytes: 100 * MiB, peakRssBytes: 100 * MiB + 500e6, elapsedMs: 1 },
    ];
    const lines = renderQuantizeRssTable(rows).split('\n');
    expect(lines[2]).toBe('| quantize --method int8 | 622.0 MiB | 337.0 MiB | 1098.8 MiB | -285.0 MiB | yes |');
    expect(lines[3]).toBe('| split into 2 stages | 100.0 MiB | 576.8 MiB | 576.8 MiB | 476.8 MiB | NO |');
  });
});
