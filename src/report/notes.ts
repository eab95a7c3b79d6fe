// What the workload looked like on arrival, per pipeline: output lengths asked for vs delivered, prompt tokens as
// the server counted them vs the workload's own count, and time to the first answer token beside TTFT. Facts a
// reader needs to compare pipelines fairly, not warnings.
import type { ResultFile } from '../types.js';
import { formatValue } from './format.js';

const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** One line per finding; empty when there is nothing beyond the tables. */
export function workloadNotes(result: ResultFile): string[] {
  const out: string[] = [];
  for (const p of result.pipelines) {
    const s = p.summary;
    const okRequests = s.counts.ok;
    const len = s.outputLength;
    if (len && len.requested > 0 && okRequests > 0) {
      const pct = (len.delivered / len.requested) * 100;
      out.push(`${p.name}: output tokens per request ${num(len.delivered / okRequests)} delivered of ${num(len.requested / okRequests)} requested (${pct.toFixed(1)}%)${s.stoppedEarly ? `; ${s.stoppedEarly} requests stopped before max_tokens` : ''}.`);
    }
    const pm = s.promptTokensMean;
    if (pm && pm.server !== null && pm.client !== null && Math.abs(pm.server - pm.client) >= 0.5) {
      out.push(`${p.name}: prompt tokens per request ${num(pm.server)} as the server counted them (usage) vs ${num(pm.client)} in the workload's tokenizer (a chat template or another tokenizer adds the difference).`);
    }
    const a = s.answerTtftMs;
    const t = s.ttftMs;
    if (a && a.p50 !== null && t.p50 !== null && Math.abs(a.p50 - t.p50) > 1e-6) {
      out.push(`${p.name}: time to first answer token p50 ${formatValue(a.p50, 'ms')} vs TTFT p50 ${formatValue(t.p50, 'ms')}: reasoning or tool-call tokens came first.`);
    }
  }
  return out;
}
