// Smoke run of the proxy-overhead benchmark module (short), and its table rendering.
import { afterEach, describe, expect, it } from 'vitest';
import { renderOverheadTable, runOverheadBench } from '../../src/bench/balancerOverhead.js';
import { startSyntheticUpstream } from '../../src/balancer/syntheticUpstream.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

describe('runOverheadBench', () => {
  it('measures direct, builtin and nginx against a synthetic upstream with fixed timing', async () => {
    const up = await startSyntheticUpstream('replica-0', { ttftMs: 15, itlMs: 2, chunks: 4 });
    closers.push(up.close);
    const lines: string[] = [];
    const results = await runOverheadBench({
      upstreams: [{ name: 'replica-0', url: up.url }],
      path: '/v1/completions',
      body: JSON.stringify({ prompt: 'hi', stream: true }),
      throughputPath: '/v1/completions?instant=1',
      latencyRequests: 8,
      rounds: 2,
      warmupRequests: 1,
      throughputSeconds: 1,
      throughputConnections: 4,
      policy: 'least-connections',
      targets: ['direct', 'builtin', 'nginx'],
      log: (l) => lines.push(l),
    });
    expect(results.map((r) => r.target)).toEqual(['direct', 'builtin', 'nginx']);
    for (const r of results) {
      expect(r.skipped).toBeNull();
      expect(r.errors).toBe(0);
      expect(r.ttftMs.count).toBe(8);
      // The upstream waits 15 ms before the first token: no target can be faster than that.
      expect(r.ttftMs.min).toBeGreaterThanOrEqual(14);
      expect(r.e2eMs.p50!).toBeGreaterThan(r.ttftMs.p50!);
      expect(r.requestsPerSecond).toBeGreaterThan(0);
      expect(r.throughputNon2xx).toBe(0);
    }
    expect(lines.some((l) => l.startsWith('builtin: http://127.0.0.1:'))).toBe(true);
    const table = renderOverheadTable(results, 4);
    expect(table.split('\n')[0]).toContain('| target | requests | errors | p50 TTFT ms |');
    expect(table).toMatch(/^\| builtin \| 8 \| 0 \| /m);
    expect(table).toContain('- direct TTFT p99: too few samples (8 < 200)');
  });
});

describe('renderOverheadTable', () => {
  it('shows added latency relative to direct, and skipped targets', () => {
    const dist = (p50: number) => ({ count: 300, mean: p50, min: p50, max: p50, p50, p90: p50, p95: p50, p99: p50 + 1, notes: [] });
    const table = renderOverheadTable(
      [
        { target: 'direct', skipped: null, ttftMs: dist(20), e2eMs: dist(100), errors: 0, requestsPerSecond: 5000, throughputLatencyP50Ms: 3, throughputNon2xx: 0 },
        { target: 'builtin', skipped: null, ttftMs: dist(20.5), e2eMs: dist(101.25), errors: 1, requestsPerSecond: 2000, throughputLatencyP50Ms: 10, throughputNon2xx: 0 },
        { target: 'nginx', skipped: 'nginx is not installed', ttftMs: dist(0), e2eMs: dist(0), errors: 0, requestsPerSecond: null, throughputLatencyP50Ms: null, throughputNon2xx: 0 },
      ],
      32,
    );
    expect(table.split('\n')).toEqual([
      '| target | requests | errors | p50 TTFT ms | p99 TTFT ms | p50 TTFT added ms | p50 E2E ms | p50 E2E added ms | req/s (32 conns) | p50 ms under load |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      '| direct | 300 | 0 | 20.00 | 21.00 | 0 | 100.00 | 0 | 5000 | 3.0 |',
      '| builtin | 300 | 1 | 20.50 | 21.50 | 0.50 | 101.25 | 1.25 | 2000 | 10.0 |',
      '| nginx | skipped: nginx is not installed | | | | | | | | |',
    ]);
  });
});
