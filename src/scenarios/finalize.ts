// Cross-field rules a schema cannot express, and the mapping from the file shape to the typed Scenario.
// Every rule adds a "path: message" problem instead of stopping, so a user sees them all at once.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PRESET_NAMES, type QuantMethod } from '../types.js';
import { SCENARIO_DEFAULTS as D } from './defaults.js';
import { isLoopbackHost } from './loopback.js';
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

function resolveModelSource(source: string, path: string, ctx: FinalizeContext, problems: string[]): string {
  // A preset may carry a seed: tiny@7.
  if ((PRESET_NAMES as readonly string[]).includes(source.split('@')[0] as string) && /^[a-z0-9]+(@\d+)?$/.test(source)) return source;
  const dir = isAbsolute(source) ? source : resolve(ctx.baseDir, source);
  if (ctx.checkFiles && !(existsSync(dir) && statSync(dir).isDirectory())) {
    problems.push(`${path}: "${source}" is neither a preset (${PRESET_NAMES.join(', ')}) nor an existing folder`);
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
      outputTokens: lengthDist(raw.outputTokens),
    };
  }
  return {
    kind: 'synthetic',
    api: raw.api,
    stream,
    distinctRequests: raw.distinctRequests,
    promptTokens: lengthDist(raw.promptTokens),
    outputTokens: lengthDist(raw.outputTokens),
  };
}

