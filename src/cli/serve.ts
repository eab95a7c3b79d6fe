// `llmbench serve`: wiring only; the server lives in src/server.
import { parseStagesOption } from '../engine/staged/stagedOptions.js';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { runServe } from '../commands/serve.js';
import { resolveServeOptions, SERVE_DEFAULTS, type ServeOptions } from '../server/serveOptions.js';
import { DEADLINE_SCOPES, parseFallbackOption, type DeadlineOptions, type DeadlineScope } from '../server/fallbackOptions.js';
import { QUANT_METHODS, type DeviceName, type QuantMethod } from '../types.js';
import { parseIntOption } from './options.js';
import { stopSignal } from './stopSignal.js';

interface ServeFlags {
  model: string;
  quantize?: string;
  blockSize?: string;
  host: string;
  port: string;
  device: string;
  threads?: string;
  maxBatch: string;
  maxQueue: string;
  timeoutMs: string;
  apiKey?: string;
  replicaName: string;
  replicas: string;
  drainMs: string;
  stages?: string;
  deadlineMs?: string;
  deadlineScope: string;
  fallback?: string;
  fallbackQuantize?: string;
  fallbackMaxBatch?: string;
  exitWithParent?: boolean;
  mmap: boolean;
  placementCheck: string;
  cpuFallback: boolean;
  maxContext?: string;
  kvDtype?: string;
  variant?: string;
}

