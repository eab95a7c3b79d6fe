// Shared types for llmbench. This module imports nothing from the rest of the project:
// every layer (model, engine, server, runners, stats, report, gate) depends on it, never the reverse.

// ---------------------------------------------------------------------------------------------
// Model

/** Quantization methods `llmbench quantize` applies. */
export type QuantMethod = 'int8' | 'int4' | 'int8-weight' | 'fp16';
export const QUANT_METHODS: readonly QuantMethod[] = ['int8', 'int4', 'int8-weight', 'fp16'];

/** Built-in generated model presets. */
export type PresetName = 'tiny' | 'small' | 'gpt2';
export const PRESET_NAMES: readonly PresetName[] = ['tiny', 'small', 'gpt2'];

/** Execution providers llmbench can ask onnxruntime for. */
export type DeviceName = 'cpu' | 'cuda' | 'webgpu';

/** What the loader learned about a model folder (config.json + graph inputs/outputs). */
export interface ModelInfo {
  dir: string;
  onnxPath: string;
  architecture: 'gpt2' | 'llama';
  vocabSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  maxPositions: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Graph has a `position_ids` input. */
  hasPositionIds: boolean;
  /** Element type of the KV-cache tensors the graph expects. */
  kvDtype: 'float32' | 'float16';
  fileBytes: number;
}

/** Quality of a model, and with a reference, how far it moved from it (`llmbench eval`). */
export interface QualityReport {
  perplexity: number;
  referencePerplexity: number | null;
  perplexityDeltaPct: number | null;
  top1Agreement: number | null;
  meanKl: number | null;
  greedyAgreement: number | null;
  fileBytes: number;
  weightBytes: number;
  evalTokens: number;
}

// ---------------------------------------------------------------------------------------------
// Engine

export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  topP: number;
  seed: number | null;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'timeout' | 'error';

/** One sequence handed to a batch engine. */
export interface SequenceRequest {
  id: string;
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingParams;
  /** Token ids that end the sequence (EOS and friends). */
  stopTokenIds: number[];
}

