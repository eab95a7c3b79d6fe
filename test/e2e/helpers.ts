// Shared pieces of the end-to-end tests: a private model cache, consistency checks on a result, and a
// scan for processes that carry this test's marker in their environment.
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Distribution, PipelineResult } from '../../src/types.js';

/** Pids of live processes whose environment contains `marker` (every process a test's run started inherits it). */
export function pidsWithEnv(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(marker)) {
        const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
        // Zombies are already dead; they only wait for their parent to reap them.
        if (!/\) Z /.test(stat)) out.push(Number(name));
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}

export function expectOrdered(d: Distribution): void {
  const xs = [d.min, d.p50, d.p90, d.p95, d.p99, d.max].filter((x): x is number => x !== null);
  for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThanOrEqual(xs[i - 1] as number);
  if (d.count > 0) {
    expect(d.mean).not.toBeNull();
    expect(d.mean as number).toBeGreaterThanOrEqual(d.min as number);
    expect(d.mean as number).toBeLessThanOrEqual(d.max as number);
  }
}

/** The numbers of one pipeline agree with its own samples. */
export function expectConsistent(p: PipelineResult): void {
  const s = p.summary;
  const measured = p.samples.filter((x) => !x.warmup);
  const ok = measured.filter((x) => x.status === 'ok');
  const fallbacks = measured.filter((x) => x.status === 'fallback').length;
  expect(s.counts.total).toBe(measured.length);
  expect(s.counts.ok + s.counts.error + s.counts.timeout + (s.fallback?.count ?? 0)).toBe(s.counts.total);
  expect(s.fallback?.count ?? 0).toBe(fallbacks);
  expect(s.counts.ok).toBe(ok.length);
  expect(s.counts.ok).toBeGreaterThan(0);
  const window = Math.max(...measured.map((x) => x.endMs)) - Math.min(...measured.map((x) => x.sentMs));
  expect(s.windowMs).toBeCloseTo(window, 6);
  const tokens = ok.reduce((a, x) => a + x.outputTokens, 0);
  expect(s.outputTokens).toBe(tokens);
  expect(s.outputTokensPerSecond).toBeCloseTo((tokens / s.windowMs) * 1000, 6);
  expect(s.requestsPerSecond).toBeCloseTo((ok.length / s.windowMs) * 1000, 6);
  for (const d of [s.ttftMs, s.tpotMs, s.itlMs, s.e2eMs]) expectOrdered(d);
  // TTFT counts every answer, fallbacks included.
  expect(s.ttftMs.count).toBe(measured.filter((x) => (x.status === 'ok' || x.status === 'fallback') && x.ttftMs !== null).length);
  for (const x of ok) {
    expect(x.e2eMs).toBeGreaterThanOrEqual(x.ttftMs ?? 0);
    expect(x.sentMs).toBeGreaterThanOrEqual(x.scheduledMs);
    expect(x.outputTokensSource).toBe('usage');
  }
}
