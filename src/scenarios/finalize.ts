// The mapping from the file shape to the typed Scenario: defaults that depend on other fields, absolute
// paths, milliseconds. Checks that need the disk (model folders, JSONL files) add "path: message" problems.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { LlmbenchError } from '../errors.js';
import { parseGate } from '../gate/parse.js';
import { PRESET_NAMES, type QuantMethod } from '../types.js';
import { SCENARIO_DEFAULTS as D } from './defaults.js';
import { parseDurationMs } from './duration.js';
import type { ScenarioFile, ScenarioFilePipeline } from './schema.js';
import type {
  BalancerSpec,
  ExternalPipelineSpec,
  LengthDist,
  LoadSpec,
  LocalPipelineSpec,
  PipelineSpec,
  Scenario,
  ServingSpec,
  StageSpec,
  WorkloadSpec,
} from './types.js';

/** Where relative paths resolve and whether files must exist. */
export interface FinalizeContext {
  source: string;
  baseDir: string;
  checkFiles: boolean;
}

type RawLength = ScenarioFile['workload']['outputTokens'];

function lengthDist(raw: RawLength): LengthDist {
  if (raw.dist === 'fixed') return { dist: 'fixed', value: raw.value };
  if (raw.dist === 'uniform') return { dist: 'uniform', min: raw.min, max: raw.max };
  return { dist: raw.dist, mean: raw.mean, sd: raw.sd, min: raw.min, max: raw.max ?? null };
}

function resolveModelSource(source: string, path: string, ctx: FinalizeContext, problems: string[], fileOk = false): string {
  // A preset may carry a seed: tiny@7.
  if ((PRESET_NAMES as readonly string[]).includes(source.split('@')[0] as string) && /^[a-z0-9]+(@\d+)?$/.test(source)) return source;
  const dir = isAbsolute(source) ? source : resolve(ctx.baseDir, source);
  if (ctx.checkFiles && !(existsSync(dir) && (statSync(dir).isDirectory() || (fileOk && statSync(dir).isFile())))) {
    problems.push(`${path}: "${source}" is neither a preset (${PRESET_NAMES.join(', ')}) nor an existing folder${fileOk ? ' or tokenizer.json file' : ''}`);
  }
  return dir;
}

function workloadSpec(raw: ScenarioFile['workload'], ctx: FinalizeContext, problems: string[]): WorkloadSpec {
  // /v1/generate answers in one piece, so it is never streamed.
  const stream = raw.api === 'generate' ? false : raw.stream;
  if ('jsonl' in raw) {
    const path = isAbsolute(raw.jsonl) ? raw.jsonl : resolve(ctx.baseDir, raw.jsonl);
    if (ctx.checkFiles && !existsSync(path)) problems.push(`workload.jsonl: file not found: ${path}`);
    return {
      kind: 'jsonl',
      api: raw.api,
      stream,
      path,
      reusePrompts: raw.reusePrompts,
      fixedOutput: raw.fixedOutput,
      outputTokens: lengthDist(raw.outputTokens),
    };
  }
  return {
    kind: 'synthetic',
    api: raw.api,
    stream,
    distinctRequests: raw.distinctRequests,
    reusePrompts: raw.reusePrompts,
    fixedOutput: raw.fixedOutput,
    promptTokens: lengthDist(raw.promptTokens),
    outputTokens: lengthDist(raw.outputTokens),
  };
}

/**
 * The one rule that spans two sections (the others live with their section in rules.ts). It reads the raw
 * data so that it is reported together with any other problem of the file.
 */
export function crossSectionProblems(data: unknown): string[] {
  const d = data as { load?: { sweep?: { stopWhen?: unknown } }; slo?: unknown } | null;
  if (d && typeof d === 'object' && d.load?.sweep?.stopWhen === 'slo' && (d.slo === undefined || d.slo === null)) {
    return ['load.sweep.stopWhen: "slo" needs an slo section'];
  }
  return [];
}

