// Opens a decoder model folder as an onnxruntime session the engine can drive: checks the folder and the
// graph's inputs/outputs, picks the execution provider, patches in the outputs the KV strategy needs.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelError, UsageError } from '../errors.js';
import { checkGraphIO, type LoadedModelInfo, readModelFolder } from '../onnx/loader.js';
import type { DeviceName, PlacementReport } from '../types.js';
import type { Decoder } from './decoder.js';
import { elemTypeName, readGraphSignature } from '../onnx/graphIo.js';
import { ensureMmapLayout } from '../onnx/mmapLayout.js';
import { LAST_LOGITS, newKvName, type PatchSpec, patchBytes, patchDecoderBytes, directNewKv } from '../onnx/graphPatch.js';
import { float16KvGraph } from '../onnx/kvCastPatch.js';
import { withoutCacheBranch } from '../onnx/mergedDecoder.js';
import { checkNoRotarySwitch } from '../onnx/rotarySwitch.js';
import { probePlacement } from './placement.js';
import { executionProvidersFor } from './providers.js';
import { type DecoderRunner, OrtRunner } from './runner.js';

/**
 * How the KV cache lives between steps. `slots`: the engine owns the cache in preallocated arrays and ORT
 * returns only each step's new keys/values (needs position_ids, so gaps in the cache are harmless, or
 * GroupQueryAttention, which takes each row's length from the mask and ignores the slots past it).
 * `dense`: ORT's `present` tensors are fetched and fed back, one sequence per run.
 */
export type KvMode = 'slots' | 'dense';

/** Options for opening a decoder session. */
export interface SessionOptions {
  device?: DeviceName;
  /** Intra-op threads; default: all logical CPUs. */
  threads?: number | null;
  /** Force a KV strategy (default: slots when the graph allows it). */
  kvMode?: KvMode | 'auto';
  /**
   * onnxruntime memory-pattern planning. Default off: input shapes change whenever the batch or the cache
   * stride does, and on gpt2 it changed neither RSS nor step time measurably. The CPU arena stays on: without
   * it every step maps and faults in fresh pages for ORT's `present` intermediates (hundreds of MB at batch 8).
   */
  memPattern?: boolean;
  /** Map large initializers from a page-aligned copy of the weights instead of reading them (default: on for CPU). */
  mmapWeights?: boolean;
  /** Let onnxruntime prepack constant weights into kernel layouts (a second copy of most weights). */
  prepack?: boolean;
  /** onnxruntime's CPU arena (default on). */
  cpuArena?: boolean;
  /** Keep the full `present.*` outputs in a slots-mode graph (only for code that fetches them; see below). */
  keepPresentOutputs?: boolean;
  /** KV cache element type between steps; null/undefined: the graph's. float16 on a float32 graph adds Cast nodes. */
  kvDtype?: 'float32' | 'float16' | null;
  /** Which onnx/model_<variant>.onnx to load (null: onnx/model.onnx, or the folder's only variant). */
  variant?: string | null;
  /** Find out where onnxruntime places the nodes (a child process with verbose logging; default: on for GPU devices). */
  placementCheck?: boolean;
  /** Let nodes without a kernel on the device run on the CPU (default). false: loading fails instead. */
  cpuFallback?: boolean;
}

/** An open decoder: model facts, the runner, and how to read its outputs. */
export interface DecoderSession {
  info: LoadedModelInfo;
  runner: DecoderRunner;
  kvMode: KvMode;
  /** Output that holds the last position's logits during generation. */
  lastLogitsOutput: string;
  device: DeviceName;
  threads: number;
  loadMs: number;
  /** Why `dense` was chosen, when it was. */
  note: string | null;
  /** The KV cache is stored at lower precision than the graph computes in (--kv-dtype float16 on a float32 graph). */
  kvCast?: boolean;
  /** A session-specific decoder (a staged session keeps each stage's KV cache inside its worker). */
  createDecoder?(rows: number, maxSlots: number): Decoder;
  /** Where onnxruntime placed the model's nodes, when checked. */
  placement?: PlacementReport | null;
}

