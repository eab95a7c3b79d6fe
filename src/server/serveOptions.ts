// Options of `llmbench serve` and their defaults (one defaults object), checked once into a resolved form.
import { UsageError } from '../errors.js';
import type { StagesOption } from '../engine/staged/stagedOptions.js';
import type { DeviceName, QuantMethod } from '../types.js';
import { checkDeadline, type DeadlineOptions } from './fallbackOptions.js';
import { checkVariantName } from '../onnx/loader.js';

/** Options of one inference server process. */
export interface ServeOptions {
  /** Model folder or preset name (tiny, small, gpt2, optionally name@seed). */
  model: string;
  quantize: QuantMethod | null;
  /** Block size for weight-only quantization (null: the quantizer's default). */
  quantBlockSize: number | null;
  host: string;
  /** 0 picks a free port. */
  port: number;
  device: DeviceName;
  /** Intra-op threads for onnxruntime; null lets it choose. */
  threads: number | null;
  maxBatch: number;
  /** Requests allowed to wait beyond the running batch before 503. */
  maxQueue: number;
  /** Per-request limit from arrival to last token; null disables it. */
  timeoutMs: number | null;
  apiKey: string | null;
  /** Name of the replica (with `replicas` > 1: the prefix of NAME-0, NAME-1, ...). */
  replicaName: string;
  /** Replicas in this process, each on its own port with its own KV cache and scheduler, sharing one session. */
  replicas: number;
  bodyLimitBytes: number;
  /** How long shutdown lets running requests finish before cancelling them. */
  drainMs: number;
  /** Layer split into stages, each in its own worker (null: one session). */
  stages: StagesOption | null;
  /** Deadline with a fallback answer (--deadline-ms, --fallback); null: none. */
  deadline: DeadlineOptions | null;
  /** CPU: map the weights from a page-aligned copy (no second copy while loading); false reads them in. */
  mmapWeights: boolean;
  /** Tokens per sequence (prompt + output) the KV cache is bounded to; null: the model's context. */
  maxContext: number | null;
  /** KV cache element type between steps; null: the graph's (float16 on a float32 graph adds Cast nodes). */
  kvDtype: 'float32' | 'float16' | null;
  /** Which onnx/model_<variant>.onnx to serve; null: onnx/model.onnx or the folder's only variant. */
  variant: string | null;
  /** Check where onnxruntime places the nodes (child process, verbose log): auto = on for GPU devices. */
  placementCheck: 'auto' | 'on' | 'off';
  /** Let nodes without a kernel on the device run on the CPU; false makes loading fail instead. */
  cpuFallback: boolean;
}

/** Defaults for everything but the model. */
export const SERVE_DEFAULTS: Omit<ServeOptions, 'model'> = {
  quantize: null,
  quantBlockSize: null,
  host: '127.0.0.1',
  port: 8000,
  device: 'cpu',
  threads: null,
  maxBatch: 8,
  maxQueue: 64,
  timeoutMs: 120_000,
  apiKey: null,
  replicaName: 'replica-0',
  replicas: 1,
  bodyLimitBytes: 1024 * 1024,
  drainMs: 5000,
  stages: null,
  deadline: null,
  mmapWeights: true,
  maxContext: null,
  kvDtype: null,
  variant: null,
  placementCheck: 'auto',
  cpuFallback: true,
};

/** Fills defaults and checks values that the CLI parser cannot (throws UsageError). */
export function resolveServeOptions(partial: Partial<ServeOptions> & { model: string }): ServeOptions {
  const o: ServeOptions = { ...SERVE_DEFAULTS, ...partial };
  if (o.model.trim() === '') throw new UsageError('--model: expected a model folder or a preset name');
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(o.replicaName)) throw new UsageError(`--replica-name: use 1-64 letters, digits, ".", "_", ":" or "-", got "${o.replicaName}"`);
  if (o.apiKey !== null && (o.apiKey === '' || /\s/.test(o.apiKey))) throw new UsageError('--api-key: must be non-empty and contain no whitespace');
  if (!Number.isInteger(o.replicas) || o.replicas < 1 || o.replicas > 16) throw new UsageError(`--replicas: expected an integer 1..16, got ${o.replicas}`);
  if (o.replicas > 1 && o.stages) throw new UsageError('--replicas > 1 shares one onnxruntime session; it cannot be combined with --stages', 'Run one replica per process for a layer split.');
  if (o.replicas > 1 && o.port !== 0 && o.port + o.replicas - 1 > 65535) throw new UsageError(`--port ${o.port} with --replicas ${o.replicas}: replica ports would pass 65535`);
  if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1) throw new UsageError(`--max-batch: expected an integer >= 1, got ${o.maxBatch}`);
  if (!Number.isInteger(o.maxQueue) || o.maxQueue < 0) throw new UsageError(`--max-queue: expected an integer >= 0, got ${o.maxQueue}`);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new UsageError(`--port: expected 0..65535, got ${o.port}`);
  if (o.maxContext !== null && (!Number.isInteger(o.maxContext) || o.maxContext < 2)) throw new UsageError(`--max-context: expected an integer >= 2, got ${o.maxContext}`);
  checkVariantName(o.variant);
  if (!o.cpuFallback && o.stages !== null) throw new UsageError('--no-cpu-fallback cannot be combined with --stages yet (stage workers keep onnxruntime\'s CPU fallback and are not placement-checked)', 'Serve the unsplit model to check placement, or leave --no-cpu-fallback out.');
  if (o.deadline) checkDeadline(o.deadline.deadlineMs, o.timeoutMs);
  return o;
}
