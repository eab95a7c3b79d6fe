// The typed Scenario every other part consumes: what a scenario file says, validated, with defaults applied,
// durations in milliseconds and paths made absolute. Produced only by loadScenario/parseScenario.
import type { QuantMethod } from '../types.js';

/** Which OpenAI-compatible route requests go to. */
export type ApiKind = 'completions' | 'chat' | 'generate';

/** A token-length distribution; drawn values are rounded and clamped to [min, max]. */
export type LengthDist =
  | { dist: 'fixed'; value: number }
  | { dist: 'uniform'; min: number; max: number }
  | { dist: 'normal' | 'lognormal'; mean: number; sd: number; min: number; max: number | null };

/** Seeded synthetic prompts, or prompts read from a JSONL file. */
export type WorkloadSpec =
  | {
      kind: 'synthetic';
      api: ApiKind;
      stream: boolean;
      /** Prompts built up front; with reusePrompts, the cycle length. */
      distinctRequests: number;
      /** Cycle through distinctRequests prompts instead of giving every request its own (prompt caches then hit). */
      reusePrompts: boolean;
      /** Ask for exactly max_tokens output tokens (ignore_eos + min_tokens). */
      fixedOutput: boolean;
      promptTokens: LengthDist;
      outputTokens: LengthDist;
    }
  | {
      kind: 'jsonl';
      api: ApiKind;
      stream: boolean;
      /** Absolute path of the JSONL file. */
      path: string;
      /** Cycle through the file's lines; otherwise lines re-sent get a short unique prefix. */
      reusePrompts: boolean;
      fixedOutput: boolean;
      /** max_tokens for lines that do not carry their own. */
      outputTokens: LengthDist;
    };

export type LoadProfile = 'concurrency' | 'constant' | 'poisson' | 'sweep';

export interface SweepSpec {
  over: 'rate' | 'concurrency';
  levels: number[];
  /** Arrival process for rate sweeps. */
  arrival: 'constant' | 'poisson';
  /** Stop early at the first level that saturates or breaks the SLO; null runs every level. */
  stopWhen: 'saturated' | 'slo' | null;
}

export interface LoadSpec {
  profile: LoadProfile;
  /** Closed-loop users (profile concurrency). */
  concurrency: number;
  /** Requests/s (constant, poisson); set by the capacity probe when `rateFromCapacity` is given. */
  rate: number | null;
  /** Rate = factor x the baseline's measured closed-loop req/s (probed before the run); null: fixed rate. */
  rateFromCapacity: { factor: number; probeMs: number; concurrency: number | null } | null;
  /** Gamma shape of inter-arrival times for poisson; 1 is exponential (Poisson), < 1 burstier. */
  burstiness: number;
  /** Cap on requests in flight for open-loop profiles; null = uncapped. */
  maxConcurrency: number | null;
  warmupRequests: number;
  durationMs: number;
  /** Measured request count bound; null = bounded by duration only. */
  requests: number | null;
  sweep: SweepSpec | null;
  driver: 'streaming' | 'autocannon';
  requestTimeoutMs: number;
}

/** Latency limits for goodput; a null field is not checked. */
export interface SloSpec {
  ttftMs: number | null;
  tpotMs: number | null;
  e2eMs: number | null;
}

export interface StageSpec {
  /** First and last layer (inclusive) of the stage. */
  firstLayer: number;
  lastLayer: number;
  device: string;
  threads: number;
}

/** Where a pipeline's replicas live: a server process each, or one process sharing one copy of the weights. */
export type ReplicaMode = 'process' | 'shared';

export interface ServingSpec {
  replicas: number;
  replicaMode: ReplicaMode;
  threads: number;
  /** One device per replica (a single device in the file is repeated). */
  devices: string[];
  maxBatch: number;
  maxQueue: number;
  timeoutMs: number;
  /** Layer split: a stage count (even split) or explicit stages; null = unsplit. */
  stages: { count: number; explicit: StageSpec[] | null } | null;
  /** Deadline with a fallback answer inside each server; null = none. */
  deadline: ServingDeadlineSpec | null;
  /** Tokens per sequence the KV cache is bounded to (`--max-context`); null: the workload's longest request, capped by the model's context. */
  maxContext: number | null;
  /** Element type of the KV cache kept between steps (`--kv-dtype`); null: the graph's. */
  kvDtype: 'float32' | 'float16' | null;
  /** false: nodes the device's provider cannot run fail the server's start (`--no-cpu-fallback`) instead of running on CPU. */
  cpuFallback: boolean;
}

/** `serving.deadline` + `serving.fallback`. */
export interface ServingDeadlineSpec {
  afterMs: number;
  scope: 'first-token' | 'total';
  fallback:
    | { kind: 'canned'; text: string }
    | { kind: 'model'; source: string; quantize: QuantMethod | null; maxBatch: number };
}

/** `balancer.fallback`: backup servers behind the balancer. */
export interface BalancerFallbackSpec {
  replicas: number;
  model: { source: string; quantize: QuantMethod | null };
  threads: number;
  maxBatch: number;
}

export interface BalancerSpec {
  kind: 'none' | 'builtin' | 'nginx';
  policy: 'least-connections' | 'round-robin' | 'power-of-two-choices';
  tries: number;
  upstreamTimeoutMs: number;
  /** Backup servers, used only when no primary can answer; null = none. */
  fallback: BalancerFallbackSpec | null;
}

export interface FaultSpec {
  atMs: number;
  /** Replica name, e.g. replica-1. */
  kill: string;
  restartAfterMs: number | null;
}

export interface LocalPipelineSpec {
  kind: 'local';
  name: string;
  baseline: boolean;
  /** `source` is a preset name or an absolute model folder. */
  model: { source: string; quantize: QuantMethod | null; blockSize: number | null; variant: string | null };
  serving: ServingSpec;
  balancer: BalancerSpec;
  faults: FaultSpec[];
}

export interface ExternalPipelineSpec {
  kind: 'external';
  name: string;
  baseline: boolean;
  target: {
    url: string;
    model: string | null;
    apiKeyEnv: string | null;
    /** Preset or folder whose tokenizer counts output tokens when the server sends no usage. */
    tokenizer: string | null;
    /** Fields added to every request body (cache_prompt, ignore_eos, chat_template_kwargs...). */
    extraBody: Record<string, unknown> | null;
    /** The user opted in to a target that is not on this machine. */
    allowRemote: boolean;
  };
}

export type PipelineSpec = LocalPipelineSpec | ExternalPipelineSpec;

/** Overrides `--quick` applies. */
export interface QuickSpec {
  durationMs: number;
  requests: number | null;
  warmupRequests: number;
  /** Sweep levels kept (the first N). */
  sweepLevels: number;
  /** Preset every local pipeline uses under --quick (null: keep each pipeline's own). */
  model: string | null;
}

/** A validated scenario. */
export interface Scenario {
  name: string;
  description: string | null;
  seed: number;
  workload: WorkloadSpec;
  load: LoadSpec;
  slo: SloSpec | null;
  /** Gate expressions, parsed by the gate module. */
  gates: string[];
  repeat: number;
  quick: QuickSpec;
  /** Exactly one has baseline: true. */
  pipelines: PipelineSpec[];
  /** Where the scenario came from ("<builtin>/x.yaml" or an absolute path). */
  source: string;
}