/** What one engine step produced for one sequence. */
export interface TokenEvent {
  id: string;
  tokenId: number;
  /** Set on the last token of a sequence. */
  finishReason: FinishReason | null;
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** `fallback`: answered, but by a fallback (a server's --fallback, or a balancer's backup), not the primary. */
export type SampleStatus = 'ok' | 'fallback' | 'error' | 'timeout';

/**
 * One request as the load driver saw it. All times are milliseconds on the driver's monotonic clock,
 * relative to the start of the pipeline's measured run. Latencies are from the *scheduled* send time.
 */
export interface Sample {
  /** Index of the request in the workload (same prompt across pipelines). */
  index: number;
  warmup: boolean;
  status: SampleStatus;
  error: string | null;
  httpStatus: number | null;
  scheduledMs: number;
  sentMs: number;
  /** First token event (text, reasoning or tool-call delta, or a first-token stop); null if none arrived. */
  firstTokenMs: number | null;
  endMs: number;
  ttftMs: number | null;
  /** Time to the first answer (content) token, after any reasoning or tool-call deltas; absent in older results. */
  answerTtftMs?: number | null;
  e2eMs: number;
  /** (E2E - TTFT) / (outputTokens - 1); 0 for one-token outputs; null when not ok or not streamed. */
  tpotMs: number | null;
  /**
   * Gaps between token events (per chunk, not per token). Empty once the sample is compacted for storage: the
   * gaps then live in the pipeline's ITL histogram and `itl` keeps their count, mean and max.
   */
  itlMs: number[];
  /** Count, mean and max of this request's chunk gaps; absent on samples that still carry `itlMs`. */
  itl?: ItlSummary | null;
  /** The server's usage.prompt_tokens when given (it includes any chat template), else the client's count. */
  promptTokens: number | null;
  /** The workload's own prompt length (client tokenizer, or null when estimated); absent in older results. */
  clientPromptTokens?: number | null;
  /** max_tokens the request asked for; absent in older results. */
  requestedTokens?: number;
  outputTokens: number;
  outputTokensSource: 'usage' | 'tokenizer' | 'none';
  /** Server-reported and locally counted output tokens, when both exist and differ. */
  tokenCountMismatch: { usage: number; tokenizer: number } | null;
  /** Replica that served the request, when the server or balancer says so. */
  replica: string | null;
  /** Retries a balancer reported for this request (x-llmbench-retries), if any. */
  retries: number | null;
  /** The server's finish_reason (stop, length, tool_calls...), when it sent one; absent in older results. */
  finishReason?: string | null;
  /** Repeat (0-based) the sample belongs to when a pipeline ran several times; absent means 0. */
  run?: number;
  /** Why a fallback answered (status 'fallback'): deadline, queue_full, error, backup; absent otherwise. */
  fallbackReason?: string | null;
}

/** Count, mean and max of one request's inter-chunk gaps. */
export interface ItlSummary {
  count: number;
  meanMs: number;
  maxMs: number;
}

/**
 * An HDR-style histogram of integer microseconds (see stats/hdrHistogram.ts for the bucket layout): sparse
 * [bucket, count] pairs, ascending, plus exact count, sum, min and max. Two merge exactly by adding counts.
 */
export interface HdrHistogramData {
  unit: 'us';
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  buckets: Array<[number, number]>;
}

/** Summary of a numeric distribution; a percentile is null when there are too few samples for it. */
export interface Distribution {
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  /** e.g. "p99: too few samples (37 < 200)". */
  notes: string[];
}

/** Memory sampled over time for one process. */
export interface ProcessTrace {
  pid: number;
  name: string;
  role: ProcessRole;
  /** [msSinceStart, rssBytes] */
  rss: Array<[number, number]>;
  /** [msSinceStart, gpuBytes]; empty when no GPU data. */
  gpu: Array<[number, number]>;
}

export interface ResourceTrace {
  intervalMs: number;
  processes: ProcessTrace[];
  /** null when nvidia-smi is absent. */
  gpuAvailable: boolean;
  clientCpuPct: number | null;
}

export interface MemorySummary {
  /** Highest simultaneous sum of RSS over the pipeline's processes (a restarted replica is not counted twice). */
  peakRssBytes: number | null;
  /** Median over the measured window of the summed RSS of the pipeline's processes. */
  steadyRssBytes: number | null;
  /** Per-process GPU memory (nvidia-smi), summed; null when no GPU / no tool. */
  gpuPeakBytes: number | null;
  gpuSteadyBytes: number | null;
  /** Bytes of the model file(s) the pipeline serves. */
  modelFileBytes: number | null;
  processCount: number;
}

/**
 * Where one server process's memory goes, measured inside it (bytes). Every part is a measured quantity except
 * `otherBytes`, which is RSS minus the named parts (so a large |other| says the breakdown misses something).
 */
export interface MemoryBreakdown {
  /** RSS when the breakdown was taken, and the kernel's peak (VmHWM) since the process started. */
  rssBytes: number;
  peakRssBytes: number;
  /** VmHWM right after the model loaded: the peak of startup and loading. */
  loadPeakRssBytes: number;
  /** RSS before the model loaded (node, onnxruntime's library, the JS heap then). */
  runtimeBytes: number;
  /** Bytes of the weights on disk (model files). */
  weightFileBytes: number;
  /** File-backed RSS gained while loading: weights mapped from the file. */
  weightsMappedBytes: number;
  /** Anonymous RSS gained while loading: onnxruntime's own copies (prepacked weights, initializers read in). */
  weightCopiesBytes: number;
  /** KV cache arrays allocated now (zero-filled, so resident) and the part holding cached tokens. */
  kvAllocatedBytes: number;
  kvInUseBytes: number;
  /** Net RSS change across onnxruntime runs since load, less the part of each run's change the JS side's change inside it accounts for (its arena and intermediates). */
  ortRunBytes: number;
  /** V8 heap now minus before the load (the heap then is in runtimeBytes). */
  jsHeapGrowthBytes: number;
  /**
   * ArrayBuffer bytes now minus before the load: live or awaiting collection (onnxruntime-node's output copies,
   * request bodies). The KV arrays are not among them (counted above).
   */
  jsBuffersBytes: number;
  /** RSS minus everything above (unattributed; may be negative). */
  otherBytes: number;
  /** Engines (replicas) in this process sharing the loaded weights. */
  replicas: number;
}

export interface LoadSummary {
  profile: string;
  /** Requests/s the schedule intended (null for closed loop). */
  intendedRate: number | null;
  achievedRate: number;
  p95ScheduleLagMs: number | null;
  maxScheduleLagMs: number | null;
  clientCpuPct: number | null;
}

export interface ReplicaSummary {
  replica: string;
  requests: number;
  share: number;
  errors: number;
  e2eMs: Distribution;
}

/** Answers that came from a fallback, next to the primary's own (status ok). */
export interface FallbackSummary {
  count: number;
  /** Of measured requests. */
  share: number;
  /** Count per reason (deadline, queue_full, error, backup). */
  reasons: Record<string, number>;
  e2eMs: Distribution;
  ttftMs: Distribution;
  /** Primary (status ok) answers alone. */
  primaryE2eMs: Distribution;
  primaryTtftMs: Distribution;
}

export interface PipelineSummary {
  /** `ok` counts primary answers only; fallback answers are in `fallback.count`. */
  counts: { total: number; ok: number; error: number; timeout: number };
  ttftMs: Distribution;
  tpotMs: Distribution;
  itlMs: Distribution;
  e2eMs: Distribution;
  /** First send to last completion of measured (non-warm-up) requests. */
  windowMs: number;
  requestsPerSecond: number;
  outputTokensPerSecond: number;
  /** null when the scenario has no SLO. */
  goodputRequestsPerSecond: number | null;
  outputTokens: number;
  tokenCountMismatches: number;
  /** Time to the first answer token (after reasoning / tool-call tokens); absent in older results. */
  answerTtftMs?: Distribution;
  /** Requests that sent a prompt already sent earlier in the same repeat (prompt caches can serve them). */
  resentPrompts?: number;
  /** Where ok requests' output counts came from: the server's usage, a tokenizer, or nowhere. */
  outputTokenSources?: { usage: number; tokenizer: number; none: number };
  /** Measured requests that stopped before max_tokens (finish_reason other than "length"), when the server said. */
  stoppedEarly?: number;
  /** Mean prompt tokens per ok request: as the server counted them (usage) and as the workload sized them. */
  promptTokensMean?: { server: number | null; client: number | null };
  /** Output tokens asked for (sum of max_tokens) and delivered, over ok requests that recorded both. */
  outputLength?: { requested: number; delivered: number };
  memory: MemorySummary;
  load: LoadSummary;
  replicas: ReplicaSummary[];
  retries: number;
  /**
   * Fallback answers; absent when there were none. TTFT and E2E above count every answer (primary and
   * fallback: the client waited for both); TPOT, ITL, throughput and goodput count primary answers only.
   */
  fallback?: FallbackSummary;
  valid: boolean;
  /** Why the measurement cannot be trusted, as data; report/invalidReasons.ts words it. */
  invalidReasons: InvalidReason[];
}

/**
 * A reason a pipeline's measurement is INVALID. Shares and limits are fractions, times milliseconds, CPU
 * percent of one core. `text` carries a reason stored as prose by an older llmbench.
 */
export type InvalidReason =
  | { kind: 'no-requests' }
  | { kind: 'none-answered' }
  | { kind: 'failed-share'; share: number; limit: number }
  | { kind: 'schedule-lag'; p95LagMs: number; limitMs: number }
  | { kind: 'client-cpu'; cpuPct: number; limitPct: number }
  | { kind: 'shard'; shard: number; reason: InvalidReason }
  | { kind: 'text'; text: string };

/** Everything measured for one pipeline in one run (pooled over repeats). */
export interface PipelineResult {
  name: string;
  baseline: boolean;
  /** The pipeline as the scenario declared it (after defaults). */
  spec: Record<string, unknown>;
  summary: PipelineSummary;
  quality: QualityReport | null;
  samples: Sample[];
  /** Wall-clock start (ms since the epoch) of each repeat's measured window, for aligning merged shards. */
  repeatStartsEpochMs?: Array<number | null>;
  /** Pooled inter-chunk gaps of the measured ok requests; absent in results that kept every gap per sample. */
  itlHistogram?: HdrHistogramData | null;
  /**
   * Open-loop dispatch lag of every level and repeat (us), so shards merge it exactly; absent in older results and
   * null for closed loops.
   */
  dispatchLagHistogram?: HdrHistogramData | null;
  /**
   * Set when `samples` holds a seeded subset of the measured requests (a saved baseline keeps what gates need):
   * how many measured requests the summary was computed from. Confidence intervals account for it.
   */
  samplesThinnedFrom?: number | null;
  resources: ResourceTrace | null;
  /** Points of a sweep (rate or concurrency -> summary), when the load profile is a sweep. */
  sweep: Array<{ level: number; summary: PipelineSummary }> | null;
  /** Fault-injection events that happened during the run. */
  events: Array<{ atMs: number; kind: string; detail: string }>;
  /** False when the run was interrupted or failed part-way for this pipeline. */
  complete: boolean;
  error: string | null;
  /** Aggregates from autocannon when the scenario used `driver: autocannon` (no per-request samples then). */
  autocannon?: AutocannonStats | null;
  /** What the pipeline's balancer counted (last repeat), when it has one. */
  balancer?: BalancerStats | null;
  /**
   * Quality of the fallback model (serving.fallback or balancer.fallback), against the primary model as the
   * reference when both share a tokenizer, otherwise alone; absent without a model fallback.
   */
  fallbackQuality?: { model: string; report: QualityReport | null; note: string | null };
  /** Each server process's own memory breakdown at the end of the last repeat (local pipelines). */
  memoryBreakdown?: Array<{ process: string; breakdown: MemoryBreakdown }> | null;
  /** Where onnxruntime placed the model's nodes, per server process (local pipelines where it was checked). */
  placement?: Array<{ process: string; placement: PlacementReport }> | null;
}

/** What autocannon measured for one pipeline (its own histograms; it does not report per-request records). */
export interface AutocannonStats {
  durationMs: number;
  connections: number;
  /** Requests/s the schedule asked for (overallRate), or null for closed loop. */
  intendedRate: number | null;
  requestsPerSecond: { mean: number; stddev: number; min: number; max: number };
  /** Response latency from autocannon's histogram, in ms (it reports p97.5, not p95). */
  latencyMs: { mean: number; stddev: number; min: number; max: number; p50: number; p90: number; p97_5: number; p99: number };
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Sum of usage.completion_tokens over 2xx responses that reported it. */
  outputTokens: number;
  note: string;
}

export interface Provenance {
  llmbenchVersion: string;
  gitCommit: string | null;
  node: string;
  onnxruntime: string;
  os: string;
  cpuModel: string;
  cpuCores: number;
  totalMemoryBytes: number;
  gpu: string | null;
  modelHashes: Record<string, string>;
  /**
   * Whether onnxruntime's uint8 x int8 GEMM saturates on this CPU (measured by a worst-case probe), and the
   * CPU's integer dot-product flags: int8 models quantized here use 7-bit weights where it does. Absent in
   * results written before it was recorded.
   */
  int8Dot?: { saturates: boolean; probeExact: number; probeActual: number; cpuFlags: string[]; arch: string };
}

/** results/<run-id>/result.json, as readers see it (every version is loaded into this shape). */
export interface ResultFile {
  schemaVersion: 1 | 2;
  runId: string;
  startedAt: string;
  finishedAt: string;
  complete: boolean;
  /** The validated scenario (plain data). */
  scenario: Record<string, unknown>;
  provenance: Provenance;
  repeats: number;
  pipelines: PipelineResult[];
  /** Set when this run drove one shard of the load (`run --shard I/N`); merged runs list the shards merged. */
  shard?: { index: number; count: number } | null;
  mergedShards?: Array<{ runId: string; index: number }> | null;
}

// ---------------------------------------------------------------------------------------------
// Deployments

export type ProcessRole = 'server' | 'stage' | 'balancer' | 'nginx';

/** Policies of the built-in balancer. */
export type BalancerPolicy = 'least-connections' | 'round-robin' | 'power-of-two-choices';
export const BALANCER_POLICIES: readonly BalancerPolicy[] = ['least-connections', 'round-robin', 'power-of-two-choices'];

/** Counters for one upstream behind a balancer. */
export interface BalancerUpstreamStats {
  name: string;
  url: string;
  /** Attempts sent to this upstream, retries included. */
  requests: number;
  /** Attempts that ended in a connect error, timeout, 5xx or a broken stream. */
  failures: number;
  /** Attempts that were a retry of a request first tried elsewhere. */
  retries: number;
  /** null where the balancer cannot tell (nginx). */
  inFlight: number | null;
  /** false while skipped after a failure; null where unknown (nginx). */
  healthy: boolean | null;
}

/** What a balancer saw, as returned by `BalancerHandle.stats()` and GET /balancer/stats. */
export interface BalancerStats {
  kind: 'builtin' | 'nginx';
  policy: BalancerPolicy;
  /** Client requests answered (or aborted). */
  requests: number;
  /** Client requests that needed more than one attempt. */
  retriedRequests: number;
  /** Client requests that ended with a 5xx status (the balancer's or an upstream's) or a broken response. */
  failedRequests: number;
  upstreams: BalancerUpstreamStats[];
}

export interface DeployedProcess {
  pid: number;
  name: string;
  role: ProcessRole;
}

/** A live pipeline: a URL to send requests to, the processes behind it, and a way to stop them. */
export interface Deployment {
  url: string;
  kind: 'local' | 'external';
  /** Processes whose memory counts for the pipeline (empty for external targets). */
  processes(): DeployedProcess[];
  /** Individually addressable replicas, by name (replica-0, replica-1, ...). */
  replicas: Array<{ name: string; url: string }>;
  /** Kill a replica now (fault injection); restart it after `restartAfterMs` if given. */
  kill?(replica: string, restartAfterMs: number | null): Promise<void>;
  /** Counters of the deployment's balancer, or null without one. */
  balancerStats?(): Promise<BalancerStats | null>;
  stop(): Promise<void>;
}

/** Nodes onnxruntime placed on one execution provider. */
export interface ProviderPlacement {
  /** onnxruntime's provider name, e.g. CUDAExecutionProvider. */
  provider: string;
  nodes: number;
  /** Nodes per op type (empty when every node is on this one provider: the log then lists no nodes). */
  ops: Record<string, number>;
}

/** Where the nodes of one session went, from onnxruntime's own log. */
export interface PlacementReport {
  /** The provider that was asked for (CPUExecutionProvider for device cpu). */
  requested: string;
  providers: ProviderPlacement[];
  totalNodes: number;
  /** Nodes on CPUExecutionProvider although another provider was requested (0 on a CPU session). */
  cpuFallbackNodes: number;
}
