// Renders server memory breakdowns (pure): the parts a server measured inside itself, and how much of its RSS
// they leave unexplained.
import type { MemoryBreakdown } from '../types.js';
import { formatBytes } from './format.js';
import { mdTable } from './mdTable.js';

/** Column heads of one breakdown row, after the caller's own leading columns. */
export const BREAKDOWN_HEAD = ['RSS', 'peak RSS (VmHWM)', 'load peak', 'runtime', 'weights mapped', 'weight copies', 'KV allocated', 'KV in use', 'onnxruntime runs', 'JS heap growth', 'JS buffers', 'other'];

/** Share of RSS the named parts leave unexplained (|other| / RSS). */
export function unexplainedShare(b: MemoryBreakdown): number {
  return b.rssBytes > 0 ? Math.abs(b.otherBytes) / b.rssBytes : 0;
}

/** The cells of one breakdown, in BREAKDOWN_HEAD order. */
export function breakdownCells(b: MemoryBreakdown): string[] {
  return [
    formatBytes(b.rssBytes),
    formatBytes(b.peakRssBytes),
    formatBytes(b.loadPeakRssBytes),
    formatBytes(b.runtimeBytes),
    formatBytes(b.weightsMappedBytes),
    formatBytes(b.weightCopiesBytes),
    formatBytes(b.kvAllocatedBytes),
    formatBytes(b.kvInUseBytes),
    formatBytes(b.ortRunBytes),
    formatBytes(b.jsHeapGrowthBytes),
    formatBytes(b.jsBuffersBytes),
    `${formatBytes(b.otherBytes)} (${(100 * unexplainedShare(b)).toFixed(1)}%)`,
  ];
}

/** What each column means (printed under every breakdown table). */
export const BREAKDOWN_LEGEND =
  'Measured inside each server process (Linux /proc/self/status, V8, the engine\'s KV arrays): runtime = RSS before the model ' +
  'loaded; weights mapped / weight copies = file-backed / anonymous RSS gained while loading (after a full GC); KV allocated = ' +
  'the KV arrays held at that moment (zero-filled, so resident); onnxruntime runs = net RSS change across its runs since load, ' +
  'less the part of each run\'s change that the JS side\'s change inside it accounts for (arena, intermediates); JS heap growth / JS buffers = V8 heap / ArrayBuffer bytes now ' +
  'minus before the load (buffers include onnxruntime-node\'s output copies until collected); other = RSS minus all of these ' +
  '(its share of RSS in brackets). Peak RSS is the kernel\'s high-water mark ' +
  'since the process started, load included; load peak is that mark right after loading.';

/** A markdown table of breakdowns, one row per process. */
export function breakdownTable(rows: ReadonlyArray<{ lead: string[]; breakdown: MemoryBreakdown }>, leadHead: string[]): string {
  return mdTable([...leadHead, ...BREAKDOWN_HEAD], rows.map((r) => [...r.lead, ...breakdownCells(r.breakdown)]), [...leadHead.map(() => 'l' as const), ...BREAKDOWN_HEAD.map(() => 'r' as const)]);
}
