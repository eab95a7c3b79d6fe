// bench:memory's renderer: each row against its target, and how far the breakdown's parts are from RSS.
import { describe, expect, it } from 'vitest';
import { breakdownError, renderMemoryBench, rowVerdict } from '../../src/bench/memoryBenchReport.js';
import type { MemoryBenchRow } from '../../src/bench/memoryBench.js';
import type { MemoryBreakdown } from '../../src/types.js';

const MIB = 1024 * 1024;
function bd(rssMiB: number, otherMiB: number, peakMiB = rssMiB): MemoryBreakdown {
  return {
    rssBytes: rssMiB * MIB,
    peakRssBytes: peakMiB * MIB,
    loadPeakRssBytes: 280 * MIB,
    runtimeBytes: 75 * MIB,
    weightFileBytes: 122 * MIB,
    weightsMappedBytes: 53 * MIB,
    weightCopiesBytes: 100 * MIB,
    kvAllocatedBytes: 36 * MIB,
    kvInUseBytes: 0,
    ortRunBytes: (rssMiB - 75 - 153 - 36 - otherMiB) * MIB,
    jsHeapGrowthBytes: 0,
    jsBuffersBytes: 0,
    otherBytes: otherMiB * MIB,
    replicas: 1,
  };
}
const row = (atPeakKv: MemoryBreakdown, end: MemoryBreakdown, targetMiB: number): MemoryBenchRow => ({ label: 'int4', streams: 1, outputTokens: 64, tokensPerSecond: 7.25, processes: 1, atPeakKv, end, targetBytes: targetMiB * MIB });

describe('bench:memory report', () => {
  it('prints the breakdown sum against RSS for the worse snapshot, and flags a row over 10%', () => {
    const ok = row(bd(320, 6), bd(300, -12, 330), 332);
    expect(breakdownError(ok).share).toBeCloseTo(12 / 300, 6);
    expect(rowVerdict(ok)).toEqual({ meetsTarget: true, addsUp: true });
    const md = renderMemoryBench([ok], 150 * MIB);
    expect(md).toContain('| int4 | 1 | 122.0 MiB | 36.0 MiB | 330.0 MiB | 332.0 MiB | yes | 312.0 MiB / 300.0 MiB (+4.0%) | yes | 7.3 |');

    const off = row(bd(600, 66), bd(580, 10, 610), 584);
    expect(rowVerdict(off)).toEqual({ meetsTarget: false, addsUp: false });
    expect(renderMemoryBench([off], 150 * MIB)).toContain('| NO | 534.0 MiB / 600.0 MiB (-11.0%) | NO |');
  });
});
