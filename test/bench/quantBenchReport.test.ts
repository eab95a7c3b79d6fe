// Pure parts of bench:quant: medians over child runs and the ratios in the table.
import { describe, expect, it } from 'vitest';
import type { BenchChildResult } from '../../src/bench/quantBenchChild.js';
import { renderBenchTable, summarizeVariant } from '../../src/bench/quantBenchReport.js';
import { median } from '../../src/stats/quantile.js';

const child = (decode: number[], peakMb: number, rssMb: number): BenchChildResult => ({
  dir: '/m',
  sessionCreateMs: 100,
  prefillMs: [50, 70],
  decodeMsPerTokenB1: decode,
  decodeStepMsBatch: decode.map((d) => d * 2),
  rssAfterLoadBytes: rssMb * 1e6,
  rssEndBytes: rssMb * 1e6,
  peakRssBytes: peakMb * 1e6,
});

describe('bench:quant summary', () => {
  it('median of odd and even lists, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('pools per-token times over children and reports ratios against the first row', () => {
    const fp32 = summarizeVariant('fp32', '/a', 650e6, 650e6, [child([100, 120], 2000, 900), child([110], 2200, 1000)], null);
    const int4 = summarizeVariant('int4', '/b', 100e6, 100e6, [child([40, 44], 500, 300), child([42], 520, 310)], null);
    expect(fp32.decodeMsPerTokenB1).toBe(110);
    expect(fp32.peakRssBytes).toBe(2100e6);
    expect(int4.decodeMsPerTokenB1).toBe(42);
    const table = renderBenchTable([fp32, int4], 8, 128).split('\n');
    expect(table[0]).toContain('| decode ms/tok b1 | b1 speedup | decode ms/step b8 | tok/s b8 |');
    const row = table[3]?.split('|').map((c) => c.trim()) ?? [];
    expect(row[1]).toBe('int4');
    expect(row[7]).toBe('2.62x'); // 110 / 42
    expect(row[9]).toBe('95.2'); // 8 tokens per 84 ms step
    expect(row[13]).toBe('32%'); // steady RSS 305 / 950
    expect(row[14]).toBe('24%'); // peak RSS 510 / 2100
  });
});