/** Opens `modelDir` (a folder, not a preset name: resolve presets first). */
export async function openDecoderSession(modelDir: string, opts: SessionOptions = {}): Promise<DecoderSession> {
  const t0 = performance.now();
  const device = opts.device ?? 'cpu';
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
  const base = readModelFolder(modelDir, opts.variant ?? null);
  const executionProviders = await executionProvidersFor(device);
  const placement = (opts.placementCheck ?? device !== 'cpu') ? await probePlacement(base.onnxPath, { device, threads }) : null;

  // Read the file into a buffer with room for the patch, so a large model is not copied a second time.
  const external = externalDataFiles(base.onnxPath);
  const mmapDir = (opts.mmapWeights ?? device === 'cpu') && external.length === 0 ? ensureMmapLayout(base.onnxPath) : null;
  const graphPath = mmapDir ? join(mmapDir, 'model.onnx') : base.onnxPath;
  const { buffer, size } = readWithHeadroom(graphPath, PATCH_HEADROOM);
  const read = buffer.subarray(0, size);
  const bytes = withoutCacheBranch(read, base.onnxPath);
  const { info, kvMode, note, patch } = planDecoder(base, bytes, opts.kvMode);
  const addLastLogits = patch.addLastLogits;
  let baseBytes = bytes;
  let spec = patch;
  const kvCast = opts.kvDtype === 'float16' && info.kvDtype === 'float32';
  if (opts.kvDtype === 'float32' && info.kvDtype === 'float16') {
    throw new UsageError(`--kv-dtype float32: ${base.onnxPath} computes keys/values in float16`, 'Leave --kv-dtype unset for float16 models (their KV cache is already float16).');
  }
  if (kvCast) {
    if (kvMode !== 'slots') throw new ModelError(`${base.onnxPath}: --kv-dtype float16 needs the slot KV cache (${note ?? 'dense mode requested'})`);
    baseBytes = float16KvGraph(bytes, patch, base.onnxPath);
    spec = { ...patch, addNewKv: false };
    info.kvDtype = 'float16';
  } else if (kvMode === 'slots' && mmapDir && !opts.keepPresentOutputs) {
    // Only with mapped weights, where the graph bytes are small to rewrite; before the patch is appended
    // (protobufjs replaces, rather than merges, a repeated singular field when decoding). Measured on gpt2
    // int4, 8 rows decoded to 160 tokens in one process: RSS growth over the runs 246 -> 141 MiB (KV: 113 MiB).
    const direct = directNewKv(bytes, patch);
    if (direct) {
      baseBytes = direct;
      spec = { ...patch, addNewKv: false };
    }
  }
  let modelBytes = baseBytes;
  if (spec.addNewKv || spec.addLastLogits) {
    const extra = patchBytes(spec);
    if (baseBytes === read && size + extra.length <= buffer.length) {
      buffer.set(extra, size);
      modelBytes = buffer.subarray(0, size + extra.length);
    } else {
      modelBytes = patchDecoderBytes(baseBytes, spec);
    }
  }

  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders,
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: opts.cpuArena ?? true,
    enableMemPattern: opts.memPattern ?? false,
    logSeverityLevel: 3,
  };
  const config: Record<string, string> = {};
  if (mmapDir) config.model_external_initializers_file_folder_path = mmapDir;
  if (opts.prepack === false) config.disable_prepacking = '1';
  if (opts.cpuFallback === false) config.disable_cpu_ep_fallback = '1';
  // onnxruntime-node runs sessions on the event-loop thread; after a run the pool's threads keep spinning for more
  // work and, on a machine with few cores, take the CPU from that thread while it streams tokens and grows the KV
  // cache. LLMBENCH_ORT_SPIN_STOP=1 stops the spin when a run returns (it resumes with the next run). Opt-in:
  // measured on a 2-core EPYC, it cut bench:kv's longest KV-growth slice from 7.7-10.4 ms to 2.8-2.9 ms wall
  // (preempted slices 16-17 -> 6-9; `npm run bench:kv`) but cost 12.3% of output tok/s (median of 6 alternating
  // rounds, 162.3 vs 185.1 without it; `npm run bench:envab -- LLMBENCH_ORT_SPIN_STOP=1`).
  if (process.env.LLMBENCH_ORT_SPIN_STOP === '1') config.force_spinning_stop = '1';
  if (Object.keys(config).length > 0) sessionOptions.extra = { session: config };
  if (external.length > 0) sessionOptions.externalData = external;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, sessionOptions);
  } catch (e) {
    throw new ModelError(`${base.onnxPath}: onnxruntime could not load the model: ${(e as Error).message.split('\n')[0]}`);
  }
  if (kvMode === 'slots' && !session.outputNames.includes(newKvName(0, 'key'))) {
    await session.release();
    throw new ModelError(`${base.onnxPath}: patched outputs missing after load`);
  }
  return {
    info,
    runner: new OrtRunner(session),
    kvMode,
    lastLogitsOutput: addLastLogits ? LAST_LOGITS : 'logits',
    device,
    threads,
    loadMs: performance.now() - t0,
    note,
    kvCast,
    placement,
  };
}

