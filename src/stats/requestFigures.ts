// The per-request part of a pipeline summary, computed from columns (stats/sampleColumns.ts) in a few passes with
// typed scratch arrays: no object per request, so a million-request run summarizes in bounded extra memory.
// Rules as in DESIGN.md: warm-up excluded (except for resent prompts), time to an answer counts fallbacks, token
// pace and throughput count the primary's answers only.
import type { Distribution, FallbackSummary, PipelineSummary, ReplicaSummary } from '../types.js';
import { distributionOfTyped } from './distribution.js';
import { FALLBACK, OK, SampleColumns, TIMEOUT, ERROR } from './sampleColumns.js';
import type { SloLimits } from './summarize.js';

const SOURCES = ['usage', 'tokenizer', 'none'] as const;

/** What the summary takes from the requests themselves. */
export interface RequestFigures {
  counts: PipelineSummary['counts'];
  answered: number;
  outputTokens: number;
  /** Ok requests meeting every SLO limit (0 without SLOs). */
  metSlo: number;
  tokenCountMismatches: number;
  retries: number;
  ttftMs: Distribution;
  tpotMs: Distribution;
  e2eMs: Distribution;
  answerTtftMs: Distribution;
  outputTokenSources: { usage: number; tokenizer: number; none: number };
  stoppedEarly: number;
  promptTokensMean: { server: number | null; client: number | null };
  outputLength: { requested: number; delivered: number };
  fallback: FallbackSummary | undefined;
}

/** Values of a column at the rows `keep` accepts, skipping NaN (null). */
function pick(c: SampleColumns, values: Float64Array, keep: (i: number) => boolean): Distribution {
  const out = new Float64Array(c.length);
  let k = 0;
  for (let i = 0; i < c.length; i++) {
    const v = values[i] as number;
    if (keep(i) && !Number.isNaN(v)) out[k++] = v;
  }
  return distributionOfTyped(out, k);
}

/** True when ok row i meets every SLO limit. A non-streamed response's first token is its last. */
function rowMeetsSlo(c: SampleColumns, i: number, slo: SloLimits): boolean {
  const { ttftMs, tpotMs, e2eMs } = c.f64;
  const e2e = e2eMs[i] as number;
  const ttft = Number.isNaN(ttftMs[i]) ? e2e : (ttftMs[i] as number);
  if (slo.ttftMs !== null && ttft > slo.ttftMs) return false;
  if (slo.tpotMs !== null && !Number.isNaN(tpotMs[i]) && (tpotMs[i] as number) > slo.tpotMs) return false;
  if (slo.e2eMs !== null && e2e > slo.e2eMs) return false;
  return true;
}

export function requestFigures(c: SampleColumns, slo: SloLimits | null): RequestFigures {
  const counts = { total: 0, ok: 0, error: 0, timeout: 0 };
  const sources = { usage: 0, tokenizer: 0, none: 0 };
  let answered = 0;
  let outputTokens = 0;
  let metSlo = 0;
  let mismatches = 0;
  let retries = 0;
  let stoppedEarly = 0;
  let fallbacks = 0;
  const prompt = { n: 0, server: 0, client: 0 };
  const outputLength = { requested: 0, delivered: 0 };
  const n = c.i32;
  for (let i = 0; i < c.length; i++) {
    if (c.warmup[i] === 1) continue;
    counts.total++;
    const st = c.status[i] as number;
    if (st === ERROR) counts.error++;
    else if (st === TIMEOUT) counts.timeout++;
    else if (st === FALLBACK) fallbacks++;
    if (c.mismatches.has(i)) mismatches++;
    if ((n.retries[i] as number) > 0) retries += n.retries[i] as number;
    if (st === OK || st === FALLBACK) answered++;
    if (st !== OK) continue;
    counts.ok++;
    outputTokens += n.outputTokens[i] as number;
    if (slo && rowMeetsSlo(c, i, slo)) metSlo++;
    sources[SOURCES[c.source[i] as number] as keyof typeof sources]++;
    const finish = c.text('finishReason', i);
    if (finish !== null && finish !== 'length') stoppedEarly++;
    if ((n.promptTokens[i] as number) >= 0 && (n.clientPromptTokens[i] as number) >= 0) {
      prompt.n++;
      prompt.server += n.promptTokens[i] as number;
      prompt.client += n.clientPromptTokens[i] as number;
    }
    if ((n.requestedTokens[i] as number) >= 0) {
      outputLength.requested += n.requestedTokens[i] as number;
      outputLength.delivered += n.outputTokens[i] as number;
    }
  }
  const measured = (i: number): boolean => c.warmup[i] === 0;
  const isOk = (i: number): boolean => c.warmup[i] === 0 && c.status[i] === OK;
  const isAnswer = (i: number): boolean => c.warmup[i] === 0 && (c.status[i] === OK || c.status[i] === FALLBACK);
  const d = c.f64;
  return {
    counts,
    answered,
    outputTokens,
    metSlo,
    tokenCountMismatches: mismatches,
    retries,
    ttftMs: pick(c, d.ttftMs, isAnswer),
    tpotMs: pick(c, d.tpotMs, isOk),
    e2eMs: pick(c, d.e2eMs, isAnswer),
    answerTtftMs: pick(c, d.answerTtftMs, isOk),
    outputTokenSources: sources,
    stoppedEarly,
    promptTokensMean: prompt.n > 0 ? { server: prompt.server / prompt.n, client: prompt.client / prompt.n } : { server: null, client: null },
    outputLength,
    fallback: fallbacks > 0 ? fallbackSummary(c, fallbacks, counts.total, measured) : undefined,
  };
}

