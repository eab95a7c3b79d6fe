// End to end on the tiny model: real servers, real load, real result files.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResultFile } from '../../src/result/readResult.js';
import { spawnLlmbench, type ManagedProcess } from '../../src/runners/deploy/processes.js';
import { runScenario } from '../../src/runners/run.js';
import { runCommand } from '../../src/commands/run.js';
import { parseScenario } from '../../src/scenarios/load.js';
import type { Sample } from '../../src/types.js';
import { expectConsistent, pidsWithEnv } from './helpers.js';
import { invalidReasonsText } from '../../src/report/invalidReasons.js';

let dir: string;
let marker: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-e2e-run-'));
  // A private cache: presets and quantized copies are built here, and every process started below
  // inherits this value, which is how the orphan check finds them.
  marker = join(dir, 'cache');
  process.env.LLMBENCH_CACHE = marker;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('llmbench run, end to end', () => {
  it('`llmbench run fp32-vs-int8 --quick --gate` writes a consistent result.json, the report, and leaves no process behind', async () => {
    const lines: string[] = [];
    const out = await runCommand(
      { scenario: 'fp32-vs-int8', out: join(dir, 'r1'), quick: true, repeat: null, gate: true },
      { progress: (l) => lines.push(l), signal: new AbortController().signal },
    );
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain('PASS: 2 checks passed');
    expect(out.resultPath).toBe(join(dir, 'r1', 'result.json'));
    expect(existsSync(join(dir, 'r1', 'report.md'))).toBe(true);
    const report = readFileSync(join(dir, 'r1', 'report.md'), 'utf8');
    expect(report).toContain('## Memory per server process');
    expect(report).toMatch(/- \*\*int8\*\* vs fp32: servers' peak RSS .* per replica \(1 vs 1 replicas\)/);
    const result = await readResultFile(out.resultPath);
    expect(result.runId).toBe(out.result.runId);
    expect(result.schemaVersion).toBe(2);
    // Per-request rows live in one gzipped JSONL sidecar per pipeline; the samples read back match the run's.
    expect(existsSync(join(dir, 'r1', 'requests-0.jsonl.gz'))).toBe(true);
    expect(result.pipelines.map((p) => p.samples.length)).toEqual(out.result.pipelines.map((p) => p.samples.length));
    // Rows are written as requests finish (warm-up rows after the level): compare in schedule order.
    const bySchedule = (xs: Sample[] | undefined) => [...(xs ?? [])].sort((x, y) => x.scheduledMs - y.scheduledMs);
    expect(bySchedule(result.pipelines[0]?.samples)).toEqual(bySchedule(out.result.pipelines[0]?.samples));
    for (const p of result.pipelines) {
      expect(p.itlHistogram?.count).toBe(p.summary.itlMs.count);
      expect(p.samples.every((s) => s.itlMs.length === 0 && s.itl !== undefined)).toBe(true);
    }
    expect(result.complete).toBe(true);
    expect(result.pipelines.map((p) => [p.name, p.baseline, p.complete, p.error])).toEqual([
      ['fp32', true, true, null],
      ['int8', false, true, null],
    ]);
    for (const p of result.pipelines) {
      expectConsistent(p);
      expect(p.summary.valid, invalidReasonsText(p.summary.invalidReasons)).toBe(true);
      expect(p.samples.filter((s) => s.warmup)).toHaveLength(1);
      expect(p.summary.memory.peakRssBytes).toBeGreaterThan(10e6);
      expect(p.summary.memory.gpuPeakBytes).toBeNull();
      expect(p.summary.memory.modelFileBytes).toBeGreaterThan(0);
      // Each server's own breakdown, taken before it stopped: its weights are the model file it served.
      const servers = p.memoryBreakdown ?? [];
      expect(servers.map((m) => m.process)).toEqual(['replica-0']);
      expect(servers[0]?.breakdown.weightFileBytes).toBe(p.summary.memory.modelFileBytes);
      expect(servers[0]?.breakdown.kvAllocatedBytes).toBeGreaterThan(0);
      expect(p.summary.goodputRequestsPerSecond).not.toBeNull();
      expect(p.summary.replicas.map((r) => r.replica)).toEqual(['replica-0']);
      expect(p.resources?.processes.length).toBeGreaterThan(0);
      // --quick: 3 s of load.
      expect(p.summary.windowMs).toBeGreaterThan(2500);
      expect(p.summary.windowMs).toBeLessThan(3000 + 2000);
    }
    // Same workload, byte for byte: the same prompts in the same order for both pipelines.
    // Samples are stored in completion order, which batching may shuffle: compare in send order.
    const firstIdx = (name: string) =>
      result.pipelines
        .find((p) => p.name === name)
        ?.samples.filter((s) => !s.warmup)
        .sort((a, b) => a.sentMs - b.sentMs)
        .map((s) => s.index)
        .slice(0, 4)
        .sort((a, b) => a - b);
    expect(firstIdx('int8')).toEqual(firstIdx('fp32'));
    const [fp32, int8] = result.pipelines;
    expect(int8?.summary.memory.modelFileBytes).toBeLessThan((fp32?.summary.memory.modelFileBytes ?? 0) * 0.6);
    expect(int8?.quality?.top1Agreement).toBeGreaterThan(0.5);
    expect(fp32?.quality).toBeNull();
    expect(Object.keys(result.provenance.modelHashes)).toEqual(['fp32', 'int8']);
    expect(result.provenance.node).toBe(process.version);
    expect(lines.some((l) => l.includes('[int8] warming up'))).toBe(true);
    expect(pidsWithEnv(marker)).toEqual([]);
  });

  it('an external pipeline pointing at a server the test started works like a local one', async () => {
    const server: ManagedProcess = await spawnLlmbench({
      name: 'test-server',
      role: 'server',
      args: ['serve', '--model', 'tiny', '--port', '0', '--max-batch', '1', '--replica-name', 'ext-0', '--api-key', 'k123', '--exit-with-parent'],
      readyTimeoutMs: 120_000,
    });
    try {
      process.env.E2E_TEST_KEY = 'k123';
      const scenario = parseScenario(
        `name: ext
workload: { api: chat, distinctRequests: 8, promptTokens: 12, outputTokens: 8 }
load: { profile: constant, rate: 8, duration: 1500ms, warmupRequests: 1 }
pipelines:
  - { name: local, model: { source: tiny }, serving: { maxBatch: 1 } }
  - { name: external, target: { url: "${server.ready.url}/v1", apiKeyEnv: E2E_TEST_KEY, tokenizer: tiny } }
`,
        { source: 'ext.yaml', baseDir: dir },
      );
      const { result } = await runScenario(scenario, { outDir: join(dir, 'r2'), quality: false });
      expect(result.complete).toBe(true);
      const [local, ext] = result.pipelines;
      for (const p of [local, ext]) {
        if (!p) throw new Error('missing pipeline');
        expectConsistent(p);
        expect(p.summary.load.intendedRate).toBe(8);
        expect(p.summary.counts.total).toBe(12);
        expect(p.summary.load.p95ScheduleLagMs).not.toBeNull();
      }
      expect(ext?.summary.replicas.map((r) => r.replica)).toEqual(['ext-0']);
      // Nothing of an external target's memory is llmbench's to measure.
      expect(ext?.resources).toBeNull();
      expect(ext?.summary.memory.peakRssBytes).toBeNull();
      expect(ext?.samples.filter((s) => !s.warmup).map((s) => s.index)).toEqual(local?.samples.filter((s) => !s.warmup).map((s) => s.index));
    } finally {
      await server.stop();
    }
    expect(pidsWithEnv(marker)).toEqual([]);
  });

  it('SIGINT during a run stops every process it started, keeps the measurements and exits 130', async () => {
    const file = join(dir, 'long.yaml');
    writeFileSync(
      file,
      `name: long
workload: { distinctRequests: 8, promptTokens: 8, outputTokens: 8 }
load: { profile: concurrency, concurrency: 2, duration: 60s, warmupRequests: 1 }
pipelines:
  - { name: two, model: { source: tiny }, serving: { replicas: 2 } }
  - { name: one, model: { source: tiny } }
`,
    );
    const out = join(dir, 'r3');
    const bin = new URL('../../bin/llmbench.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'run', file, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const measuring = new Promise<void>((resolve) => {
      child.stderr.on('data', (c: string) => {
        stderr += c;
        if (/\[two\] \d+s: \d+ done/.test(stderr)) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([measuring, exited]);
    // Two servers and the balancer are up and under load now.
    const running = pidsWithEnv(marker).filter((p) => p !== child.pid);
    expect(running.length, stderr).toBeGreaterThanOrEqual(3);
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(pidsWithEnv(marker)).toEqual([]);
    expect(existsSync(join(out, 'result.json'))).toBe(true);
    const result = await readResultFile(out);
    expect(result.complete).toBe(false);
    expect(result.pipelines[0]?.complete).toBe(false);
    expect(result.pipelines[0]?.samples.length).toBeGreaterThan(1);
    // The second pipeline never started.
    expect(result.pipelines[1]?.samples).toEqual([]);
    expect(stderr).toContain('SIGINT: stopping every server llmbench started');
  }, 120_000);

  it('SIGINT while servers are still starting does not wait for them', async () => {
    const file = join(dir, 'starting.yaml');
    writeFileSync(file, 'name: starting\nload: { duration: 30s }\npipelines:\n  - { name: two, model: { source: tiny }, serving: { replicas: 2 } }\n');
    const bin = new URL('../../bin/llmbench.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'run', file, '--out', join(dir, 'r4')], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const starting = new Promise<void>((resolve) => {
      child.stderr.on('data', (c: string) => {
        stderr += c;
        if (stderr.includes('starting 2 servers')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([starting, exited]);
    child.kill('SIGINT');
    const t0 = Date.now();
    expect(await exited, stderr).toBe(130);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(pidsWithEnv(marker)).toEqual([]);
    const result = JSON.parse(readFileSync(join(dir, 'r4', 'result.json'), 'utf8')) as { complete: boolean; pipelines: Array<{ error: string | null }> };
    expect(result.complete).toBe(false);
    expect(result.pipelines[0]?.error).toBe('run interrupted');
  }, 60_000);
});

