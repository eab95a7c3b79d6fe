// One pipeline, one repeat: deploy, warm up, drive every load level while the monitor samples memory,
// inject faults on time, stop everything. Failures become data in the output, never a thrown error.
import { performance } from 'node:perf_hooks';
import { LlmbenchError } from '../errors.js';
import type { Scenario } from '../scenarios/types.js';
import { summarizePipeline } from '../stats/summarize.js';
import { compactSample } from '../result/requestRows.js';
import { HdrHistogram } from '../stats/hdrHistogram.js';
import type { AutocannonStats, BalancerStats, Deployment, HdrHistogramData, MemoryBreakdown, ResourceTrace, Sample } from '../types.js';
import { runAutocannon } from './autocannonDriver.js';
import { deployExternal } from './deployExternal.js';
import { deployLocal } from './deployLocal.js';
import { drive, warmUp, type DriveOptions, type DriveProgress } from './driver.js';
import { ResourceMonitor } from './monitor.js';
import { killAllNow } from './processes.js';
import type { PreparedPipeline } from './prepare.js';
import { planLevels } from './schedule.js';
import { shardPlan, type ShardSpec } from './shard.js';
import { StreamClient } from './streamClient.js';
import { judgeLevel } from './sweep.js';
import type { TokenCounter } from './tokenCounter.js';
import { apiPath, requestBody, type Workload, type WorkloadRequest } from './workload.js';

export interface PipelineRunInput {
  prepared: PreparedPipeline;
  scenario: Scenario;
  workload: Workload;
  tokenizer: TokenCounter | null;
  repeat: number;
  signal: AbortSignal;
  onProgress: (line: string) => void;
  monitorIntervalMs: number;
  readyTimeoutMs: number;
  /**
   * Takes each finished sample (tagged with its repeat, gaps still attached) and returns the compacted copy the
   * run keeps; the run's request log writes it out here. Default: compact only.
   */
  onSample?: (s: Sample) => Sample;
  /** Drive only this shard's share of every level (several load generators, merged later). */
  shard?: ShardSpec | null;
}

/** What one level measured. */
export interface LevelRecord {
  level: number | null;
  intendedRate: number | null;
  samples: Sample[];
  dispatchLagMs: number[];
  clientCpuPct: number;
  autocannon: AutocannonStats | null;
  /** Gaps of the level's measured ok requests (the samples keep only count, mean and max). */
  itlHistogram: HdrHistogramData | null;
}

export interface PipelineRunOutput {
  repeat: number;
  warmup: Sample[];
  levels: LevelRecord[];
  trace: ResourceTrace | null;
  events: Array<{ atMs: number; kind: string; detail: string }>;
  balancer: BalancerStats | null;
  /** Each server process's own memory breakdown (GET /memory), taken just before the pipeline stopped. */
  memoryBreakdown: Array<{ process: string; breakdown: MemoryBreakdown }> | null;
  /** Set when something failed; what was measured before is kept. */
  error: string | null;
  complete: boolean;
  /** Wall-clock time (ms since the epoch) of the measured start: what `merge` aligns shards on. */
  startEpochMs: number | null;
}