const DEVICES: readonly DeviceName[] = ['cpu', 'cuda', 'webgpu'];

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run an OpenAI-compatible inference server (continuous batching) on a model folder or preset')
    .requiredOption('--model <dir|preset>', 'model folder (Hugging Face ONNX layout) or preset: tiny, small, gpt2')
    .option('--quantize <method>', `serve a quantized copy (built and cached on first use): ${QUANT_METHODS.join(' | ')}`)
    .option('--block-size <n>', 'block size for --quantize int4 / int8-weight (default 32)')
    .option('--host <addr>', 'address to listen on', SERVE_DEFAULTS.host)
    .option('--port <n>', 'port to listen on (0 = a free port; the ready line says which)', String(SERVE_DEFAULTS.port))
    .option('--device <name>', `onnxruntime execution provider: ${DEVICES.join(' | ')}`, SERVE_DEFAULTS.device)
    .option('--threads <n>', 'intra-op threads for onnxruntime (default: its own choice)')
    .option('--max-batch <n>', 'most sequences decoded together in one step', String(SERVE_DEFAULTS.maxBatch))
    .option('--max-queue <n>', 'requests allowed to wait beyond the running batch; more get 503 + Retry-After', String(SERVE_DEFAULTS.maxQueue))
    .option('--timeout-ms <n>', 'per-request limit from arrival to last token (0 = none); past it: 504 or an SSE error event', String(SERVE_DEFAULTS.timeoutMs))
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1/* routes')
    .option('--replica-name <name>', 'value of the x-llmbench-replica response header', SERVE_DEFAULTS.replicaName)
    .option('--replicas <n>', 'replicas in this one process, each on its own port (port, port+1, ...; 0: free ports) with its own KV cache and batch, sharing one copy of the weights; named NAME-0, NAME-1, ...', String(SERVE_DEFAULTS.replicas))
    .option('--drain-ms <n>', 'on SIGTERM/SIGINT, how long running requests may finish before they are cancelled', String(SERVE_DEFAULTS.drainMs))
    .option('--stages <n|ranges>', 'split the model by layers into stages, each in its own worker: a count, or FIRST-LAST[@DEVICE][/THREADS],... (threads are per stage)')
    .option('--deadline-ms <n>', 'answer from --fallback when the primary model misses this deadline (ms from arrival); its generation is cancelled')
    .option('--deadline-scope <scope>', `what must arrive by the deadline: ${DEADLINE_SCOPES.join(' | ')}`, 'first-token')
    .option('--fallback <spec>', 'who answers past the deadline: canned:TEXT, or model:DIR|preset (loaded in this server)')
    .option('--fallback-quantize <method>', `serve a quantized copy of the fallback model: ${QUANT_METHODS.join(' | ')}`)
    .option('--fallback-max-batch <n>', 'batch rows of the fallback model (default: --max-batch)')
    .option('--max-context <n>', "tokens per sequence (prompt + output) the KV cache is bounded to; longer requests get 400 (default: the model's context)")
    .option('--kv-dtype <type>', "KV cache element type between steps: float32 | float16 (default: the graph's; float16 halves the KV memory of a float32 model)")
    .option('--variant <name>', 'which onnx/model_<name>.onnx of a transformers.js folder to serve (fp16, q4, q4f16, quantized, int8, uint8, bnb4...; fp32 = onnx/model.onnx)')
    .option('--placement-check <when>', 'find out which execution provider runs each node (a child process opens the model with onnxruntime verbose logging): auto (GPU devices) | on | off', 'auto')
    .option('--no-cpu-fallback', 'fail to load when a node has no kernel on --device instead of running it on the CPU (onnxruntime session.disable_cpu_ep_fallback)')
    .option('--no-mmap', 'read the weights into memory instead of mapping a page-aligned copy of them (CPU; for comparison)')
    .addOption(new Option('--exit-with-parent', 'stop when stdin closes (for launchers)').hideHelp())
    .addHelpText(
      'after',
      `
Endpoints: POST /v1/completions, /v1/chat/completions (OpenAI shapes; "stream": true for SSE), POST /v1/generate
({"prompt","max_tokens"} -> {"text","usage","finish_reason"}; greedy unless "temperature" is set), GET /v1/models,
GET /health (503 until the model is loaded), GET /metrics (Prometheus text), GET /memory (this process's memory
breakdown as JSON: runtime, weights mapped and copied, KV cache, onnxruntime runs, JS heap, other), GET /placement
(which execution provider runs each node, when checked: --placement-check).
Chat template: one "System: ..." / "User: ..." / "Assistant: ..." line per message, then "Assistant:".
Ready line on stdout: llmbench-ready {"url":...,"urls":[...],"pid":...,"model":...} (urls: every replica's)`,
    )
    .action(async (flags: ServeFlags) => {
      if (flags.quantize !== undefined && !(QUANT_METHODS as readonly string[]).includes(flags.quantize)) {
        throw new UsageError(`--quantize: unknown method "${flags.quantize}"`, `Choose one of: ${QUANT_METHODS.join(', ')}.`);
      }
      if (!(DEVICES as readonly string[]).includes(flags.device)) {
        throw new UsageError(`--device: unknown device "${flags.device}"`, `Choose one of: ${DEVICES.join(', ')}.`);
      }
      const timeoutMs = parseIntOption('--timeout-ms', flags.timeoutMs, 0);
      const maxBatch = parseIntOption('--max-batch', flags.maxBatch, 1, 1024);
      const options = resolveServeOptions({
        model: flags.model,
        quantize: (flags.quantize as QuantMethod | undefined) ?? null,
        quantBlockSize: flags.blockSize === undefined ? null : parseIntOption('--block-size', flags.blockSize, 16, 256),
        host: flags.host,
        port: parseIntOption('--port', flags.port, 0, 65535),
        device: flags.device as DeviceName,
        threads: flags.threads === undefined ? null : parseIntOption('--threads', flags.threads, 1, 1024),
        maxBatch,
        maxQueue: parseIntOption('--max-queue', flags.maxQueue, 0),
        timeoutMs: timeoutMs === 0 ? null : timeoutMs,
        apiKey: flags.apiKey ?? null,
        replicaName: flags.replicaName,
        replicas: parseIntOption('--replicas', flags.replicas, 1, 16),
        drainMs: parseIntOption('--drain-ms', flags.drainMs, 0, 600_000),
        stages: flags.stages === undefined ? null : parseStagesOption(flags.stages),
        deadline: deadlineOf(flags, maxBatch),
        mmapWeights: flags.mmap,
        maxContext: flags.maxContext === undefined ? null : parseIntOption('--max-context', flags.maxContext, 2, 1_048_576),
        kvDtype: kvDtypeOf(flags.kvDtype),
        variant: flags.variant ?? null,
        placementCheck: placementCheckOf(flags.placementCheck),
        cpuFallback: flags.cpuFallback,
      });
      const { stopRequested, release } = stopSignal(flags.exitWithParent === true);
      try {
        await runServe(options, {
          stdout: (t) => process.stdout.write(t),
          stderr: (t) => process.stderr.write(t),
          stopRequested,
        });
      } finally {
        release();
      }
    });
}

function placementCheckOf(v: string): ServeOptions['placementCheck'] {
  if (v !== 'auto' && v !== 'on' && v !== 'off') throw new UsageError(`--placement-check: unknown value "${v}"`, 'Choose one of: auto, on, off.');
  return v;
}

function kvDtypeOf(v: string | undefined): ServeOptions['kvDtype'] {
  if (v === undefined) return null;
  if (v !== 'float32' && v !== 'float16') throw new UsageError(`--kv-dtype: unknown type "${v}"`, 'Choose one of: float32, float16.');
  return v;
}

/** --deadline-ms and --fallback go together; every mistake is a usage error before anything loads. */
function deadlineOf(flags: ServeFlags, maxBatch: number): DeadlineOptions | null {
  if (flags.deadlineMs === undefined && flags.fallback === undefined) {
    if (flags.fallbackQuantize !== undefined || flags.fallbackMaxBatch !== undefined) throw new UsageError('--fallback-quantize and --fallback-max-batch need --fallback model:...');
    return null;
  }
  if (flags.deadlineMs === undefined) throw new UsageError('--fallback needs --deadline-ms', 'Say when the fallback answers, e.g. --deadline-ms 2000.');
  if (flags.fallback === undefined) throw new UsageError('--deadline-ms needs --fallback', 'Say who answers past the deadline (canned:TEXT or model:DIR|preset); for a plain limit use --timeout-ms.');
  const deadlineMs = Number(flags.deadlineMs);
  if (!/^-?\d+$/.test(flags.deadlineMs.trim()) || deadlineMs <= 0) {
    throw new UsageError(`--deadline-ms: expected a whole number of milliseconds > 0, got "${flags.deadlineMs}"`);
  }
  if (!(DEADLINE_SCOPES as readonly string[]).includes(flags.deadlineScope)) {
    throw new UsageError(`--deadline-scope: unknown scope "${flags.deadlineScope}"`, `Choose one of: ${DEADLINE_SCOPES.join(', ')}.`);
  }
  if (flags.fallbackQuantize !== undefined && !(QUANT_METHODS as readonly string[]).includes(flags.fallbackQuantize)) {
    throw new UsageError(`--fallback-quantize: unknown method "${flags.fallbackQuantize}"`, `Choose one of: ${QUANT_METHODS.join(', ')}.`);
  }
  return {
    deadlineMs,
    scope: flags.deadlineScope as DeadlineScope,
    fallback: parseFallbackOption(flags.fallback, (flags.fallbackQuantize as QuantMethod | undefined) ?? null),
    fallbackMaxBatch: flags.fallbackMaxBatch === undefined ? maxBatch : parseIntOption('--fallback-max-batch', flags.fallbackMaxBatch, 1, 1024),
  };
}