function loadSpec(raw: ScenarioFile['load']): LoadSpec {
  return {
    profile: raw.profile,
    concurrency: raw.concurrency,
    rate: raw.rate ?? null,
    rateFromCapacity: raw.rateFromCapacity
      ? { factor: raw.rateFromCapacity.factor, probeMs: raw.rateFromCapacity.probe, concurrency: raw.rateFromCapacity.concurrency ?? null }
      : null,
    burstiness: raw.burstiness,
    maxConcurrency: raw.maxConcurrency ?? null,
    warmupRequests: raw.warmupRequests,
    durationMs: raw.duration,
    requests: raw.requests ?? null,
    sweep: raw.sweep
      ? { over: raw.sweep.over, levels: raw.sweep.levels, arrival: raw.sweep.arrival, stopWhen: raw.sweep.stopWhen ?? null }
      : null,
    driver: raw.driver,
    requestTimeoutMs: raw.requestTimeout,
  };
}

type RawLocal = Extract<ScenarioFilePipeline, { model: unknown }>;
type RawExternal = Extract<ScenarioFilePipeline, { target: unknown }>;

function deadlineSpec(raw: RawLocal['serving'], ctx: FinalizeContext, at: string, problems: string[]): ServingSpec['deadline'] {
  if (!raw.deadline || !raw.fallback) return null;
  const f = raw.fallback;
  return {
    afterMs: raw.deadline.after,
    scope: raw.deadline.scope,
    fallback:
      f.kind === 'canned'
        ? { kind: 'canned', text: f.text }
        : {
            kind: 'model',
            source: resolveModelSource(f.source, `${at}.serving.fallback.source`, ctx, problems),
            quantize: (f.quantize ?? null) as QuantMethod | null,
            maxBatch: f.maxBatch ?? raw.maxBatch,
          },
  };
}

function servingSpec(raw: RawLocal['serving'], ctx: FinalizeContext, at: string, problems: string[]): ServingSpec {
  const devices = Array.from({ length: raw.replicas }, (_, i) =>
    Array.isArray(raw.device) ? (raw.device[i] ?? raw.device[0] ?? D.serving.device) : raw.device,
  );
  let stages: ServingSpec['stages'] = null;
  if (typeof raw.stages === 'number') {
    stages = { count: raw.stages, explicit: null };
  } else if (Array.isArray(raw.stages)) {
    const explicit: StageSpec[] = raw.stages.map((s) => ({
      firstLayer: s.layers[0],
      lastLayer: s.layers[1],
      device: s.device ?? devices[0] ?? D.serving.device,
      threads: s.threads ?? raw.threads,
    }));
    stages = { count: explicit.length, explicit };
  }
  return {
    replicas: raw.replicas,
    replicaMode: raw.replicaMode,
    threads: raw.threads,
    devices,
    maxBatch: raw.maxBatch,
    maxQueue: raw.maxQueue,
    timeoutMs: raw.timeoutMs,
    stages,
    deadline: deadlineSpec(raw, ctx, at, problems),
    maxContext: raw.maxContext ?? null,
    kvDtype: raw.kvDtype ?? null,
    cpuFallback: raw.cpuFallback ?? true,
  };
}

