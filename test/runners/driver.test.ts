import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { drive, warmUp, type DriveOptions } from '../../src/runners/load/driver.js';
import { StreamClient } from '../../src/runners/load/streamClient.js';
import type { WorkloadRequest } from '../../src/runners/plan/workload.js';
import { sleep, sseSteps, startTestServer, textChunk, usageChunk, type TestServer } from '../helpers/testServer.js';

const requests: WorkloadRequest[] = Array.from({ length: 4 }, (_, i) => ({
  index: i,
  prompt: `p${i}`,
  messages: [{ role: 'user', content: `p${i}` }],
  promptTokens: 2,
  maxTokens: 2,
}));

let server: TestServer | null = null;
let client: StreamClient | null = null;
afterEach(async () => {
  client?.close();
  await server?.close();
  server = null;
  client = null;
});

function options(extra: Partial<DriveOptions> = {}): DriveOptions {
  if (!client) throw new Error('no client');
  return {
    client,
    request: (k) => {
      const req = requests[k % requests.length] as WorkloadRequest;
      return { req, body: JSON.stringify({ prompt: req.prompt }) };
    },
    path: '/v1/completions',
    stream: true,
    timeoutMs: 5000,
    firstRequest: 0,
    ...extra,
  };
}

describe('load driver', () => {
  it('open loop with a cap: a stalled response delays the queued requests, and that wait is latency', async () => {
    let n = 0;
    server = await startTestServer(async (_req, res) => {
      const stall = n++ === 0 ? 300 : 0;
      await sseSteps(res, [{ delayMs: stall, data: textChunk('x') }, { delayMs: 0, data: usageChunk(1) }]);
    });
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const arrivalsMs = [0, 50, 100, 150, 400];
    const r = await drive({ kind: 'open', arrivalsMs, intendedRatePerSec: 20, maxConcurrency: 1, durationMs: 500 }, options({
      onStart: (t0) => {
        if (client) client.clock0 = t0;
      },
    }));
    expect(server.stats.peak).toBe(1);
    const byScheduled = [...r.samples].sort((a, b) => a.scheduledMs - b.scheduledMs);
    expect(byScheduled.map((s) => Math.round(s.scheduledMs))).toEqual(arrivalsMs);
    expect(byScheduled.every((s) => s.status === 'ok')).toBe(true);
    // Scheduled at 50 ms, could only be sent after the first finished (~300 ms): latency >= 250 ms.
    expect(byScheduled[1]?.e2eMs).toBeGreaterThanOrEqual(245);
    expect((byScheduled[1]?.sentMs ?? 0) - (byScheduled[1]?.scheduledMs ?? 0)).toBeGreaterThanOrEqual(245);
    // The dispatcher itself kept up: its lag excludes the cap wait (~250 ms). The bound leaves room for a
    // loaded 2-core machine (46 ms was seen at load average 14) while staying far below the wait.
    expect(r.dispatchLag.count).toBe(5);
    expect(r.dispatchLag.maxUs / 1000).toBeLessThan(120);
    // After the stall the queue drains; the request at 400 ms is on time (well under the 245 ms wait above,
    // with room for a loaded 2-core machine).
    expect(byScheduled[4]?.e2eMs).toBeLessThan(200);
  });

  it('open loop without a cap: a server stall shows up in the latency of every request it held', async () => {
    let stallUntil = 0;
    server = await startTestServer(async (_req, res) => {
      const wait = stallUntil - performance.now();
      if (wait > 0) await sleep(wait);
      await sseSteps(res, [{ delayMs: 0, data: textChunk('x') }]);
    });
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const arrivalsMs = Array.from({ length: 20 }, (_, i) => i * 50);
    const r = await drive({ kind: 'open', arrivalsMs, intendedRatePerSec: 20, maxConcurrency: null, durationMs: 1000 }, options({
      onStart: (t0) => {
        if (client) client.clock0 = t0;
        // The server stalls from 100 ms to 600 ms after the start.
        setTimeout(() => (stallUntil = t0 + 600), 100);
      },
    }));
    const s = [...r.samples].sort((a, b) => a.scheduledMs - b.scheduledMs);
    expect(s).toHaveLength(20);
    // Request scheduled at 150 ms waited until 600 ms; requests before and well after the stall did not.
    // (Bounds leave room for a loaded 2-core machine: 194 ms was seen for an unstalled request at load 12.)
    expect(s[3]?.e2eMs).toBeGreaterThanOrEqual(440);
    expect(s[0]?.e2eMs).toBeLessThan(300);
    expect(s[19]?.e2eMs).toBeLessThan(300);
    expect(server.stats.peak).toBeGreaterThanOrEqual(3);
  });

  it('closed loop keeps exactly N users busy and stops at the count bound; warm-up samples are marked', async () => {
    server = await startTestServer((_req, res) => sseSteps(res, [{ delayMs: 10, data: textChunk('x') }]));
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const w = await warmUp(3, 2, options());
    expect(w.map((s) => s.warmup)).toEqual([true, true, true]);
    const r = await drive({ kind: 'closed', concurrency: 3, durationMs: 10_000, maxRequests: 12 }, options({ firstRequest: 3 }));
    expect(r.samples).toHaveLength(12);
    expect(r.consumed).toBe(12);
    expect(server.stats.peak).toBe(3);
    expect(r.samples.every((s) => !s.warmup && s.status === 'ok')).toBe(true);
    // Requests cycle through the workload from firstRequest: 3, 0, 1, 2, 3, ...
    expect(r.samples.map((s) => s.index).sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(r.clientCpuPct).toBeGreaterThan(0);
  });

  it('an abort stops the level and in-flight requests settle as errors', async () => {
    server = await startTestServer((_req, res) => sseSteps(res, [{ delayMs: 2000, data: textChunk('x') }]));
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = performance.now();
    const r = await drive({ kind: 'closed', concurrency: 2, durationMs: 10_000, maxRequests: 100 }, options({ signal: ac.signal }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.aborted).toBe(true);
    expect(r.samples).toHaveLength(2);
    expect(r.samples.every((s) => s.status === 'error' && s.error === 'run interrupted')).toBe(true);
  });
});
