// Messages between the staged runner (main thread), its stage workers, and stage-to-stage ports.
// Types only: the worker imports this file with `import type`, so it stays free of project imports.
import type { MessagePort } from 'node:worker_threads';

/** Typed array payload of a tensor (what onnxruntime-node's CPU tensors hold). */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor as it crosses a thread boundary. */
export interface WireTensor {
  name: string;
  /** onnxruntime-common Tensor.Type, e.g. 'float32', 'int64'. */
  type: string;
  dims: number[];
  data: TensorData;
}

/** Session settings of one stage. */
export interface StageSessionConfig {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  executionProviders: (string | { name: string; deviceId?: number })[];
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

/** What a stage worker starts with. */
export interface StageWorkerData {
  stageIndex: number;
  /** file:// URL of onnxruntime-node's entry (the worker may run from a temp folder). */
  ortUrl: string;
  modelPath: string;
  session: StageSessionConfig;
  /** Names this stage receives from earlier stages. */
  receives: string[];
  /** Names this stage sends, and to which stages. */
  sends: { name: string; toStages: number[] }[];
  upstream: { stage: number; port: MessagePort }[];
  downstream: { stage: number; port: MessagePort }[];
}

/** One layer's cache names in a stage: the past inputs and the new-keys/values outputs the engine patch adds. */
export interface KvBinding {
  layer: number;
  pastKey: string;
  pastValue: string;
  newKey: string;
  newValue: string;
}

/** Creates a stage-resident KV cache for one decoder (its layers only). */
export interface KvOpen {
  decoderId: number;
  rows: number;
  maxSlots: number;
  heads: number;
  headDim: number;
  dtype: 'float32' | 'float16';
  bindings: KvBinding[];
}

/** Row bookkeeping mirrored from the main thread's decoder, applied in order with the runs. */
export type KvOp = { decoderId: number; op: 'move'; from: number; to: number } | { decoderId: number; op: 'clear'; row: number } | { decoderId: number; op: 'close' };

/** A run that reads and extends a resident cache: rows [first, first+count), s new tokens each. */
export interface KvStep {
  decoderId: number;
  first: number;
  count: number;
  s: number;
  /** Slot stride for this step (the stage re-lays its arena out to it first). */
  stride: number;
}

/** Main thread -> stage worker. */
export type ToStage =
  | { kind: 'run'; runId: number; feeds: WireTensor[]; fetch: string[]; kv: KvStep | null }
  | { kind: 'kvOpen'; open: KvOpen }
  | { kind: 'kvOp'; op: KvOp }
  | { kind: 'close' };

/** Stage worker -> main thread. */
export type FromStage =
  | { kind: 'ready'; inputNames: string[]; outputNames: string[] }
  | { kind: 'initError'; message: string }
  | { kind: 'result'; runId: number; outputs: WireTensor[]; runMs: number; waitMs: number }
  | { kind: 'runError'; runId: number; message: string }
  | { kind: 'closed' };

/** Stage worker -> a later stage worker: the run's activations, or why they will never come. */
export type PeerMessage = { runId: number; tensors: WireTensor[] } | { runId: number; error: string };
