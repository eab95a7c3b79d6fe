import { describe, expect, it } from 'vitest';
import { summarizeAutocannon, summarizePipeline, type SummarizeOptions } from '../../src/stats/summarize.js';
import type { ResourceTrace, Sample } from '../../src/types.js';
import { invalidReasonsText } from '../../src/report/invalidReasons.js';

function mk(p: Partial<Sample>): Sample {
  return {
    index: 0,
    warmup: false,
    status: 'ok',
    error: null,
    httpStatus: 200,
    scheduledMs: p.sentMs ?? 0,
    sentMs: 0,
    firstTokenMs: null,
    endMs: 0,
    ttftMs: null,
    e2eMs: 0,
    tpotMs: null,
    itlMs: [],
    promptTokens: 10,
    outputTokens: 0,
    outputTokensSource: 'usage',
    tokenCountMismatch: null,
    replica: null,
    retries: null,
    ...p,
  };
}

const samples: Sample[] = [
  mk({ warmup: true, sentMs: -100, endMs: -50, e2eMs: 50, ttftMs: 5, outputTokens: 99 }),
  mk({ sentMs: 0, endMs: 100, ttftMs: 20, e2eMs: 100, tpotMs: 20, itlMs: [30, 25, 25], outputTokens: 5, replica: 'replica-0' }),
  mk({ scheduledMs: 10, sentMs: 12, endMs: 160, ttftMs: 50, e2eMs: 150, tpotMs: 50, itlMs: [60, 40], outputTokens: 3, replica: 'replica-1', retries: 1 }),
  mk({ status: 'error', error: 'HTTP 503', httpStatus: 503, sentMs: 20, endMs: 40, e2eMs: 20, replica: 'replica-1' }),
  mk({ status: 'timeout', sentMs: 30, endMs: 230, e2eMs: 200 }),
  mk({ sentMs: 40, endMs: 240, ttftMs: 150, e2eMs: 200, tpotMs: 0, outputTokens: 1, replica: 'replica-0', tokenCountMismatch: { usage: 1, tokenizer: 2 } }),
];

const trace: ResourceTrace = {
  intervalMs: 100,
  gpuAvailable: false,
  clientCpuPct: null,
  processes: [
    { pid: 1, name: 'replica-0', role: 'server', rss: [[-500, 50], [0, 100], [100, 120], [200, 110], [300, 90]], gpu: [] },
    { pid: 2, name: 'replica-0/worker', role: 'server', rss: [[-500, 10], [0, 20], [100, 20], [200, 25], [300, 20]], gpu: [] },
  ],
};

const opts: SummarizeOptions = {
  profile: 'concurrency',
  slo: { ttftMs: 100, tpotMs: 40, e2eMs: null },
  intendedRate: null,
  dispatchLagMs: [],
  clientCpuPct: 12,
  modelFileBytes: 1234,
  faultsInjected: false,
};