function loadSpec(raw: ScenarioFile['load'], hasSlo: boolean, problems: string[]): LoadSpec {
  const openLoop = raw.profile === 'constant' || raw.profile === 'poisson';
  if (openLoop && raw.rate === undefined) problems.push(`load.rate: required for profile ${raw.profile}`);
  if (raw.profile === 'sweep' && raw.sweep === undefined) problems.push('load.sweep: required for profile sweep');
  if (raw.profile !== 'sweep' && raw.sweep !== undefined) problems.push('load.sweep: only allowed with profile sweep');
  if (raw.sweep?.stopWhen === 'slo' && !hasSlo) problems.push('load.sweep.stopWhen: "slo" needs an slo section');
  if (raw.sweep?.over === 'concurrency') {
    raw.sweep.levels.forEach((level, i) => {
      if (!Number.isInteger(level)) problems.push(`load.sweep.levels[${i}]: concurrency levels must be integers`);
    });
  }
  const poissonArrivals = raw.profile === 'poisson' || (raw.profile === 'sweep' && raw.sweep?.arrival === 'poisson');
  if (raw.burstiness !== D.load.burstiness && !poissonArrivals) {
    problems.push('load.burstiness: only applies to poisson arrivals');
  }
  const closedLoop = raw.profile === 'concurrency' || (raw.profile === 'sweep' && raw.sweep?.over === 'concurrency');
  if (raw.maxConcurrency !== undefined && closedLoop) {
    problems.push('load.maxConcurrency: only applies to open-loop profiles (constant, poisson, sweep over rate)');
  }
  if (raw.driver === 'autocannon' && raw.profile !== 'concurrency' && raw.profile !== 'constant') {
    problems.push(`load.driver: autocannon supports profiles concurrency and constant (got ${raw.profile})`);
  }
  return {
    profile: raw.profile,
    concurrency: raw.concurrency,
    rate: raw.rate ?? null,
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

function servingSpec(raw: RawLocal['serving'], at: string, problems: string[]): ServingSpec {
  let devices: string[];
  if (Array.isArray(raw.device)) {
    if (raw.device.length !== raw.replicas) {
      problems.push(`${at}.serving.device: lists ${raw.device.length} devices for ${raw.replicas} replicas`);
    }
    devices = Array.from({ length: raw.replicas }, (_, i) => raw.device[i] ?? raw.device[0] ?? D.serving.device);
  } else {
    devices = Array.from({ length: raw.replicas }, () => raw.device as string);
  }
  let stages: ServingSpec['stages'] = null;
  if (typeof raw.stages === 'number') {
    stages = { count: raw.stages, explicit: null };
  } else if (Array.isArray(raw.stages)) {
    let next = 0;
    const explicit: StageSpec[] = raw.stages.map((s, i) => {
      const [first, last] = s.layers;
      if (first !== next) problems.push(`${at}.serving.stages[${i}].layers: must start at layer ${next}`);
      if (last < first) problems.push(`${at}.serving.stages[${i}].layers: last layer ${last} is before first ${first}`);
      next = last + 1;
      return { firstLayer: first, lastLayer: last, device: s.device ?? devices[0] ?? D.serving.device, threads: s.threads ?? raw.threads };
    });
    stages = { count: explicit.length, explicit };
  }
  return {
    replicas: raw.replicas,
    threads: raw.threads,
    devices,
    maxBatch: raw.maxBatch,
    maxQueue: raw.maxQueue,
    timeoutMs: raw.timeoutMs,
    stages,
  };
}

function localPipeline(raw: RawLocal, at: string, ctx: FinalizeContext, problems: string[]): LocalPipelineSpec {
  const serving = servingSpec(raw.serving, at, problems);
  const balancer: BalancerSpec = raw.balancer
    ? { kind: raw.balancer.kind, policy: raw.balancer.policy, tries: raw.balancer.tries, upstreamTimeoutMs: raw.balancer.upstreamTimeout }
    : {
        kind: serving.replicas > 1 ? D.balancer.kindForReplicas : 'none',
        policy: D.balancer.policy,
        tries: D.balancer.tries,
        upstreamTimeoutMs: 60_000,
      };
  if (balancer.kind === 'none' && serving.replicas > 1) {
    problems.push(`${at}.balancer.kind: none needs serving.replicas 1 (got ${serving.replicas})`);
  }
  raw.faults.forEach((f, i) => {
    const index = Number(f.kill.slice('replica-'.length));
    if (!(index < serving.replicas)) {
      const names = serving.replicas === 1 ? 'replica-0' : `replica-0..replica-${serving.replicas - 1}`;
      problems.push(`${at}.faults[${i}].kill: no replica "${f.kill}" (this pipeline has ${names})`);
    }
  });
  return {
    kind: 'local',
    name: raw.name,
    baseline: raw.baseline === true,
    model: {
      source: resolveModelSource(raw.model.source, `${at}.model.source`, ctx, problems),
      quantize: (raw.model.quantize ?? null) as QuantMethod | null,
    },
    serving,
    balancer,
    faults: raw.faults.map((f) => ({ atMs: f.at, kill: f.kill, restartAfterMs: f.restartAfter ?? null })),
  };
}

/** Base URL without a trailing slash or `/v1`, after the loopback rule. */
function targetUrl(url: string, path: string, problems: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${path}: not a valid URL: "${url}"`);
    return url;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`${path}: expected an http:// or https:// URL, got ${parsed.protocol}`);
  }
  if (!isLoopbackHost(parsed.hostname)) {
    problems.push(
      `${path}: host "${parsed.hostname}" is not loopback; llmbench only sends load to this machine ` +
        '(127.0.0.1, localhost, ::1) so that a benchmark never floods a shared or remote service by mistake',
    );
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function externalPipeline(raw: RawExternal, at: string, ctx: FinalizeContext, problems: string[]): ExternalPipelineSpec {
  return {
    kind: 'external',
    name: raw.name,
    baseline: raw.baseline === true,
    target: {
      url: targetUrl(raw.target.url, `${at}.target.url`, problems),
      model: raw.target.model ?? null,
      apiKeyEnv: raw.target.apiKeyEnv ?? null,
      tokenizer: raw.target.tokenizer
        ? resolveModelSource(raw.target.tokenizer, `${at}.target.tokenizer`, ctx, problems)
        : null,
    },
  };
}

function pipelines(raw: ScenarioFile['pipelines'], ctx: FinalizeContext, problems: string[]): PipelineSpec[] {
  const specs = raw.map((p, i) =>
    'target' in p ? externalPipeline(p, `pipelines[${i}]`, ctx, problems) : localPipeline(p, `pipelines[${i}]`, ctx, problems),
  );
  const seen = new Map<string, number>();
  specs.forEach((p, i) => {
    const earlier = seen.get(p.name);
    if (earlier !== undefined) problems.push(`pipelines[${i}].name: duplicate name "${p.name}" (also pipelines[${earlier}])`);
    else seen.set(p.name, i);
  });
  const marked = specs.flatMap((p, i) => (p.baseline ? [i] : []));
  for (const i of marked.slice(1)) {
    problems.push(`pipelines[${i}].baseline: only one pipeline can be the baseline (pipelines[${marked[0]}] already is)`);
  }
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
    load: loadSpec(file.load, slo !== null, problems),
    slo,
    gates: file.gates,
    repeat: file.repeat,
    quick: {
      durationMs: file.quick.duration,
      requests: file.quick.requests ?? null,
      warmupRequests: file.quick.warmupRequests,
      sweepLevels: file.quick.sweepLevels,
    },
    pipelines: pipelines(file.pipelines, ctx, problems),
    source: ctx.source,
  };
  return { scenario, problems };
}
