// report.md's memory section (pure): each pipeline's server processes with the breakdown each measured inside
// itself, a total per pipeline, and every variant's servers against the baseline's, per replica and in total.
import type { MemoryBreakdown, PipelineResult, ResultFile } from '../types.js';
import { formatBytes, formatPct } from './format.js';
import { breakdownTable, BREAKDOWN_LEGEND } from './memoryBreakdown.js';

/** Part-wise sum of several processes' breakdowns (peaks are summed too: each process's own peak). */
export function sumBreakdowns(list: readonly MemoryBreakdown[]): MemoryBreakdown {
  const sum = (f: (b: MemoryBreakdown) => number): number => list.reduce((a, b) => a + f(b), 0);
  return {
    rssBytes: sum((b) => b.rssBytes),
    peakRssBytes: sum((b) => b.peakRssBytes),
    loadPeakRssBytes: sum((b) => b.loadPeakRssBytes),
    runtimeBytes: sum((b) => b.runtimeBytes),
    weightFileBytes: sum((b) => b.weightFileBytes),
    weightsMappedBytes: sum((b) => b.weightsMappedBytes),
    weightCopiesBytes: sum((b) => b.weightCopiesBytes),
    kvAllocatedBytes: sum((b) => b.kvAllocatedBytes),
    kvInUseBytes: sum((b) => b.kvInUseBytes),
    ortRunBytes: sum((b) => b.ortRunBytes),
    jsHeapGrowthBytes: sum((b) => b.jsHeapGrowthBytes),
    jsBuffersBytes: sum((b) => b.jsBuffersBytes),
    otherBytes: sum((b) => b.otherBytes),
    replicas: sum((b) => b.replicas),
  };
}

function servers(p: PipelineResult): MemoryBreakdown[] {
  return (p.memoryBreakdown ?? []).map((m) => m.breakdown);
}

/** The breakdown's parts, grouped as the difference between two pipelines is explained. */
const PART_GROUPS: ReadonlyArray<readonly [string, (b: MemoryBreakdown) => number]> = [
  ['weights (mapped + copies)', (b) => b.weightsMappedBytes + b.weightCopiesBytes],
  ['KV allocated', (b) => b.kvAllocatedBytes],
  ['runtime', (b) => b.runtimeBytes],
  ['onnxruntime runs', (b) => b.ortRunBytes],
  ['JS heap + buffers', (b) => b.jsHeapGrowthBytes + b.jsBuffersBytes],
  ['other', (b) => b.otherBytes],
  // Peak RSS is the sum of the parts (RSS at the snapshot) and how far the high-water mark rose above it.
  ['peak above RSS', (b) => b.peakRssBytes - b.rssBytes],
];

/**
 * Where two pipelines' total peak RSS differs, part by part, largest difference first (parts under 1 MiB left
 * out): the parts add up to the difference in peak RSS.
 */
function differenceByPart(t: MemoryBreakdown, base: MemoryBreakdown): string {
  const parts = PART_GROUPS.map(([name, f]) => ({ name, delta: f(t) - f(base) }))
    .filter((p) => Math.abs(p.delta) >= 1024 * 1024)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
  if (parts.length === 0) return 'no part differs by 1 MiB or more';
  return parts.map((p) => `${p.name} ${p.delta > 0 ? '+' : '-'}${formatBytes(Math.abs(p.delta))}`).join(', ');
}

/** One line per variant: servers' summed peak RSS vs the baseline's, per replica and in total, and where it differs. */
function comparisonLines(result: ResultFile): string[] {
  const base = result.pipelines.find((p) => p.baseline);
  const baseList = base ? servers(base) : [];
  if (!base || baseList.length === 0) return [];
  const baseTotal = sumBreakdowns(baseList);
  const perReplica = (b: MemoryBreakdown): number => b.peakRssBytes / Math.max(1, b.replicas);
  return result.pipelines
    .filter((p) => !p.baseline && servers(p).length > 0)
    .map((p) => {
      const t = sumBreakdowns(servers(p));
      const change = (v: number, ref: number): string => (ref > 0 ? formatPct((100 * (v - ref)) / ref) : 'n/a');
      return (
        `- **${p.name}** vs ${base.name}: servers' peak RSS ${formatBytes(t.peakRssBytes)} vs ${formatBytes(baseTotal.peakRssBytes)} ` +
        `(${change(t.peakRssBytes, baseTotal.peakRssBytes)}) in total, ${formatBytes(perReplica(t))} vs ${formatBytes(perReplica(baseTotal))} ` +
        `(${change(perReplica(t), perReplica(baseTotal))}) per replica (${t.replicas} vs ${baseTotal.replicas} replicas); ` +
        `by part, in total: ${differenceByPart(t, baseTotal)}`
      );
    });
}

/** The section, or '' when no pipeline has a breakdown (external targets, or not Linux). */
export function memorySection(result: ResultFile): string {
  const rows: Array<{ lead: string[]; breakdown: MemoryBreakdown }> = [];
  for (const p of result.pipelines) {
    const list = p.memoryBreakdown ?? [];
    for (const m of list) rows.push({ lead: [p.name, m.process, String(m.breakdown.replicas)], breakdown: m.breakdown });
    if (list.length > 1) rows.push({ lead: [p.name, '**total**', String(sumBreakdowns(list.map((m) => m.breakdown)).replicas)], breakdown: sumBreakdowns(list.map((m) => m.breakdown)) });
  }
  if (rows.length === 0) return '';
  const lines = comparisonLines(result);
  return [
    '## Memory per server process',
    '',
    ...(lines.length > 0 ? [...lines, ''] : []),
    breakdownTable(rows, ['Pipeline', 'process', 'replicas']),
    '',
    `${BREAKDOWN_LEGEND} Taken just before each pipeline stopped (last repeat). The overview's peak RSS is sampled by ` +
      'llmbench from outside while the load ran (servers, balancer and nginx together, loading excluded); peak RSS here is ' +
      "each server's own high-water mark, loading included, summed over a pipeline's servers.",
  ].join('\n');
}
