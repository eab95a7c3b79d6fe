// Renders `npm run bench:memory` (pure): each server's peak RSS against its target, then the breakdowns.
import { formatBytes } from '../report/format.js';
import { breakdownTable, BREAKDOWN_LEGEND, unexplainedShare } from '../report/memoryBreakdown.js';
import { mdTable } from '../report/mdTable.js';
import type { MemoryBenchRow } from './memoryBench.js';

/** Whether a row meets the target and its breakdown explains at least 90% of RSS. */
export function rowVerdict(r: MemoryBenchRow): { meetsTarget: boolean; addsUp: boolean } {
  return { meetsTarget: r.end.peakRssBytes <= r.targetBytes, addsUp: unexplainedShare(r.atPeakKv) <= 0.1 && unexplainedShare(r.end) <= 0.1 };
}

/** The breakdown's named parts summed (RSS less `other`) against RSS, for the snapshot that explains RSS worst. */
export function breakdownError(r: MemoryBenchRow): { namedBytes: number; rssBytes: number; share: number } {
  const worst = unexplainedShare(r.end) >= unexplainedShare(r.atPeakKv) ? r.end : r.atPeakKv;
  const namedBytes = worst.rssBytes - worst.otherBytes;
  return { namedBytes, rssBytes: worst.rssBytes, share: worst.rssBytes > 0 ? (namedBytes - worst.rssBytes) / worst.rssBytes : 0 };
}

/** The summary table, the breakdown table and the legend. */
export function renderMemoryBench(rows: readonly MemoryBenchRow[], slackBytes: number): string {
  const summary = mdTable(
    ['server', 'streams', 'weights on disk', 'KV allocated (max)', 'peak RSS', `target (1.2 x weights + KV + ${formatBytes(slackBytes)})`, 'meets target', 'breakdown sum / RSS (worst snapshot)', 'within 10%', 'output tok/s'],
    rows.map((r) => {
      const v = rowVerdict(r);
      const e = breakdownError(r);
      return [
        r.label,
        String(r.streams),
        formatBytes(r.end.weightFileBytes),
        formatBytes(Math.max(r.atPeakKv.kvAllocatedBytes, r.end.kvAllocatedBytes)),
        formatBytes(r.end.peakRssBytes),
        formatBytes(r.targetBytes),
        v.meetsTarget ? 'yes' : 'NO',
        `${formatBytes(e.namedBytes)} / ${formatBytes(e.rssBytes)} (${e.share >= 0 ? '+' : ''}${(100 * e.share).toFixed(1)}%)`,
        v.addsUp ? 'yes' : 'NO',
        r.tokensPerSecond.toFixed(1),
      ];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'l', 'r'],
  );
  const breakdowns = breakdownTable(
    rows.flatMap((r) => [
      { lead: [r.label, String(r.streams), 'largest KV'], breakdown: r.atPeakKv },
      { lead: [r.label, String(r.streams), 'end'], breakdown: r.end },
    ]),
    ['server', 'streams', 'when'],
  );
  return `${summary}\n\n${breakdowns}\n\n${BREAKDOWN_LEGEND}\n`;
}