/** Room reserved after the model bytes for the patch (a few hundred bytes per layer). */
const PATCH_HEADROOM = 256 * 1024;

function readWithHeadroom(path: string, headroom: number): { buffer: Uint8Array; size: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = new Uint8Array(size + headroom);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buffer, off, Math.min(size - off, 1 << 30), off);
      if (n <= 0) break;
      off += n;
    }
    return { buffer, size: off };
  } finally {
    closeSync(fd);
  }
}

/** External-data files next to the model (loading from bytes, ORT cannot find them by itself). */
function externalDataFiles(onnxPath: string): Array<{ path: string; data: Uint8Array }> {
  const out: Array<{ path: string; data: Uint8Array }> = [];
  for (const suffix of ['_data', '.data']) {
    const p = onnxPath + suffix;
    if (existsSync(p)) out.push({ path: basename(p), data: readFileSync(p) });
  }
  return out;
}

/** What loading a decoder graph decides: the checked model facts, the KV strategy, and the graph patch. */
export interface DecoderPlan {
  info: LoadedModelInfo;
  sig: ReturnType<typeof readGraphSignature>;
  kvMode: KvMode;
  /** Why `dense` was chosen, when it was. */
  note: string | null;
  patch: PatchSpec;
}

/**
 * Checks a graph's inputs/outputs against config.json and picks the KV strategy and patch. Shared by the
 * single-session and the layer-split loaders, so both feed and fetch the same tensors.
 */
export function planDecoder(base: ReturnType<typeof readModelFolder>, bytes: Uint8Array, requested: SessionOptions['kvMode']): DecoderPlan {
  const sig = readGraphSignature(bytes, base.onnxPath);
  const graph = checkGraphIO(
    base,
    sig.inputs.map((v) => v.name),
    sig.outputs.map((v) => v.name),
    new Map(sig.inputs.map((v) => [v.name, elemTypeName(v.elemType)])),
  );
  const past = sig.inputs.find((v) => v.name === 'past_key_values.0.key');
  if (past && typeof past.dims[1] === 'number' && past.dims[1] !== base.numKvHeads) {
    throw new ModelError(`${base.onnxPath}: past_key_values.0.key has ${past.dims[1]} heads but config.json says ${base.numKvHeads} key/value heads`);
  }
  if (past && typeof past.dims[3] === 'number' && past.dims[3] !== base.headDim) {
    throw new ModelError(`${base.onnxPath}: past_key_values.0.key has head size ${past.dims[3]} but config.json implies ${base.headDim}`);
  }
  // A merged decoder's If is lifted before this point; one left over may switch rotary caches by length.
  if (sig.opTypes.has('If')) checkNoRotarySwitch(bytes, base.onnxPath);
  const groupQueryAttention = sig.opTypes.has('com.microsoft:GroupQueryAttention');
  const info: LoadedModelInfo = { ...base, ...graph, groupQueryAttention };
  const canPatch = (sig.opsetVersion ?? 0) >= 10;
  // GroupQueryAttention reads each row's length from the mask's sum and places rotary positions by it, so a
  // slot cache (rows right-padded to the stride) works without position_ids.
  let kvMode: KvMode = (graph.hasPositionIds || groupQueryAttention) && canPatch ? 'slots' : 'dense';
  const note = kvMode === 'dense' ? (graph.hasPositionIds || groupQueryAttention ? `opset ${sig.opsetVersion} is too old to patch` : 'graph has no position_ids input') : null;
  if (requested === 'dense') kvMode = 'dense';
  if (requested === 'slots' && kvMode !== 'slots') throw new ModelError(`${base.onnxPath}: slot KV cache needs ${note}`);
  const patch: PatchSpec = {
    numLayers: info.numLayers,
    numKvHeads: info.numKvHeads,
    headDim: info.headDim,
    kvElemType: past?.elemType ?? 1,
    logitsElemType: sig.outputs.find((v) => v.name === 'logits')?.elemType ?? 1,
    addLastLogits: !graph.hasNumLogitsToKeep && canPatch,
    addNewKv: kvMode === 'slots',
    newKvFromMaskSum: groupQueryAttention,
  };
  return { info, sig, kvMode, note, patch };
}