describe('summarizePipeline', () => {
  it('computes every metric exactly on a hand-made sample set', () => {
    const s = summarizePipeline(samples, [trace], opts);
    expect(s.counts).toEqual({ total: 5, ok: 3, error: 1, timeout: 1 });
    expect(s.windowMs).toBe(240);
    expect(s.requestsPerSecond).toBeCloseTo(12.5, 12);
    expect(s.outputTokens).toBe(9);
    expect(s.outputTokensPerSecond).toBeCloseTo(37.5, 12);
    // Only the first ok request meets TTFT <= 100 and TPOT <= 40.
    expect(s.goodputRequestsPerSecond).toBeCloseTo(1000 / 240, 12);
    expect(s.ttftMs).toMatchObject({ count: 3, min: 20, max: 150, p50: null });
    expect(s.ttftMs.mean).toBeCloseTo(220 / 3, 12);
    expect(s.ttftMs.notes[0]).toBe('p50: too few samples (3 < 4)');
    expect(s.tpotMs).toMatchObject({ count: 3, mean: 70 / 3, min: 0, max: 50 });
    expect(s.itlMs).toMatchObject({ count: 5, mean: 36, min: 25, max: 60, p50: 30, p90: null });
    expect(s.e2eMs).toMatchObject({ count: 3, mean: 150, min: 100, max: 200 });
    expect(s.tokenCountMismatches).toBe(1);
    expect(s.retries).toBe(1);
    expect(s.load).toEqual({ profile: 'concurrency', intendedRate: null, achievedRate: 100, p95ScheduleLagMs: null, maxScheduleLagMs: null, clientCpuPct: 12 });
    expect(s.replicas.map((r) => [r.replica, r.requests, r.share, r.errors, r.e2eMs.count])).toEqual([
      ['replica-0', 2, 0.4, 0, 2],
      ['replica-1', 2, 0.4, 1, 1],
      ['unknown', 1, 0.2, 1, 0],
    ]);
    // Peak of the summed RSS (140 at t=100); steady = median of sums inside [0, 240]: 120, 140, 135.
    expect(s.memory).toEqual({
      peakRssBytes: 140,
      steadyRssBytes: 135,
      gpuPeakBytes: null,
      gpuSteadyBytes: null,
      modelFileBytes: 1234,
      processCount: 2,
    });
    expect(s.valid).toBe(false);
    expect(s.invalidReasons).toEqual([{ kind: 'failed-share', share: 0.4, limit: 0.05 }]);
    expect(invalidReasonsText(s.invalidReasons)).toBe('40.0% of requests failed (limit 5%)');
  });

  it('failures do not invalidate a fault-injection run; no SLO means no goodput', () => {
    const s = summarizePipeline(samples, [trace], { ...opts, slo: null, faultsInjected: true });
    expect(s.valid).toBe(true);
    expect(s.goodputRequestsPerSecond).toBeNull();
  });

  it('pools repeats: windows add up, memory peaks over repeats', () => {
    const second = [mk({ run: 1, sentMs: 1000, endMs: 1100, ttftMs: 10, e2eMs: 100, tpotMs: 10, outputTokens: 11 })];
    const trace2: ResourceTrace = { ...trace, processes: [{ pid: 9, name: 'replica-0', role: 'server', rss: [[1050, 500]], gpu: [] }] };
    const s = summarizePipeline([...samples, ...second], [trace, trace2], { ...opts, faultsInjected: true });
    expect(s.windowMs).toBe(340);
    expect(s.requestsPerSecond).toBeCloseTo(4000 / 340, 12);
    expect(s.outputTokensPerSecond).toBeCloseTo(20000 / 340, 12);
    expect(s.memory.peakRssBytes).toBe(500);
    // Steady: median of per-repeat steadies (135 and 500).
    expect(s.memory.steadyRssBytes).toBe(317.5);
    expect(s.load.achievedRate).toBeCloseTo(100, 12);
  });

  it('GPU memory is summed per tick when nvidia-smi was there', () => {
    const g: ResourceTrace = {
      ...trace,
      gpuAvailable: true,
      processes: trace.processes.map((p, i) => ({ ...p, gpu: p.rss.map(([t]) => [t, (i + 1) * 1000] as [number, number]) })),
    };
    const s = summarizePipeline(samples, [g], opts);
    expect(s.memory.gpuPeakBytes).toBe(3000);
    expect(s.memory.gpuSteadyBytes).toBe(3000);
  });

  it('marks the run invalid when the load generator fell behind or ran out of CPU', () => {
    const s = summarizePipeline(samples, [trace], {
      ...opts,
      faultsInjected: true,
      profile: 'constant',
      intendedRate: 10,
      dispatchLagMs: Array.from({ length: 20 }, () => 60),
      clientCpuPct: 97,
    });
    expect(s.load.p95ScheduleLagMs).toBe(60);
    expect(s.invalidReasons).toEqual([
      { kind: 'schedule-lag', p95LagMs: 60, limitMs: 50 },
      { kind: 'client-cpu', cpuPct: 97, limitPct: 90 },
    ]);
    expect(invalidReasonsText(s.invalidReasons)).toBe(
      'load generator fell behind its schedule: p95 dispatch lag 60.0 ms (limit 50.0 ms); load generator CPU at 97% of a core (limit 90%): the client, not the server, may have been the bottleneck',
    );
    const fine = summarizePipeline(samples, [trace], { ...opts, faultsInjected: true, profile: 'constant', intendedRate: 10, dispatchLagMs: [...Array.from({ length: 19 }, () => 1), 200] });
    expect(fine.load.p95ScheduleLagMs).toBeCloseTo(10.95, 10);
    expect(fine.load.maxScheduleLagMs).toBe(200);
    expect(fine.valid).toBe(true);
  });

  it('no successful request is invalid', () => {
    const s = summarizePipeline([mk({ status: 'error', sentMs: 0, endMs: 5, e2eMs: 5 })], [], { ...opts, faultsInjected: true });
    expect(s.invalidReasons).toEqual([{ kind: 'none-answered' }]);
    expect(s.memory.peakRssBytes).toBeNull();
  });

  it('autocannon aggregates become a summary without per-request metrics', () => {
    const s = summarizeAutocannon(
      {
        durationMs: 2000,
        connections: 4,
        intendedRate: null,
        requestsPerSecond: { mean: 50, stddev: 1, min: 49, max: 51 },
        latencyMs: { mean: 80, stddev: 5, min: 60, max: 120, p50: 78, p90: 95, p97_5: 110, p99: 118 },
        total: 100,
        ok: 98,
        non2xx: 1,
        errors: 1,
        timeouts: 0,
        outputTokens: 980,
        note: 'n',
      },
      [],
      { ...opts, faultsInjected: true },
    );
    expect(s.requestsPerSecond).toBe(49);
    expect(s.outputTokensPerSecond).toBe(490);
    expect(s.counts).toEqual({ total: 100, ok: 98, error: 2, timeout: 0 });
    expect(s.e2eMs).toMatchObject({ count: 98, p50: 78, p95: null, p99: 118 });
    expect(s.ttftMs.count).toBe(0);
  });
});

