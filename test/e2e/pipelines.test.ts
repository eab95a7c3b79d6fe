// End to end: balanced replicas with an injected fault, rate sweeps, and the autocannon driver.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/runners/run.js';
import { parseScenario } from '../../src/scenarios/load.js';
import { expectConsistent, pidsWithEnv } from './helpers.js';
import { invalidReasonsText } from '../../src/report/invalidReasons.js';

let dir: string;
let marker: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-e2e-pipes-'));
  marker = join(dir, 'cache');
  process.env.LLMBENCH_CACHE = marker;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = (text: string) => parseScenario(text, { source: 's.yaml', baseDir: dir });

describe('pipelines end to end', () => {
  it('two replicas behind the built-in balancer: a killed and restarted replica, retries, per-replica view', async () => {
    const { result } = await runScenario(
      scenario(`
name: fault
workload: { distinctRequests: 8, promptTokens: 8, outputTokens: 6 }
load: { profile: poisson, rate: 12, duration: 6s, warmupRequests: 2 }
pipelines:
  - name: balanced
    model: { source: tiny }
    serving: { replicas: 2 }
    balancer: { kind: builtin, policy: round-robin, tries: 3 }
    faults: [{ at: 1s, kill: replica-1, restartAfter: 500ms }]
`),
      { outDir: join(dir, 'fault'), quality: false },
    );
    const p = result.pipelines[0];
    if (!p) throw new Error('no pipeline');
    expect(p.error).toBeNull();
    expectConsistent(p);
    expect(p.events.map((e) => e.kind)).toEqual(['kill', 'restart', 'ready']);
    expect(p.events[0]?.atMs).toBeGreaterThanOrEqual(1000);
    expect(p.events[1]?.atMs).toBeGreaterThanOrEqual(1500);
    // The restarted replica took requests again.
    const readyAt = p.events[2]?.atMs ?? Infinity;
    const after = p.samples.filter((s) => s.replica === 'replica-1' && s.sentMs > readyAt + 100 && s.status === 'ok');
    expect(after.length, JSON.stringify({ events: p.events, balancer: p.balancer })).toBeGreaterThan(0);
    // Requests that had not started streaming when the replica died were retried on the other one.
    expect(p.summary.counts.ok / p.summary.counts.total).toBeGreaterThanOrEqual(0.9);
    expect(p.summary.replicas.map((r) => r.replica)).toEqual(['replica-0', 'replica-1']);
    expect(p.balancer?.kind).toBe('builtin');
    expect(p.balancer?.upstreams.map((u) => u.name)).toEqual(['replica-0', 'replica-1']);
    // Memory covers both servers and the balancer; the restarted replica is a new process.
    const roles = new Set(p.resources?.processes.map((x) => x.role));
    expect(roles).toEqual(new Set(['server', 'balancer']));
    expect(p.resources?.processes.filter((x) => x.role === 'server').length).toBeGreaterThanOrEqual(3);
    expect(p.summary.valid, invalidReasonsText(p.summary.invalidReasons)).toBe(true);
    expect(pidsWithEnv(marker)).toEqual([]);
  });

  it('shared replicas: one server process holds both, the balancer reaches each, memory is counted once', async () => {
    const { result } = await runScenario(
      scenario(`
name: shared
workload: { distinctRequests: 8, promptTokens: 8, outputTokens: 6 }
load: { profile: concurrency, concurrency: 4, duration: 2s, warmupRequests: 2 }
pipelines:
  - name: shared
    model: { source: tiny }
    serving: { replicas: 2, replicaMode: shared, maxBatch: 2 }
    balancer: { kind: builtin, policy: round-robin }
`),
      { outDir: join(dir, 'shared'), quality: false },
    );
    const p = result.pipelines[0];
    if (!p) throw new Error('no pipeline');
    expect(p.error).toBeNull();
    expectConsistent(p);
    // Both replicas answered, through their own ports.
    const served = new Set(p.samples.filter((s) => s.status === 'ok').map((s) => s.replica));
    expect(served).toEqual(new Set(['replica-0', 'replica-1']));
    expect(p.balancer?.upstreams.map((u) => u.name)).toEqual(['replica-0', 'replica-1']);
    // One server process (plus the balancer), and one breakdown for it that knows it holds two replicas.
    expect(p.resources?.processes.filter((x) => x.role === 'server')).toHaveLength(1);
    expect(p.memoryBreakdown?.map((m) => [m.process, m.breakdown.replicas])).toEqual([['replica-0+replica-1', 2]]);
    expect(pidsWithEnv(marker)).toEqual([]);
  });

  it('a rate sweep summarizes every level and keeps one time origin per repeat', async () => {
    const { result } = await runScenario(
      scenario(`
name: sweep
workload: { distinctRequests: 8, promptTokens: 8, outputTokens: 4 }
load: { profile: sweep, duration: 1s, warmupRequests: 1, sweep: { over: rate, levels: [2, 5], arrival: constant } }
pipelines:
  - { name: one, model: { source: tiny } }
`),
      { outDir: join(dir, 'sweep'), quality: false },
    );
    const p = result.pipelines[0];
    expect(p?.sweep?.map((s) => [s.level, s.summary.counts.total, s.summary.load.intendedRate])).toEqual([
      [2, 2, 2],
      [5, 5, 5],
    ]);
    const measured = p?.samples.filter((s) => !s.warmup) ?? [];
    expect(measured).toHaveLength(7);
    // Level two starts after level one ended: sends never go back in time.
    const sends = measured.map((s) => s.scheduledMs);
    expect(sends).toEqual([...sends].sort((a, b) => a - b));
    expect(p?.samples.filter((s) => s.warmup).every((s) => s.endMs <= 0.001)).toBe(true);
  });

  it('the autocannon driver measures /v1/generate without per-request samples', async () => {
    const { result } = await runScenario(
      scenario(`
name: cannon
workload: { api: generate, distinctRequests: 4, promptTokens: 8, outputTokens: 4 }
load: { profile: concurrency, concurrency: 2, duration: 1500ms, warmupRequests: 1, driver: autocannon }
pipelines:
  - { name: one, model: { source: tiny }, serving: { maxBatch: 2 } }
`),
      { outDir: join(dir, 'cannon'), quality: false },
    );
    const p = result.pipelines[0];
    expect(p?.complete).toBe(true);
    expect(p?.autocannon?.ok).toBeGreaterThan(3);
    expect(p?.autocannon?.connections).toBe(2);
    expect(p?.autocannon?.outputTokens).toBeGreaterThan(0);
    expect(p?.summary.requestsPerSecond).toBeGreaterThan(0);
    expect(p?.summary.ttftMs.count).toBe(0);
    expect(p?.summary.e2eMs.p50).toBeGreaterThan(0);
    expect(p?.samples.every((s) => s.warmup)).toBe(true);
    expect(p?.summary.memory.peakRssBytes).toBeGreaterThan(0);
  });
});
