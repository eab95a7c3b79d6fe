// One pipeline, one repeat: deploy, warm up, drive every load level while the monitor samples memory,
// inject faults on time, stop everything. Failures become data in the output, never a thrown error.
import { performance } from 'node:perf_hooks';
import { LlmbenchError } from '../errors.js';
import type { Scenario } from '../scenarios/types.js';
import type { LocalPipelineSpec } from '../scenarios/types.js';
import { compactSample } from '../result/requestRows.js';
import type { BalancerStats, Deployment, MemoryBreakdown, PlacementReport, ResourceTrace, Sample } from '../types.js';
import { deploy, type Deployed } from './deploy/deployers.js';
import { warmUp, type DriveOptions, type DriveProgress } from './load/driver.js';
import { LEVEL_DRIVERS, type LevelRecord } from './load/levelDrivers.js';
import { killAllNow } from './deploy/processes.js';
import type { PreparedPipeline } from './plan/prepare.js';
import { planLevels } from './plan/schedule.js';
import type { ShardSpec } from './plan/shard.js';
import { StreamClient } from './load/streamClient.js';
import { sweepStopReason } from './plan/sweep.js';
import type { TokenCounter } from './load/tokenCounter.js';
import { apiPath, requestSource, type Workload } from './plan/workload.js';

export type { LevelRecord } from './load/levelDrivers.js';

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

