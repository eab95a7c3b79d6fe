import { describe, expect, it } from 'vitest';
import { compactSample } from '../../src/result/requestRows.js';
import { HdrHistogram } from '../../src/stats/hdrHistogram.js';
import { SampleColumns } from '../../src/stats/sampleColumns.js';
import { summarizeColumns, summarizePipeline, type SummarizeOptions } from '../../src/stats/summarize.js';
import { createRng } from '../../src/stats/rng.js';
import type { Sample } from '../../src/types.js';

function samples(n: number): Sample[] {
  const rng = createRng(3);
  return Array.from({ length: n }, (_, i) => {
    const status = (['ok', 'ok', 'ok', 'error', 'timeout', 'fallback'] as const)[i % 6] as Sample['status'];
    const answered = status === 'ok' || status === 'fallback';
    const sent = i * 1.37 + rng();
    const ttft = answered ? 5 + 20 * rng() : null;
    const gaps = status === 'ok' ? Array.from({ length: 3 }, () => 2 + rng()) : [];
    const e2e = (ttft ?? 0) + gaps.reduce((a, b) => a + b, 0) + (answered ? 0 : 40 * rng());
    const s: Sample = {
      index: i % 97,
      warmup: i < 5,
      status,
      error: status === 'error' ? `HTTP 500: id ${i % 3}` : status === 'timeout' ? 'no complete response within 100 ms' : null,
      httpStatus: status === 'error' ? 500 : status === 'timeout' ? null : 200,
      scheduledMs: sent - rng() * 0.2,
      sentMs: sent,
      firstTokenMs: ttft === null ? null : sent + ttft,
      endMs: sent + e2e,
      ttftMs: ttft,
      answerTtftMs: ttft === null ? null : ttft + (i % 4 === 0 ? 1.5 : 0),
      e2eMs: e2e,
      tpotMs: status === 'ok' ? (e2e - (ttft as number)) / 3 : null,
      itlMs: gaps,
      promptTokens: i % 7 === 0 ? null : 12,
      clientPromptTokens: i % 5 === 0 ? null : 11,
      outputTokens: answered ? 4 : 0,
      outputTokensSource: (['usage', 'tokenizer', 'none'] as const)[i % 3] as Sample['outputTokensSource'],
      tokenCountMismatch: i % 50 === 0 ? { usage: 4, tokenizer: 5 } : null,
      replica: i % 11 === 0 ? null : `replica-${i % 2}`,
      retries: i % 9 === 0 ? 1 : null,
      finishReason: answered ? (i % 2 === 0 ? 'length' : 'stop') : null,
      run: i % 2,
    };
    if (i % 3 !== 0) s.requestedTokens = 4;
    if (status === 'fallback') s.fallbackReason = i % 12 === 5 ? 'deadline' : 'queue_full';
    return s;
  });
}

const opts: SummarizeOptions = {
  profile: 'constant',
  slo: { ttftMs: 15, tpotMs: null, e2eMs: 30 },
  intendedRate: 700,
  dispatchLagMs: [],
  clientCpuPct: 20,
  modelFileBytes: null,
  faultsInjected: true,
};

describe('sample columns', () => {
  it('hold a compacted sample exactly: row i reads back as the sample pushed', () => {
    const compact = samples(600).map(compactSample);
    const c = new SampleColumns(16);
    for (const s of compact) c.push(s);
    expect(c.length).toBe(600);
    for (const i of [0, 1, 3, 4, 5, 50, 77, 599]) expect(c.get(i)).toEqual(compact[i]);
    expect(c.toSamples()).toEqual(compact);
  });

  it('summarize to what the list of samples summarizes to, after pooling two sets of columns', () => {
    const compact = samples(900).map(compactSample);
    const a = new SampleColumns();
    const b = new SampleColumns();
    compact.forEach((s, i) => (i < 400 ? a : b).push(s));
    a.append(b);
    const itl = new HdrHistogram();
    for (const s of samples(900)) if (!s.warmup && s.status === 'ok') for (const g of s.itlMs) itl.record(g * 1000);
    const withItl = { ...opts, itlHistogram: itl.toData() };
    expect(summarizeColumns(a, [], withItl)).toEqual(summarizePipeline(compact, [], withItl));
    const s = summarizeColumns(a, [], withItl);
    expect(s.counts).toEqual({ total: 895, ok: 447, error: 149, timeout: 149 });
    expect(s.fallback?.reasons).toEqual({ deadline: 75, queue_full: 75 });
    expect(s.replicas.map((r) => r.replica)).toEqual(['replica-0', 'replica-1', 'unknown']);
    expect(s.resentPrompts).toBe(900 - 2 * 97);
  });

  it('dispatch lag from a histogram: max exact, p95 within 0.2% of the exact list', () => {
    const rng = createRng(5);
    const lags = Array.from({ length: 5000 }, () => 20 * rng() ** 3);
    const h = new HdrHistogram();
    for (const l of lags) h.record(l * 1000);
    const c = SampleColumns.from(samples(300));
    const exact = summarizeColumns(c, [], { ...opts, dispatchLagMs: lags }).load;
    const hist = summarizeColumns(c, [], { ...opts, dispatchLagHistogram: h.toData() }).load;
    expect(hist.maxScheduleLagMs).toBeCloseTo(exact.maxScheduleLagMs as number, 3);
    expect(Math.abs((hist.p95ScheduleLagMs as number) / (exact.p95ScheduleLagMs as number) - 1)).toBeLessThan(0.002);
  });
});

describe('SampleColumns string table', () => {
  it('keeps 4096 distinct texts exactly and one stand-in for the rest (a server echoing an id per error)', () => {
    const base = samples(1)[0] as Sample;
    const c = new SampleColumns();
    for (let i = 0; i < 5000; i++) c.push({ ...base, status: 'error', error: `HTTP 500: request ${i}` });
    expect(c.length).toBe(5000);
    expect(c.get(0).error).toBe('HTTP 500: request 0');
    expect(c.get(4095).error).toBe('HTTP 500: request 4095');
    expect(c.get(4096).error).toMatch(/not kept in memory: more than 4096 distinct texts/);
    expect(c.get(4999).error).toBe(c.get(4096).error);
    // A text seen before the table filled is still itself.
    c.push({ ...base, status: 'error', error: 'HTTP 500: request 7' });
    expect(c.get(5000).error).toBe('HTTP 500: request 7');
  });
});
