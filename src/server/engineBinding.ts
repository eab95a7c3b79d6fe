// Loads the model a server serves: resolves the folder (preset cache, quantized copy) and opens a BatchEngine.
// The rest of the server sees only the narrow views it needs (StepEngine, ServerTokenizer, ModelInfo).
import { BatchEngine } from '../engine/batchEngine.js';
import { ENGINES, type EngineKind } from '../engine/engines.js';
import { UsageError } from '../errors.js';
import { StreamDecoder } from '../engine/tokenizer.js';
import { resolveQuantizedModelDir } from '../quantize/quantize.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import type { ModelInfo, PlacementReport } from '../types.js';
import { OrtRunner } from '../engine/runner.js';
import { SharedRunner } from '../engine/sharedRunner.js';
import type { EngineMemory } from './memoryBreakdown.js';
import type { StepEngine } from './scheduler.js';
import type { ServerTokenizer } from './serverState.js';
import type { ServeOptions } from './serveOptions.js';

/** What /metrics says about the KV cache: its bound (rows x positions) and the positions per row allocated now. */
export interface KvGauges {
  maxPositions: number;
  rows: number;
  /** Bytes the cache would take with every row at maxPositions (its ceiling, from the model's shape). */
  maxBytes: number;
  /** Positions per row the arrays hold now (null where the cache lives elsewhere, e.g. stage workers). */
  slotsPerRow: number | null;
  /** KV re-layouts (growth, new rows) and the longest the event loop was held by one of their slices. */
  relayouts: number;
  maxRelayoutSliceMs: number;
  /** Longest slice the thread kept its CPU through (null: preemptions not countable), and slices that lost it. */
  maxUnpreemptedRelayoutSliceMs: number | null;
  preemptedRelayoutSlices: number;
  relayoutSlices: number;
}

function kvGauges(engine: BatchEngine): KvGauges {
  const { info } = engine;
  const elemBytes = engine.kvDtype === 'float16' ? 2 : 4;
  const perToken = 2 * info.numLayers * info.numKvHeads * info.headDim * elemBytes;
  const usage = engine.kvBytes();
  return {
    maxPositions: engine.maxContext,
    rows: engine.maxBatch,
    maxBytes: engine.maxBatch * engine.maxContext * perToken,
    slotsPerRow: usage?.slotsPerRow ?? null,
    relayouts: usage?.relayout?.relayouts ?? 0,
    maxRelayoutSliceMs: usage?.relayout?.maxSliceMs ?? 0,
    maxUnpreemptedRelayoutSliceMs: usage?.relayout ? usage.relayout.maxUnpreemptedSliceMs : 0,
    preemptedRelayoutSlices: usage?.relayout?.preemptedSlices ?? 0,
    relayoutSlices: usage?.relayout?.slices ?? 0,
  };
}

/** A loaded engine as the server uses it. */
export interface ServingEngine {
  modelDir: string;
  info: ModelInfo;
  tokenizer: ServerTokenizer;
  stepper: StepEngine;
  /** Bytes of the model's weights on disk. */
  weightFileBytes: number;
  /** KV and onnxruntime-run memory, read at breakdown time. */
  memory: EngineMemory;
  /** Tokens per sequence (prompt + output) the KV cache is bounded to. */
  maxContext: number;
  /** The KV cache's bound and what it holds now (for /metrics). */
  kv: () => KvGauges;
  /** Where onnxruntime placed the model's nodes (null: not checked, as on CPU by default). */
  placement: PlacementReport | null;
  dispose(): Promise<void>;
}

/** The session options that decide node placement, from the serve options. */
function placementOptions(opts: ServeOptions): { placementCheck?: boolean; cpuFallback: boolean } {
  return { ...(opts.placementCheck === 'auto' ? {} : { placementCheck: opts.placementCheck === 'on' }), cpuFallback: opts.cpuFallback };
}

/** Resolves `opts.model` (and `opts.quantize`) to a folder: the preset cache or a quantized copy. */
async function servedModelDir(opts: ServeOptions, onProgress?: (msg: string) => void): Promise<string> {
  // With --variant, the chosen file is what gets quantized (the copy is cached per source file's hash).
  return opts.quantize
    ? resolveQuantizedModelDir(opts.model, opts.quantize, { onProgress, ...(opts.quantBlockSize ? { blockSize: opts.quantBlockSize } : {}), ...(opts.variant !== null ? { variant: opts.variant } : {}) })
    : resolveModelDir(opts.model, onProgress);
}

