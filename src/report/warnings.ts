// Validity warnings: what a reader must know before trusting any number below them.
import type { ResultFile } from '../types.js';

/** Warnings for a result, most serious first. */
export function validityWarnings(result: ResultFile): string[] {
  const out: string[] = [];
  if (!result.complete) out.push('Run incomplete: it was interrupted or failed part-way; numbers cover what finished.');
  if (!result.pipelines.some((p) => p.baseline) && result.pipelines[0]) {
    out.push(`No pipeline is marked baseline; comparing against the first one ("${result.pipelines[0].name}").`);
  }
  for (const p of result.pipelines) {
    const s = p.summary;
    if (!s.valid) out.push(`INVALID ${p.name}: ${s.invalidReasons.join('; ') || 'marked invalid by the run'}`);
    if (!p.complete) out.push(`${p.name}: incomplete${p.error ? ` (${p.error})` : ''}`);
    else if (p.error) out.push(`${p.name}: ${p.error}`);
    const failed = s.counts.error + s.counts.timeout;
    if (failed > 0) {
      const pct = ((failed / Math.max(1, s.counts.total)) * 100).toFixed(1);
      const answers = s.fallback ? 'answered requests (primary and fallback)' : 'ok requests';
      out.push(`${p.name}: ${failed} of ${s.counts.total} requests failed (${pct}%: ${s.counts.error} errors, ${s.counts.timeout} timeouts); latency uses ${answers} only.`);
    }
    if (s.tokenCountMismatches > 0) {
      out.push(`${p.name}: ${s.tokenCountMismatches} requests where the server's usage count and the tokenizer's count differ.`);
    }
    if (s.valid && s.load.intendedRate !== null && s.load.achievedRate < 0.9 * s.load.intendedRate) {
      out.push(`${p.name}: achieved ${s.load.achievedRate.toFixed(2)} req/s of the intended ${s.load.intendedRate.toFixed(2)} req/s.`);
    }
    if (p.autocannon) {
      out.push(`${p.name}: measured with autocannon (aggregate histograms, response latency only): no TTFT/TPOT, no confidence intervals.`);
    } else if (s.counts.total > 0 && p.samples.length === 0) {
      out.push(`${p.name}: no per-request samples stored, so no confidence intervals or significance tests.`);
    }
  }
  return out;
}