function localPipeline(raw: RawLocal, at: string, ctx: FinalizeContext, problems: string[]): LocalPipelineSpec {
  if (raw.serving.kvDtype !== undefined && raw.serving.stages !== undefined) problems.push(`${at}.serving.kvDtype: cannot be combined with serving.stages (stage workers keep the graph's KV type)`);
  if (raw.serving.cpuFallback === false && raw.serving.stages !== undefined) problems.push(`${at}.serving.cpuFallback: false cannot be combined with serving.stages yet (stage workers keep onnxruntime's CPU fallback)`);
  const serving = servingSpec(raw.serving, ctx, at, problems);
  const fb = raw.balancer?.fallback;
  const balancer: BalancerSpec = raw.balancer
    ? {
        kind: raw.balancer.kind,
        policy: raw.balancer.policy,
        tries: raw.balancer.tries,
        upstreamTimeoutMs: raw.balancer.upstreamTimeout,
        fallback: fb
          ? {
              replicas: fb.replicas,
              model: { source: resolveModelSource(fb.model.source, `${at}.balancer.fallback.model.source`, ctx, problems), quantize: (fb.model.quantize ?? null) as QuantMethod | null },
              threads: fb.threads ?? serving.threads,
              maxBatch: fb.maxBatch ?? serving.maxBatch,
            }
          : null,
      }
    : {
        kind: serving.replicas > 1 ? D.balancer.kindForReplicas : 'none',
        policy: D.balancer.policy,
        tries: D.balancer.tries,
        upstreamTimeoutMs: parseDurationMs(D.balancer.upstreamTimeout) as number,
        fallback: null,
      };
  return {
    kind: 'local',
    name: raw.name,
    baseline: raw.baseline === true,
    model: {
      source: resolveModelSource(raw.model.source, `${at}.model.source`, ctx, problems),
      quantize: (raw.model.quantize ?? null) as QuantMethod | null,
      blockSize: raw.model.blockSize ?? null,
      variant: raw.model.variant ?? null,
    },
    serving,
    balancer,
    faults: raw.faults.map((f) => ({ atMs: f.at, kill: f.kill, restartAfterMs: f.restartAfter ?? null })),
  };
}

/** Base URL without a trailing slash or `/v1` (validity and the loopback rule are checked in rules.ts). */
function targetUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function externalPipeline(raw: RawExternal, at: string, ctx: FinalizeContext, problems: string[]): ExternalPipelineSpec {
  return {
    kind: 'external',
    name: raw.name,
    baseline: raw.baseline === true,
    target: {
      url: targetUrl(raw.target.url),
      model: raw.target.model ?? null,
      apiKeyEnv: raw.target.apiKeyEnv ?? null,
      tokenizer: raw.target.tokenizer
        ? resolveModelSource(raw.target.tokenizer, `${at}.target.tokenizer`, ctx, problems, true)
        : null,
      extraBody: raw.target.extraBody ?? null,
      allowRemote: raw.target.allowRemote === true,
    },
  };
}

function pipelines(raw: ScenarioFile['pipelines'], ctx: FinalizeContext, problems: string[]): PipelineSpec[] {
  const specs = raw.map((p, i) =>
    'target' in p ? externalPipeline(p, `pipelines[${i}]`, ctx, problems) : localPipeline(p, `pipelines[${i}]`, ctx, problems),
  );
  const marked = specs.flatMap((p, i) => (p.baseline ? [i] : []));
  const baselineIndex = marked[0] ?? 0;
  return specs.map((p, i) => ({ ...p, baseline: i === baselineIndex }));
}

/** Applies cross-field rules and builds the Scenario; problems are returned, not thrown. */
export function finalizeScenario(file: ScenarioFile, ctx: FinalizeContext): { scenario: Scenario; problems: string[] } {
  const problems: string[] = [];
  const slo = file.slo
    ? { ttftMs: file.slo.ttftMs ?? null, tpotMs: file.slo.tpotMs ?? null, e2eMs: file.slo.e2eMs ?? null }
    : null;
  const scenario: Scenario = {
    name: file.name,
    description: file.description ?? null,
    seed: file.seed,
    workload: workloadSpec(file.workload, ctx, problems),
    load: loadSpec(file.load),
    slo,
    gates: checkedGates(file.gates, problems),
    repeat: file.repeat,
    quick: {
      durationMs: file.quick.duration,
      requests: file.quick.requests ?? null,
      warmupRequests: file.quick.warmupRequests,
      sweepLevels: file.quick.sweepLevels,
      model: file.quick.model ?? null,
    },
    pipelines: pipelines(file.pipelines, ctx, problems),
    source: ctx.source,
  };
  return { scenario, problems };
}

/** Gate expressions are parsed here too, so a typo fails at load time instead of after the whole run. */
function checkedGates(gates: string[], problems: string[]): string[] {
  gates.forEach((g, i) => {
    try {
      parseGate(g);
    } catch (e) {
      if (!(e instanceof LlmbenchError)) throw e;
      problems.push(`gates[${i}]: ${e.message}`);
    }
  });
  return gates;
}
