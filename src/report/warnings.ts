// Validity warnings: what a reader must know before trusting any number below them.
import { describePlacement } from '../engine/placementLog.js';
import type { PipelineResult, ResultFile } from '../types.js';
import { invalidReasonsText } from './invalidReasons.js';

function workloadField(result: ResultFile, key: string): unknown {
  const w = result.scenario['workload'];
  return w !== null && typeof w === 'object' ? (w as Record<string, unknown>)[key] : undefined;
}

/** Output counts that did not come from the server's usage: how many, and how they were had. */
export function estimatedCounts(p: PipelineResult): string | null {
  const src = p.summary.outputTokenSources;
  if (!src || src.tokenizer + src.none === 0) return null;
  const parts: string[] = [];
  if (src.tokenizer > 0) parts.push(`${src.tokenizer} counted with a local tokenizer`);
  if (src.none > 0) parts.push(`${src.none} not counted at all`);
  return `${parts.join(', ')} (the server sent no usage)`;
}

/** Lines about how the workload met the servers: prompt reuse, estimated counts, requested vs delivered lengths. */
function workloadWarnings(result: ResultFile): string[] {
  const out: string[] = [];
  const reuse = workloadField(result, 'reusePrompts') === true;
  for (const p of result.pipelines) {
    const s = p.summary;
    const resent = s.resentPrompts ?? 0;
    if (resent > 0) {
      const why = reuse ? 'workload.reusePrompts is on' : 'the workload repeats prompts';
      out.push(`${p.name}: ${resent} requests re-sent a prompt already sent in the same run (${why}); a server prompt cache can answer them faster than new traffic.`);
    }
    if (p.autocannon && !reuse) {
      out.push(`${p.name}: the autocannon driver cycles through the workload's built prompts, so prompts repeat whatever workload.reusePrompts says.`);
    }
    const est = estimatedCounts(p);
    if (est) out.push(`${p.name}: output token counts estimated for some requests: ${est}; token metrics are estimates.`);
    if (workloadField(result, 'fixedOutput') === true && (s.stoppedEarly ?? 0) > 0) {
      out.push(`${p.name}: workload.fixedOutput asked for exactly max_tokens, but ${s.stoppedEarly} requests stopped early: the server ignores ignore_eos/min_tokens.`);
    }
  }
  if (workloadField(result, 'kind') === 'synthetic' && result.scenario['workloadTokenizer'] === null) {
    out.push('Prompt lengths are estimated (0.75 words per token): no tokenizer was available; set target.tokenizer to a tokenizer.json or model folder.');
  }
  // Pipelines that share an external server share its prompt cache too.
  const byUrl = new Map<string, string[]>();
  for (const p of result.pipelines) {
    const t = (p.spec as { kind?: unknown; target?: { url?: unknown } }).target;
    if ((p.spec as { kind?: unknown }).kind === 'external' && typeof t?.url === 'string') byUrl.set(t.url, [...(byUrl.get(t.url) ?? []), p.name]);
  }
  for (const [url, names] of byUrl) {
    if (names.length > 1 || result.repeats > 1) {
      out.push(`${names.join(', ')} sent the same prompts to ${url}${result.repeats > 1 ? ` (${result.repeats} repeats)` : ''}: a server with prefix caching (vLLM, SGLang) may favour whatever ran later.`);
    }
  }
  return out;
}

/** Warnings for a result, most serious first. */
export function validityWarnings(result: ResultFile): string[] {
  const out: string[] = [];
  if (!result.complete) out.push('Run incomplete: it was interrupted or failed part-way; numbers cover what finished.');
  if (!result.pipelines.some((p) => p.baseline) && result.pipelines[0]) {
    out.push(`No pipeline is marked baseline; comparing against the first one ("${result.pipelines[0].name}").`);
  }
  for (const p of result.pipelines) {
    const s = p.summary;
    if (!s.valid) out.push(`INVALID ${p.name}: ${invalidReasonsText(s.invalidReasons)}`);
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
  out.push(...workloadWarnings(result));
  out.push(...placementWarnings(result));
  return out;
}

/** Pipelines asked to run on a GPU provider where onnxruntime put some nodes on the CPU (from its own log). */
function placementWarnings(result: ResultFile): string[] {
  const out: string[] = [];
  for (const p of result.pipelines) {
    for (const { process, placement } of p.placement ?? []) {
      if (placement.cpuFallbackNodes === 0) continue;
      out.push(`${p.name} (${process}): ${describePlacement(placement)}; its timings include CPU work and device-to-host copies (serve --no-cpu-fallback refuses such a model).`);
    }
  }
  return out;
}