function errorText(e: unknown): string {
  // A user-facing error's hint says what to do (e.g. how to install nginx): keep it with the message.
  if (e instanceof LlmbenchError && e.hint) return `${e.message} (${e.hint})`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** GET /memory of every replica that still answers (a killed one is simply missing). */
async function serverBreakdowns(replicas: Deployment['replicas']): Promise<Array<{ process: string; breakdown: MemoryBreakdown }> | null> {
  const got = await Promise.all(
    replicas.map(async (r) => {
      try {
        const res = await fetch(`${r.url}/memory`, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) return null;
        return { process: r.name, breakdown: ((await res.json()) as { breakdown: MemoryBreakdown }).breakdown };
      } catch {
        return null;
      }
    }),
  );
  const ok = got.filter((g): g is { process: string; breakdown: MemoryBreakdown } => g !== null);
  return ok.length > 0 ? ok : null;
}

/** Runs one repeat of one pipeline. */
export async function runPipelineOnce(input: PipelineRunInput): Promise<PipelineRunOutput> {
  const { prepared, scenario, workload, signal } = input;
  const spec = prepared.spec;
  const tag = `[${spec.name}${scenario.repeat > 1 ? ` ${input.repeat + 1}/${scenario.repeat}` : ''}]`;
  const keep = input.onSample ?? compactSample;
  const out: PipelineRunOutput = { repeat: input.repeat, warmup: [], levels: [], trace: null, events: [], balancer: null, memoryBreakdown: null, error: null, complete: false, startEpochMs: null };
  let deployment: Deployment | null = null;
  let monitor: ResourceMonitor | null = null;
  let client: StreamClient | null = null;
  let measuredT0: number | null = null;
  const faultTimers: NodeJS.Timeout[] = [];
  let progressTimer: NodeJS.Timeout | null = null;
  let deploying: () => void = () => undefined;
  const event = (kind: string, detail: string): void => {
    const atMs = measuredT0 === null ? 0 : performance.now() - measuredT0;
    out.events.push({ atMs, kind, detail });
    input.onProgress(`${tag} ${kind}: ${detail}`);
  };

  try {
    let model: string | null = null;
    let apiKey: string | null = null;
    // Servers can take a while to load; an interrupt should not have to wait for them.
    const killStarting = (): void => killAllNow();
    signal.addEventListener('abort', killStarting, { once: true });
    deploying = () => signal.removeEventListener('abort', killStarting);
    if (spec.kind === 'external') {
      const target = await deployExternal(spec);
      deployment = target.deployment;
      model = target.model;
      apiKey = target.apiKey;
    } else {
      deployment = await deployLocal(spec, { readyTimeoutMs: input.readyTimeoutMs, onProgress: (m) => input.onProgress(`${tag} ${m}`), onEvent: event });
      const d = deployment;
      monitor = new ResourceMonitor(() => d.processes(), input.monitorIntervalMs);
      await monitor.start();
    }
    deploying();
    if (signal.aborted) throw new Error('run interrupted');

    const warmupT0 = performance.now();
    client = new StreamClient({ baseUrl: deployment.url, apiKey, tokenizer: input.tokenizer }, warmupT0);
    // autocannon reads whole responses: it always gets the non-streamed form of the same requests.
    const stream = workload.stream && scenario.load.driver === 'streaming';
    const bodyOptions = { extraBody: spec.kind === 'external' ? spec.target.extraBody : null, fixedOutput: workload.fixedOutput };
    const bodies = workload.requests.map((r) => requestBody(r, workload.api, stream, model, bodyOptions));
    // Bodies past the built prompts are made when first sent; only the newest are kept (ordinals only grow).
    const lateBodies = new Map<number, string>();
    const request = (k: number): { req: WorkloadRequest; body: string } => {
      const req = workload.at(k);
      if (k < bodies.length) return { req, body: bodies[k] as string };
      if (workload.reusePrompts) return { req, body: bodies[k % bodies.length] as string };
      let body = lateBodies.get(k);
      if (body === undefined) {
        body = requestBody(req, workload.api, stream, model, bodyOptions);
        if (lateBodies.size >= 4096) lateBodies.clear();
        lateBodies.set(k, body);
      }
      return { req, body };
    };
    const progress: DriveProgress = { sent: 0, done: 0, failed: 0 };
    const base: Omit<DriveOptions, 'firstRequest'> = {
      client,
      request,
      path: apiPath(workload.api),
      stream,
      timeoutMs: scenario.load.requestTimeoutMs,
      signal,
      progress,
    };
    const load = scenario.load;
    if (load.warmupRequests > 0) {
      input.onProgress(`${tag} warming up (${load.warmupRequests} requests)`);
      const replicas = Math.max(1, deployment.replicas.length);
      out.warmup = await warmUp(load.warmupRequests, Math.max(replicas, Math.min(load.concurrency, 4)), { ...base, firstRequest: 0 });
    }
    let next = load.warmupRequests;
    const levels = planLevels(load, scenario.seed);
    const started = performance.now();
    progressTimer = setInterval(() => {
      const s = ((performance.now() - started) / 1000).toFixed(0);
      input.onProgress(`${tag} ${s}s: ${progress.done - out.warmup.length} done, ${progress.failed} failed, ${progress.sent - progress.done} in flight`);
    }, 2000);
    for (const [li, { level, plan }] of levels.entries()) {
      if (signal.aborted) break;
      if (level !== null) input.onProgress(`${tag} sweep level ${level} (${load.sweep?.over})`);
      const opts: DriveOptions = {
        ...base,
        firstRequest: next,
        onStart: (t0) => {
          if (measuredT0 !== null || !client) return;
          // Every measured time of this repeat is relative to the start of its first level.
          measuredT0 = t0;
          out.startEpochMs = performance.timeOrigin + t0;
          client.clock0 = t0;
          if (spec.kind === 'local' && deployment?.kill) {
            const d = deployment;
            for (const f of spec.faults) {
              faultTimers.push(
                setTimeout(() => {
                  d.kill?.(f.kill, f.restartAfterMs).catch((e: unknown) => event('kill-failed', errorText(e)));
                }, f.atMs),
              );
            }
          }
        },
      };
      const intendedRate = plan.kind === 'open' ? plan.intendedRatePerSec / (input.shard?.count ?? 1) : null;
      if (load.driver === 'autocannon') {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        opts.onStart?.(t0);
        const stats = await runAutocannon({ baseUrl: deployment.url, path: apiPath(workload.api), bodies, apiKey, plan, timeoutMs: load.requestTimeoutMs, signal });
        const cpu = process.cpuUsage(cpu0);
        const wall = performance.now() - t0;
        out.levels.push({ level, intendedRate, samples: [], dispatchLagMs: [], clientCpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100, autocannon: stats, itlHistogram: null });
        continue;
      }
      const itl = new HdrHistogram();
      opts.onSample = (s) => {
        const tagged = { ...s, run: input.repeat };
        if (!tagged.warmup && tagged.status === 'ok') for (const g of tagged.itlMs) itl.record(g * 1000);
        return keep(tagged);
      };
      let r;
      if (input.shard && input.shard.count > 1) {
        // This shard's requests keep the workload items they have in the unsharded level.
        const sharded = shardPlan(plan, input.shard);
        const levelStart = next;
        r = await drive(sharded.plan, { ...opts, request: (j) => opts.request(levelStart + sharded.positions(j)), firstRequest: 0 });
        next += plan.kind === 'open' ? plan.arrivalsMs.length : r.consumed * input.shard.count;
      } else {
        r = await drive(plan, opts);
        next += r.consumed;
      }
      out.levels.push({ level, intendedRate, samples: r.samples, dispatchLagMs: r.dispatchLagMs, clientCpuPct: r.clientCpuPct, autocannon: null, itlHistogram: itl.toData() });
      if (load.sweep && level !== null && load.sweep.stopWhen !== null && li < levels.length - 1) {
        const summarize = (rec: LevelRecord) =>
          summarizePipeline(rec.samples, [], {
            profile: load.profile,
            slo: scenario.slo,
            intendedRate: rec.intendedRate,
            dispatchLagMs: rec.dispatchLagMs,
            clientCpuPct: rec.clientCpuPct,
            modelFileBytes: null,
            faultsInjected: false,
            itlHistogram: rec.itlHistogram,
          });
        const first = out.levels[0] as LevelRecord;
        const prev = out.levels.length > 1 ? (out.levels[out.levels.length - 2] as LevelRecord) : null;
        const verdict = judgeLevel(load.sweep.over, level, summarize(out.levels[out.levels.length - 1] as LevelRecord), summarize(first), prev ? summarize(prev) : null);
        const stop = load.sweep.stopWhen === 'saturated' ? verdict.saturated : verdict.sloBroken;
        if (stop) {
          input.onProgress(`${tag} stopping the sweep at level ${level}: ${verdict.reason ?? ''}`);
          break;
        }
      }
    }
    // Warm-up ran on its own clock; move it before the measured start so all times share one origin.
    const shift = warmupT0 - (measuredT0 ?? warmupT0);
    out.warmup = out.warmup.map((s) =>
      keep({
        ...s,
        run: input.repeat,
        scheduledMs: s.scheduledMs + shift,
        sentMs: s.sentMs + shift,
        firstTokenMs: s.firstTokenMs === null ? null : s.firstTokenMs + shift,
        endMs: s.endMs + shift,
      }),
    );
    out.complete = !signal.aborted;
    if (signal.aborted) out.error = 'run interrupted';
  } catch (e) {
    deploying();
    out.error = signal.aborted ? 'run interrupted' : errorText(e);
    input.onProgress(`${tag} failed: ${out.error.split('\n')[0] ?? ''}`);
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    for (const t of faultTimers) clearTimeout(t);
    if (deployment?.balancerStats) out.balancer = await deployment.balancerStats().catch(() => null);
    if (deployment?.kind === 'local') out.memoryBreakdown = await serverBreakdowns(deployment.replicas);
    if (monitor) out.trace = await monitor.stop(measuredT0 ?? performance.now());
    client?.close();
    if (deployment) await deployment.stop();
  }
  return out;
}
