// Words for the reasons a measurement is INVALID (stats/summarize.ts returns them as data).
import type { InvalidReason } from '../types.js';

/** One reason as a sentence fragment, e.g. "40.0% of requests failed (limit 5%)". */
export function invalidReasonText(r: InvalidReason): string {
  switch (r.kind) {
    case 'no-requests':
      return 'no measured requests';
    case 'none-answered':
      return 'no request completed successfully';
    case 'failed-share':
      return `${(r.share * 100).toFixed(1)}% of requests failed (limit ${(r.limit * 100).toFixed(0)}%)`;
    case 'schedule-lag':
      return `load generator fell behind its schedule: p95 dispatch lag ${r.p95LagMs.toFixed(1)} ms (limit ${r.limitMs.toFixed(1)} ms)`;
    case 'client-cpu':
      return `load generator CPU at ${r.cpuPct.toFixed(0)}% of a core (limit ${r.limitPct}%): the client, not the server, may have been the bottleneck`;
    case 'shard':
      return `shard ${r.shard}: ${invalidReasonText(r.reason)}`;
    case 'text':
      return r.text;
  }
}

/** All reasons joined, or what to say when a pipeline was marked invalid without one. */
export function invalidReasonsText(reasons: readonly InvalidReason[]): string {
  return reasons.length > 0 ? reasons.map(invalidReasonText).join('; ') : 'marked invalid by the run';
}