export interface PipelineRunOutput {
  repeat: number;
  warmup: Sample[];
  levels: LevelRecord[];
  trace: ResourceTrace | null;
  events: Array<{ atMs: number; kind: string; detail: string }>;
  balancer: BalancerStats | null;
  /** Each server process's own memory breakdown (GET /memory), taken just before the pipeline stopped. */
  memoryBreakdown: Array<{ process: string; breakdown: MemoryBreakdown }> | null;
  /** Node placement per server process, where it was checked (GPU devices by default). */
  placement: Array<{ process: string; placement: PlacementReport }> | null;
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

/**
 * GET `path` of every replica that still answers (a killed one is simply missing), one entry per server
 * process: replicas that share a process (same pid) are one entry named after all of them.
 */
async function perServerProcess<T>(replicas: Deployment['replicas'], path: string, pick: (body: Record<string, unknown>) => T | null): Promise<Array<{ process: string; value: T }> | null> {
  const got = await Promise.all(
    replicas.map(async (r) => {
      try {
        const res = await fetch(`${r.url}${path}`, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) return null;
        const body = (await res.json()) as Record<string, unknown>;
        const value = pick(body);
        return value === null ? null : { name: r.name, pid: typeof body.pid === 'number' ? body.pid : null, value };
      } catch {
        return null;
      }
    }),
  );
  const byProcess = new Map<string, { names: string[]; value: T }>();
  got.forEach((g, i) => {
    if (!g) return;
    const key = g.pid === null ? `replica ${i}` : `pid ${g.pid}`;
    const seen = byProcess.get(key);
    if (seen) seen.names.push(g.name);
    else byProcess.set(key, { names: [g.name], value: g.value });
  });
  const out = [...byProcess.values()].map((p) => ({ process: p.names.join('+'), value: p.value }));
  return out.length > 0 ? out : null;
}

/** Each server process's memory breakdown (GET /memory). */
async function serverBreakdowns(replicas: Deployment['replicas']): Promise<Array<{ process: string; breakdown: MemoryBreakdown }> | null> {
  const got = await perServerProcess(replicas, '/memory', (b) => (b.breakdown as MemoryBreakdown | undefined) ?? null);
  return got ? got.map((g) => ({ process: g.process, breakdown: g.value })) : null;
}

/** Where each server process's onnxruntime placed the model's nodes (GET /placement; null where not checked). */
async function serverPlacements(replicas: Deployment['replicas']): Promise<Array<{ process: string; placement: PlacementReport }> | null> {
  const got = await perServerProcess(replicas, '/placement', (b) => (b.placement as PlacementReport | null | undefined) ?? null);
  return got ? got.map((g) => ({ process: g.process, placement: g.value })) : null;
}

/** Runs one repeat of one pipeline: deploy, warm up, drive each level, tear down. */
export async function runPipelineOnce(input: PipelineRunInput): Promise<PipelineRunOutput> {
  const { prepared, scenario, signal } = input;
  const spec = prepared.spec;
  const tag = `[${spec.name}${scenario.repeat > 1 ? ` ${input.repeat + 1}/${scenario.repeat}` : ''}]`;
  const keep = input.onSample ?? compactSample;
  const out: PipelineRunOutput = { repeat: input.repeat, warmup: [], levels: [], trace: null, events: [], balancer: null, memoryBreakdown: null, placement: null, error: null, complete: false, startEpochMs: null };
  const clock: { measuredT0: number | null } = { measuredT0: null };
  const event = (kind: string, detail: string): void => {
    const atMs = clock.measuredT0 === null ? 0 : performance.now() - clock.measuredT0;
    out.events.push({ atMs, kind, detail });
    input.onProgress(`${tag} ${kind}: ${detail}`);
  };
  let deployed: Deployed | null = null;
  let client: StreamClient | null = null;
  const faultTimers: NodeJS.Timeout[] = [];
  let stopProgress = (): void => undefined;
  try {
    deployed = await deployInterruptibly(input, tag, event);
    const warmupT0 = performance.now();
    client = new StreamClient({ baseUrl: deployed.deployment.url, apiKey: deployed.apiKey, tokenizer: input.tokenizer }, warmupT0);
    const progress: DriveProgress = { sent: 0, done: 0, failed: 0 };
    const ctx = loadContext(input, deployed, client, progress);
    out.warmup = await warmUpStep(input, tag, deployed.deployment, ctx.drive);
    stopProgress = progressLines(input, tag, progress, () => out.warmup.length);
    const started = deployed;
    const onStart = (t0: number): void => {
      if (clock.measuredT0 !== null || !client) return;
      // Every measured time of this repeat is relative to the start of its first level.
      clock.measuredT0 = t0;
      out.startEpochMs = performance.timeOrigin + t0;
      client.clock0 = t0;
      if (spec.kind === 'local') faultTimers.push(...scheduleFaults(spec, started.deployment, event));
      input.onProgress(`${tag} load started`);
    };
    await driveLevels(input, tag, ctx, onStart, out);
    input.onProgress(`${tag} load done: ${progress.done - out.warmup.length} requests`);
    // Warm-up ran on its own clock; move it before the measured start so all times share one origin.
    out.warmup = out.warmup.map((s) => keep(shiftSample({ ...s, run: input.repeat }, warmupT0 - (clock.measuredT0 ?? warmupT0))));
    out.complete = !signal.aborted;
    if (signal.aborted) out.error = 'run interrupted';
  } catch (e) {
    out.error = signal.aborted ? 'run interrupted' : errorText(e);
    input.onProgress(`${tag} failed: ${out.error.split('\n')[0] ?? ''}`);
  } finally {
    stopProgress();
    for (const t of faultTimers) clearTimeout(t);
    await tearDown(deployed, client, clock.measuredT0, out);
  }
  return out;
}

/** Deploys the pipeline; an interrupt kills servers that are still loading instead of waiting for them. */
async function deployInterruptibly(input: PipelineRunInput, tag: string, event: (kind: string, detail: string) => void): Promise<Deployed> {
  const killStarting = (): void => killAllNow();
  input.signal.addEventListener('abort', killStarting, { once: true });
  try {
    const deployed = await deploy(input.prepared.spec, {
      readyTimeoutMs: input.readyTimeoutMs,
      monitorIntervalMs: input.monitorIntervalMs,
      onProgress: (m) => input.onProgress(`${tag} ${m}`),
      onEvent: event,
    });
    if (input.signal.aborted) {
      await deployed.monitor?.stop(performance.now());
      await deployed.deployment.stop();
      throw new Error('run interrupted');
    }
    return deployed;
  } finally {
    input.signal.removeEventListener('abort', killStarting);
  }
}

interface LoadContext {
  drive: Omit<DriveOptions, 'firstRequest'>;
  bodies: string[];
  baseUrl: string;
  apiKey: string | null;
}

/** Request bodies and send options for this deployment, shaped for the scenario's driver. */
function loadContext(input: PipelineRunInput, deployed: Deployed, client: StreamClient, progress: DriveProgress): LoadContext {
  const { workload, scenario } = input;
  const stream = workload.stream && LEVEL_DRIVERS[scenario.load.driver].streams;
  const source = requestSource(workload, stream, deployed.model, { extraBody: deployed.extraBody, fixedOutput: workload.fixedOutput });
  return {
    bodies: source.bodies,
    baseUrl: deployed.deployment.url,
    apiKey: deployed.apiKey,
    drive: { client, request: source.request, path: apiPath(workload.api), stream, timeoutMs: scenario.load.requestTimeoutMs, signal: input.signal, progress },
  };
}

async function warmUpStep(input: PipelineRunInput, tag: string, deployment: Deployment, drive: LoadContext['drive']): Promise<Sample[]> {
  const load = input.scenario.load;
  if (load.warmupRequests <= 0) return [];
  input.onProgress(`${tag} warming up (${load.warmupRequests} requests)`);
  const replicas = Math.max(1, deployment.replicas.length);
  return warmUp(load.warmupRequests, Math.max(replicas, Math.min(load.concurrency, 4)), { ...drive, firstRequest: 0 });
}

/** Runs every planned level with the scenario's driver, stopping a sweep once it has gone far enough. */
async function driveLevels(input: PipelineRunInput, tag: string, ctx: LoadContext, onStart: (t0: number) => void, out: PipelineRunOutput): Promise<void> {
  const { scenario, signal } = input;
  const load = scenario.load;
  const driver = LEVEL_DRIVERS[load.driver];
  const keep = input.onSample ?? compactSample;
  let next = load.warmupRequests;
  const levels = planLevels(load, scenario.seed);
  for (const [li, planned] of levels.entries()) {
    if (signal.aborted) break;
    if (planned.level !== null) input.onProgress(`${tag} sweep level ${planned.level} (${load.sweep?.over})`);
    const { record, consumed } = await driver.run({
      planned,
      drive: { ...ctx.drive, firstRequest: next, onStart },
      bodies: ctx.bodies,
      baseUrl: ctx.baseUrl,
      apiKey: ctx.apiKey,
      load,
      repeat: input.repeat,
      shard: input.shard ?? null,
      intendedRate: planned.plan.kind === 'open' ? planned.plan.intendedRatePerSec / (input.shard?.count ?? 1) : null,
      keep,
    });
    next += consumed;
    out.levels.push(record);
    if (li === levels.length - 1) break;
    const stop = sweepStopReason(load, scenario.slo, out.levels);
    if (stop !== null) {
      input.onProgress(`${tag} stopping the sweep at level ${planned.level}: ${stop}`);
      break;
    }
  }
}

/** A progress line every 2 s while levels run; returns the function that stops it. */
function progressLines(input: PipelineRunInput, tag: string, progress: DriveProgress, warmupCount: () => number): () => void {
  const started = performance.now();
  const timer = setInterval(() => {
    const s = ((performance.now() - started) / 1000).toFixed(0);
    input.onProgress(`${tag} ${s}s: ${progress.done - warmupCount()} done, ${progress.failed} failed, ${progress.sent - progress.done} in flight`);
  }, 2000);
  return () => clearInterval(timer);
}

/** Timers for the scenario's replica kills, relative to the measured start. */
function scheduleFaults(spec: LocalPipelineSpec, deployment: Deployment, event: (kind: string, detail: string) => void): NodeJS.Timeout[] {
  const kill = deployment.kill?.bind(deployment);
  if (!kill) return [];
  return spec.faults.map((f) =>
    setTimeout(() => {
      kill(f.kill, f.restartAfterMs).catch((e: unknown) => event('kill-failed', errorText(e)));
    }, f.atMs),
  );
}

function shiftSample(s: Sample, shiftMs: number): Sample {
  return {
    ...s,
    scheduledMs: s.scheduledMs + shiftMs,
    sentMs: s.sentMs + shiftMs,
    firstTokenMs: s.firstTokenMs === null ? null : s.firstTokenMs + shiftMs,
    endMs: s.endMs + shiftMs,
  };
}

/** Balancer counters and each server's memory breakdown while they still run, then everything stopped. */
async function tearDown(deployed: Deployed | null, client: StreamClient | null, measuredT0: number | null, out: PipelineRunOutput): Promise<void> {
  const deployment = deployed?.deployment;
  if (deployment?.balancerStats) out.balancer = await deployment.balancerStats().catch(() => null);
  if (deployment?.kind === 'local') {
    out.memoryBreakdown = await serverBreakdowns(deployment.replicas);
    out.placement = await serverPlacements(deployment.replicas);
  }
  if (deployed?.monitor) out.trace = await deployed.monitor.stop(measuredT0 ?? performance.now());
  client?.close();
  if (deployment) await deployment.stop();
}