/** Fallback answers beside primary ones. */
function fallbackSummary(c: SampleColumns, count: number, total: number, measured: (i: number) => boolean): FallbackSummary {
  const isFb = (i: number): boolean => measured(i) && c.status[i] === FALLBACK;
  const isOk = (i: number): boolean => measured(i) && c.status[i] === OK;
  const reasons: Record<string, number> = {};
  for (let i = 0; i < c.length; i++) {
    if (!isFb(i)) continue;
    const r = c.text('fallbackReason', i) ?? 'unknown';
    reasons[r] = (reasons[r] ?? 0) + 1;
  }
  return {
    count,
    share: count / total,
    reasons,
    e2eMs: pick(c, c.f64.e2eMs, isFb),
    ttftMs: pick(c, c.f64.ttftMs, isFb),
    primaryE2eMs: pick(c, c.f64.e2eMs, isOk),
    primaryTtftMs: pick(c, c.f64.ttftMs, isOk),
  };
}

/** Offered pace actually sent: send intervals over the span of sends, per repeat. */
export function achievedRate(c: SampleColumns, measuredCount: number, windowMs: number): number {
  const byRun = new Map<number, { count: number; first: number; last: number }>();
  const sent = c.f64.sentMs;
  for (let i = 0; i < c.length; i++) {
    if (c.warmup[i] === 1) continue;
    const run = c.i32.run[i] as number;
    const s = sent[i] as number;
    const r = byRun.get(run);
    if (!r) byRun.set(run, { count: 1, first: s, last: s });
    else {
      r.count++;
      if (s < r.first) r.first = s;
      if (s > r.last) r.last = s;
    }
  }
  let intervals = 0;
  let spanMs = 0;
  for (const r of byRun.values()) {
    if (r.count < 2) continue;
    intervals += r.count - 1;
    spanMs += r.last - r.first;
  }
  if (spanMs > 0) return (intervals / spanMs) * 1000;
  return windowMs > 0 ? (measuredCount / windowMs) * 1000 : 0;
}

/** Requests whose workload index was already sent earlier in the same repeat (warm-up included). */
export function resentPrompts(c: SampleColumns): number {
  // Per repeat: requests minus distinct indices, found by sorting a copy of the indices (no set per request).
  const runs = new Map<number, number>();
  for (let i = 0; i < c.length; i++) runs.set(c.i32.run[i] as number, (runs.get(c.i32.run[i] as number) ?? 0) + 1);
  let resent = 0;
  for (const [run, size] of runs) {
    const idx = new Int32Array(size);
    let k = 0;
    for (let i = 0; i < c.length; i++) if (c.i32.run[i] === run) idx[k++] = c.i32.index[i] as number;
    idx.sort();
    for (let j = 1; j < size; j++) if (idx[j] === idx[j - 1]) resent++;
  }
  return resent;
}

/** Requests, share, failures and E2E per replica (measured requests; 'unknown' when the server did not say). */
export function replicaSummaries(c: SampleColumns): ReplicaSummary[] {
  const groups = new Map<string, number[]>();
  let measured = 0;
  for (let i = 0; i < c.length; i++) {
    if (c.warmup[i] === 1) continue;
    measured++;
    const key = c.text('replica', i) ?? 'unknown';
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([replica, rows]) => {
      const e2e = new Float64Array(rows.length);
      let k = 0;
      let errors = 0;
      for (const i of rows) {
        const st = c.status[i];
        if (st === OK || st === FALLBACK) e2e[k++] = c.f64.e2eMs[i] as number;
        else errors++;
      }
      return { replica, requests: rows.length, share: rows.length / measured, errors, e2eMs: distributionOfTyped(e2e, k) };
    });
}
