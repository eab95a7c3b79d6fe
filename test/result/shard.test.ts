// Several load generators: two `llmbench run --shard I/2` processes against one local server, merged, against
// an unsharded run at the same total rate.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrivialSseServer, type TrivialServer } from '../../src/bench/trivialSseServer.js';
import { readResultFile } from '../../src/result/readResult.js';
import { parseShard, shardPlan } from '../../src/runners/plan/shard.js';

let dir: string;
let server: TrivialServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-shard-'));
  // Spaced chunks: latency is mostly the server's own pacing, so a busy machine moves it little.
  server = await startTrivialSseServer({ chunks: 4, chunkDelayMs: 10 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const bin = new URL('../../bin/llmbench.js', import.meta.url).pathname;

function llmbench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, out });
    });
  });
}

describe('shards', () => {
  it('parses I/N and takes I from JOB_COMPLETION_INDEX, with clear errors', () => {
    expect(parseShard('1/4', {})).toEqual({ index: 1, count: 4 });
    expect(parseShard('4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4', {})).toThrow('--shard 4: no shard index given and JOB_COMPLETION_INDEX is not set');
    expect(() => parseShard('4/4', {})).toThrow('--shard 4/4: the index must be below the count (0 to 3), got 4');
    expect(() => parseShard('a/b', {})).toThrow('--shard: expected I/N (e.g. 0/4) or N with JOB_COMPLETION_INDEX set, got "a/b"');
  });

  it('deals every request of a schedule to exactly one shard, at its original time', () => {
    const plan = { kind: 'open' as const, arrivalsMs: [0, 5, 11, 12, 20, 31, 40], intendedRatePerSec: 150, maxConcurrency: 5, durationMs: 45 };
    const parts = [0, 1, 2].map((index) => shardPlan(plan, { index, count: 3 }));
    const times = parts.flatMap((p) => (p.plan.kind === 'open' ? p.plan.arrivalsMs : [])).sort((a, b) => a - b);
    expect(times).toEqual(plan.arrivalsMs);
    expect(parts.map((p) => (p.plan.kind === 'open' ? [p.plan.intendedRatePerSec, p.plan.maxConcurrency] : null))).toEqual([[50, 2], [50, 2], [50, 1]]);
    expect(parts[1]?.positions(2)).toBe(7);
    const closed = shardPlan({ kind: 'closed', concurrency: 5, durationMs: 1000, maxRequests: 11 }, { index: 1, count: 2 });
    expect(closed.plan).toEqual({ kind: 'closed', concurrency: 2, durationMs: 1000, maxRequests: 5 });
  });

  it('two shards merged match an unsharded run at the same total rate', async () => {
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      `name: fleet
workload: { distinctRequests: 32, promptTokens: 8, outputTokens: 4 }
load: { profile: constant, rate: 60, duration: 3s, warmupRequests: 1 }
pipelines:
  - { name: ext, target: { url: "${server.url}" } }
`,
    );
    const [a, b] = await Promise.all([
      llmbench(['run', file, '--shard', '0/2', '--out', join(dir, 's0')]),
      llmbench(['run', file, '--shard', '2', '--out', join(dir, 's1')], { JOB_COMPLETION_INDEX: '1' }),
    ]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    const whole = await llmbench(['run', file, '--out', join(dir, 'whole')]);
    expect(whole.code, whole.out).toBe(0);
    const merged = await llmbench(['merge', join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'merged')]);
    expect(merged.code, merged.out).toBe(0);
    expect(merged.out).toContain('merged 2 shards (ext 180 requests)');

    const [s0, s1, m, w] = await Promise.all(['s0', 's1', 'merged', 'whole'].map((d) => readResultFile(join(dir, d))));
    const pm = m?.pipelines[0];
    const pw = w?.pipelines[0];
    if (!pm || !pw || !s0 || !s1) throw new Error('missing result');
    expect(s0.shard).toEqual({ index: 0, count: 2 });
    expect(s1.shard).toEqual({ index: 1, count: 2 });
    expect(s0.pipelines[0]?.summary.load.intendedRate).toBe(30);
    // Same requests: the count, the workload items, and the schedule's total rate.
    expect(pm.summary.counts.total).toBe(pw.summary.counts.total);
    expect(pm.summary.counts.total).toBe(180);
    const items = (p: typeof pm) => p.samples.filter((s) => !s.warmup).map((s) => s.index).sort((x, y) => x - y);
    expect(items(pm)).toEqual(items(pw));
    expect(pm.summary.load.intendedRate).toBe(60);
    expect(pm.summary.counts.ok).toBe(180);
    // Histograms merged without loss: every gap of both shards is in the merged one.
    expect(pm.itlHistogram?.count).toBe((s0.pipelines[0]?.itlHistogram?.count ?? 0) + (s1.pipelines[0]?.itlHistogram?.count ?? 0));
    // Dispatch lag too: the merged histogram holds every request's lag, its max is the worse shard's.
    expect(pm.dispatchLagHistogram?.count).toBe(180);
    const maxLagMs = Math.max(...[s0, s1].map((r) => (r.pipelines[0]?.dispatchLagHistogram?.maxUs ?? 0) / 1000));
    expect(pm.summary.load.maxScheduleLagMs).toBeCloseTo(maxLagMs, 6);
    // Same distribution: medians within a factor of 1.5 (same server, same rate; generous for a busy machine),
    // and the merged window covers the same 3 s schedule.
    const ratio = (pm.summary.e2eMs.p50 as number) / (pw.summary.e2eMs.p50 as number);
    expect(ratio).toBeGreaterThan(1 / 1.5);
    expect(ratio).toBeLessThan(1.5);
    // Shards are aligned on their wall-clock starts: the merged window is the schedule plus the start skew.
    const skewMs = Math.abs((s0.pipelines[0]?.repeatStartsEpochMs?.[0] ?? 0) - (s1.pipelines[0]?.repeatStartsEpochMs?.[0] ?? 0));
    expect(pm.summary.windowMs).toBeGreaterThan(2900 + skewMs);
    expect(pm.summary.windowMs).toBeLessThan(3700 + skewMs);
    // The merged folder reports like any other run.
    const report = await llmbench(['report', join(dir, 'merged')]);
    expect(report.code, report.out).toBe(0);
    // Merging an incomplete set is refused.
    const one = await llmbench(['merge', join(dir, 's0'), join(dir, 's0'), '--out', join(dir, 'bad')]);
    expect(one.code).toBe(2);
    expect(one.out).toContain('are both shard 0/2');
  }, 90_000);
});