describe('fallback answers', () => {
  // Two primary answers, two fallback answers (deadline, backup), one error.
  const withFallbacks: Sample[] = [
    mk({ sentMs: 0, endMs: 100, ttftMs: 20, e2eMs: 100, tpotMs: 20, outputTokens: 5 }),
    mk({ sentMs: 10, endMs: 310, ttftMs: 250, e2eMs: 300, tpotMs: 25, outputTokens: 3 }),
    mk({ status: 'fallback', fallbackReason: 'deadline', sentMs: 20, endMs: 1020, ttftMs: 1000, e2eMs: 1000, tpotMs: 0, outputTokens: 1 }),
    mk({ status: 'fallback', fallbackReason: 'backup', sentMs: 30, endMs: 230, ttftMs: 50, e2eMs: 200, tpotMs: 10, outputTokens: 4 }),
    mk({ status: 'error', error: 'HTTP 502', httpStatus: 502, sentMs: 40, endMs: 60, e2eMs: 20 }),
  ];

  it('counts fallbacks apart: in TTFT and E2E, out of token pace, throughput, goodput and the failure count', () => {
    const s = summarizePipeline(withFallbacks, [], { ...opts, slo: { ttftMs: 2000, tpotMs: null, e2eMs: null } });
    expect(s.counts).toEqual({ total: 5, ok: 2, error: 1, timeout: 0 });
    expect(s.windowMs).toBe(1020);
    // Throughput and token pace: the 2 primary answers (5 + 3 tokens); latency: all 4 answers.
    expect(s.requestsPerSecond).toBeCloseTo(2000 / 1020, 12);
    expect(s.outputTokens).toBe(8);
    expect(s.tpotMs).toMatchObject({ count: 2, min: 20, max: 25 });
    expect(s.e2eMs).toMatchObject({ count: 4, min: 100, max: 1000 });
    expect(s.ttftMs).toMatchObject({ count: 4, min: 20, max: 1000 });
    // Every answer met the 2 s TTFT limit, but only the two primary ones count as goodput.
    expect(s.goodputRequestsPerSecond).toBeCloseTo(2000 / 1020, 12);
    expect(s.fallback).toMatchObject({ count: 2, share: 0.4, reasons: { deadline: 1, backup: 1 } });
    expect(s.fallback?.e2eMs).toMatchObject({ count: 2, min: 200, max: 1000 });
    expect(s.fallback?.ttftMs).toMatchObject({ count: 2, min: 50, max: 1000 });
    expect(s.fallback?.primaryE2eMs).toMatchObject({ count: 2, min: 100, max: 300 });
    // Only the error counts as a failure (1 of 5), not the fallback answers.
    expect(s.invalidReasons).toEqual([{ kind: 'failed-share', share: 0.2, limit: 0.05 }]);
  });

  it('leaves the field out when nothing fell back', () => {
    expect(summarizePipeline(samples, [trace], opts).fallback).toBeUndefined();
  });
});

describe('summaries at scale', () => {
  it('summarizes 300,000 requests without spreading them into function arguments', () => {
    const many: Sample[] = [];
    for (let i = 0; i < 300_000; i++) {
      many.push(mk({ index: i, sentMs: i * 0.02, endMs: i * 0.02 + 5, ttftMs: 1, e2eMs: 5, tpotMs: 1, outputTokens: 5, run: i % 2 }));
    }
    const s = summarizePipeline(many, [], opts);
    expect(s.counts.total).toBe(300_000);
    // Each repeat sends every 0.04 ms: 25,000 requests/s.
    expect(s.load.achievedRate).toBeCloseTo(25_000, 0);
  });
});