/** The variant to load from the served folder: a quantized copy holds only onnx/model.onnx. */
function servedVariant(opts: ServeOptions): string | null {
  return opts.quantize ? null : opts.variant;
}

/** Resolves `opts.model` (and `opts.quantize`) to a folder and loads it with `opts.maxBatch` rows. */
export async function loadServingEngine(opts: ServeOptions, onProgress?: (msg: string) => void): Promise<ServingEngine> {
  const modelDir = await servedModelDir(opts, onProgress);
  const stages = opts.stages;
  if (stages && opts.kvDtype) throw new UsageError('--kv-dtype cannot be combined with --stages (stage workers keep the graph\'s KV type)', 'Drop one of the two.');
  const kind: EngineKind = stages ? 'staged' : 'single';
  const engine = await BatchEngine.load({
    modelDir,
    device: opts.device,
    threads: opts.threads,
    maxBatch: opts.maxBatch,
    maxContext: opts.maxContext ?? undefined,
    mmapWeights: opts.mmapWeights,
    // With stages, --threads is per stage; unset, each stage gets the CPUs divided among the stages.
    openSession: (dir) => ENGINES[kind](dir, { device: opts.device, threads: opts.threads, mmapWeights: opts.mmapWeights, kvDtype: opts.kvDtype, variant: servedVariant(opts), ...placementOptions(opts), split: stages, onProgress }),
  });
  const runner = engine.session.runner;
  if (runner instanceof OrtRunner) {
    runner.trackRss = true;
    runner.excludedBytes = () => engine.kvBytes()?.allocated ?? 0;
  }
  return servingEngine(engine, modelDir, () => engine.dispose());
}

/**
 * `count` engines (replicas) over ONE onnxruntime session: one copy of the weights, a KV cache and a batch
 * scheduler each. Runs from different engines take turns on the session (onnxruntime-node runs on the JS thread).
 */
export async function loadSharedServingEngines(opts: ServeOptions, count: number, onProgress?: (msg: string) => void): Promise<ServingEngine[]> {
  if (opts.stages) throw new UsageError('--replicas > 1 shares one session; it cannot be combined with --stages', 'Use one replica per process for a layer split.');
  const modelDir = await servedModelDir(opts, onProgress);
  const session = await ENGINES.single(modelDir, { device: opts.device, threads: opts.threads, mmapWeights: opts.mmapWeights, kvDtype: opts.kvDtype, variant: servedVariant(opts), ...placementOptions(opts) });
  const engines: ServingEngine[] = [];
  const shared = new SharedRunner(session.runner, () => engines.reduce((a, e) => a + e.memory.kvAllocatedBytes(), 0));
  try {
    for (let i = 0; i < count; i++) {
      const view = shared.view();
      view.trackRss = true;
      const engine = await BatchEngine.load({ modelDir, maxBatch: opts.maxBatch, maxContext: opts.maxContext ?? undefined, openSession: async () => ({ ...session, runner: view }) });
      engines.push(servingEngine(engine, modelDir, () => engine.dispose()));
    }
  } catch (e) {
    await Promise.all(engines.map((e2) => e2.dispose()));
    throw e;
  }
  return engines;
}

function servingEngine(engine: BatchEngine, modelDir: string, dispose: () => Promise<void>): ServingEngine {
  const runner = engine.session.runner;
  // The tokenizer library throws on an empty id list, which a streaming window can be; empty decodes to ''.
  const decode = (ids: readonly number[]): string => (ids.length === 0 ? '' : engine.tokenizer.decode(ids));
  return {
    modelDir,
    info: engine.info,
    tokenizer: {
      encode: (text) => engine.tokenizer.encode(text),
      decode,
      streamDecoder: () => new StreamDecoder({ decode }),
    },
    stepper: engine,
    weightFileBytes: engine.info.fileBytes,
    maxContext: engine.maxContext,
    kv: () => kvGauges(engine),
    placement: engine.session.placement ?? null,
    memory: {
      kvAllocatedBytes: () => engine.kvBytes()?.allocated ?? 0,
      kvInUseBytes: () => engine.kvBytes()?.inUse ?? 0,
      ortRunBytes: () => runner.stats.rssGrowthBytes ?? 0,
    },
    dispose,
  };
}
