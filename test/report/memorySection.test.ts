// report.md's memory section: every server's breakdown, a total per multi-server pipeline, and each variant's
// servers against the baseline's, per replica and in total.
import { describe, expect, it } from 'vitest';
import { memorySection, sumBreakdowns } from '../../src/report/memorySection.js';
import type { MemoryBreakdown } from '../../src/types.js';
import { generateStudyResult } from '../fixtures/generateResult.js';

const MIB = 1024 * 1024;
function bd(peakMiB: number, weightsMiB: number): MemoryBreakdown {
  return {
    rssBytes: (peakMiB - 10) * MIB,
    peakRssBytes: peakMiB * MIB,
    loadPeakRssBytes: (peakMiB - 20) * MIB,
    runtimeBytes: 80 * MIB,
    weightFileBytes: weightsMiB * MIB,
    weightsMappedBytes: 10 * MIB,
    weightCopiesBytes: weightsMiB * MIB,
    kvAllocatedBytes: 36 * MIB,
    kvInUseBytes: 0,
    ortRunBytes: 20 * MIB,
    jsHeapGrowthBytes: 2 * MIB,
    jsBuffersBytes: 0,
    otherBytes: (peakMiB - 10 - 80 - 10 - weightsMiB - 36 - 20 - 2) * MIB,
    replicas: 1,
  };
}

describe('memorySection', () => {
  it('is empty when no pipeline measured a breakdown', () => {
    expect(memorySection(generateStudyResult())).toBe('');
  });

  it('lists each server, totals multi-server pipelines and compares with the baseline per replica and in total', () => {
    const result = generateStudyResult();
    const [base, variant] = result.pipelines;
    if (!base || !variant) throw new Error('fixture has two pipelines');
    base.memoryBreakdown = [{ process: 'replica-0', breakdown: bd(1000, 622) }];
    variant.memoryBreakdown = [
      { process: 'replica-0', breakdown: bd(300, 122) },
      { process: 'replica-1', breakdown: bd(200, 122) },
    ];
    const md = memorySection(result);
    expect(md).toContain('## Memory per server process');
    // 500 MiB vs 1000 MiB in total (-50%); per replica 250 vs 1000 (-75%).
    expect(md).toContain(`- **${variant.name}** vs ${base.name}: servers' peak RSS 500.0 MiB vs 1000.0 MiB (-50.0%) in total, 250.0 MiB vs 1000.0 MiB (-75.0%) per replica (2 vs 1 replicas); by part, in total: `);
    // Where the 500 MiB went: weights 2 x 132 vs 632 (-368); a second runtime, KV, onnxruntime runs, JS heap and
    // peak-above-RSS (+80, +36, +20, +2, +10); other -60 vs 220 (-280). They add up to the -500 MiB.
    const clause = (md.split('\n').find((l) => l.startsWith(`- **${variant.name}**`)) ?? '').split('by part, in total: ')[1] ?? '';
    expect(clause.split(', ')[0]).toBe('weights (mapped + copies) -368.0 MiB');
    expect(clause).toContain('runtime +80.0 MiB');
    expect(clause).toContain('KV allocated +36.0 MiB');
    const sum = clause.split(', ').reduce((a, part) => {
      const m = /([+-])([\d.]+) MiB$/.exec(part);
      return a + (m ? (m[1] === '-' ? -1 : 1) * Number(m[2]) : 0);
    }, 0);
    expect(sum).toBeCloseTo(-500, 5);
    const rows = md.split('\n').filter((l) => l.startsWith(`| ${variant.name} |`));
    expect(rows.map((r) => r.split('|')[2]?.trim())).toEqual(['replica-0', 'replica-1', '**total**']);
    expect(rows[2]).toContain('| 500.0 MiB |');
    expect(sumBreakdowns([bd(300, 122), bd(200, 122)]).kvAllocatedBytes).toBe(72 * MIB);
  });

  it('a shared-weight process is one row holding several replicas; per replica divides its peak by them', () => {
    const result = generateStudyResult();
    const [base, variant] = result.pipelines;
    if (!base || !variant) throw new Error('fixture has two pipelines');
    base.memoryBreakdown = [{ process: 'replica-0', breakdown: bd(1000, 622) }];
    variant.memoryBreakdown = [{ process: 'replica-0+replica-1', breakdown: { ...bd(400, 122), replicas: 2 } }];
    const md = memorySection(result);
    // One process: 400 MiB in total (-60%), 200 MiB per replica (-80%).
    expect(md).toContain(`- **${variant.name}** vs ${base.name}: servers' peak RSS 400.0 MiB vs 1000.0 MiB (-60.0%) in total, 200.0 MiB vs 1000.0 MiB (-80.0%) per replica (2 vs 1 replicas)`);
    const rows = md.split('\n').filter((l) => l.startsWith(`| ${variant.name} |`));
    expect(rows.map((r) => [r.split('|')[2]?.trim(), r.split('|')[3]?.trim()])).toEqual([['replica-0+replica-1', '2']]);
  });
});
