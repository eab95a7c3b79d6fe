// The scenario file format as one zod definition: validation, TypeScript input types and the JSON Schema
// for editors all come from here. Cross-field rules live in validate.ts.
import { z } from 'zod';
import { PRESET_NAMES, QUANT_METHODS } from '../types.js';
import { SCENARIO_DEFAULTS as D } from './defaults.js';
import { DURATION_PATTERN, parseDurationMs } from './duration.js';
import { loadRules, localPipelineRules, pipelineListRules, targetUrlRule } from './rules.js';

const duration = z
  .string({ error: 'expected a duration like 500ms, 30s or 2m' })
  .regex(DURATION_PATTERN, { error: 'expected a duration like 500ms, 30s or 2m' })
  .transform((s) => parseDurationMs(s) as number);

const posInt = z.number().int().min(1);
const tokens = z.number().int().min(1).max(1_000_000);

/** A pipeline name ends up in folder names and process names, so keep it to a safe alphabet. */
const safeName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 characters of A-Z a-z 0-9 . _ -' });

const lengthDist = z.union([
  tokens.transform((value) => ({ dist: 'fixed' as const, value })),
  z.discriminatedUnion('dist', [
    z.strictObject({ dist: z.literal('fixed'), value: tokens }),
    z
      .strictObject({ dist: z.literal('uniform'), min: tokens, max: tokens })
      .refine((d) => d.max >= d.min, { path: ['max'], error: (i) => `must be >= min (${(i.input as { min: number }).min})` }),
    z
      .strictObject({
        dist: z.enum(['normal', 'lognormal']),
        mean: z.number().positive(),
        sd: z.number().min(0),
        min: tokens.default(D.lengthMin),
        max: tokens.optional(),
      })
      .refine((d) => d.max === undefined || d.max >= d.min, {
        path: ['max'],
        error: (i) => `must be >= min (${(i.input as { min: number }).min})`,
      }),
  ]),
]);

const api = z.enum(['completions', 'chat', 'generate']);

const workload = z.union([
  z.strictObject({
    api: api.default(D.workload.api),
    stream: z.boolean().default(D.workload.stream),
    distinctRequests: posInt.max(100_000).default(D.workload.distinctRequests).describe('prompts built up front; with reusePrompts, how many distinct prompts are cycled'),
    reusePrompts: z.boolean().default(false).describe('cycle through distinctRequests prompts (prompt caches then hit); default: every request gets its own prompt'),
    fixedOutput: z.boolean().default(false).describe('ask for exactly max_tokens output tokens (sends ignore_eos and min_tokens)'),
    promptTokens: lengthDist.default({ dist: 'fixed', value: D.workload.promptTokens }),
    outputTokens: lengthDist.default({ dist: 'fixed', value: D.workload.outputTokens }),
  }),
  z.strictObject({
    jsonl: z.string().min(1).describe('JSONL file of {"prompt"|"messages", "max_tokens"?} lines, relative to the scenario file'),
    reusePrompts: z.boolean().default(false).describe('cycle through the lines; default: a line sent again gets a short unique prefix'),
    fixedOutput: z.boolean().default(false).describe('ask for exactly max_tokens output tokens (sends ignore_eos and min_tokens)'),
    api: api.default(D.workload.api),
    stream: z.boolean().default(D.workload.stream),
    outputTokens: lengthDist.default({ dist: 'fixed', value: D.workload.outputTokens }),
  }),
]);

const sweep = z.strictObject({
  over: z.enum(['rate', 'concurrency']).default(D.sweep.over),
  levels: z.array(z.number().positive()).min(1).max(64),
  arrival: z.enum(['constant', 'poisson']).default(D.sweep.arrival),
  stopWhen: z.enum(['saturated', 'slo']).optional(),
});

const load = z.strictObject({
  profile: z.enum(['concurrency', 'constant', 'poisson', 'sweep']).default(D.load.profile),
  concurrency: posInt.max(10_000).default(D.load.concurrency),
  rate: z.number().positive().max(1_000_000).optional(),
  rateFromCapacity: z
    .strictObject({
      factor: z.number().positive().max(100).describe('rate = factor x the measured capacity'),
      probe: duration.prefault(D.capacityProbe.probe).describe('how long the closed-loop probe runs'),
      concurrency: posInt.max(10_000).optional().describe('probe users (default: 2 x maxBatch x replicas of the baseline)'),
    })
    .optional()
    .describe('set the open-loop rate from a short closed-loop probe of the baseline pipeline, instead of `rate`'),
  burstiness: z.number().positive().max(100).default(D.load.burstiness),
  maxConcurrency: posInt.max(10_000).optional(),
  warmupRequests: z.number().int().min(0).max(10_000).default(D.load.warmupRequests),
  duration: duration.prefault(D.load.duration),
  requests: posInt.max(10_000_000).optional(),
  sweep: sweep.optional(),
  driver: z.enum(['streaming', 'autocannon']).default(D.load.driver),
  requestTimeout: duration.prefault(D.load.requestTimeout),
}).superRefine(loadRules);

const slo = z.strictObject({
  ttftMs: z.number().positive().optional(),
  tpotMs: z.number().positive().optional(),
  e2eMs: z.number().positive().optional(),
});

const device = z
  .string()
  .regex(/^(cpu|cuda|webgpu)(:\d{1,2})?$/, { error: 'expected a device like cpu, cuda or cuda:1' });

const stage = z.strictObject({
  layers: z.tuple([z.number().int().min(0), z.number().int().min(0)]).describe('[first, last] layer, inclusive'),
  device: device.optional(),
  threads: posInt.max(256).optional(),
});

const modelSource = z.string().min(1).describe(`a preset (${PRESET_NAMES.join(', ')}) or a model folder`);
const quantMethod = z.enum(QUANT_METHODS as [string, ...string[]]);

const deadline = z.strictObject({
  after: duration.describe('deadline from arrival, e.g. 1500ms'),
  scope: z.enum(['first-token', 'total']).default(D.deadline.scope).describe('what must arrive by the deadline: the first token or the last'),
});

const fallback = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('canned'),
    text: z.string().refine((t) => t.trim() !== '', { error: 'must not be empty' }).describe('the fixed answer sent instead'),
  }),
  z.strictObject({
    kind: z.literal('model'),
    source: modelSource,
    quantize: quantMethod.optional(),
    maxBatch: posInt.max(1024).optional().describe('batch rows of the fallback model (default: serving.maxBatch)'),
  }),
]);

const serving = z.strictObject({
  replicas: posInt.max(16).default(D.serving.replicas),
  replicaMode: z
    .enum(['process', 'shared'])
    .default(D.serving.replicaMode as 'process')
    .describe(
      'process: one server process per replica, each with its own copy of the weights; shared: all replicas in one server process over one onnxruntime session (one copy of the weights, a KV cache and batch each, threads x replicas intra-op threads taking turns)',
    ),
  threads: posInt.max(256).default(D.serving.threads),
  device: z.union([device, z.array(device).min(1).max(16)]).default(D.serving.device),
  maxBatch: posInt.max(1024).default(D.serving.maxBatch),
  maxQueue: posInt.max(1_000_000).default(D.serving.maxQueue),
  timeoutMs: posInt.default(D.serving.timeoutMs),
  stages: z.union([posInt.max(64), z.array(stage).min(1).max(64)]).optional(),
  deadline: deadline.optional().describe('answer from serving.fallback when the primary misses this deadline'),
  fallback: fallback.optional().describe('who answers past serving.deadline: a canned text or a cheaper model in the same server'),
  maxContext: posInt.min(2).max(1_048_576).optional().describe("tokens per sequence (prompt + output) the KV cache is bounded to; longer requests get 400 (default: the workload's longest request, capped by the model's context)"),
  kvDtype: z.enum(['float32', 'float16']).optional().describe('KV cache element type between steps; float16 halves KV memory of a float32 model (default: the graph\'s)'),
  cpuFallback: z
    .boolean()
    .optional()
    .describe("false: a server whose device's execution provider cannot run every node fails to start instead of running those nodes on CPU (serve --no-cpu-fallback; default true)"),
});

const balancer = z.strictObject({
  kind: z.enum(['none', 'builtin', 'nginx']),
  policy: z
    .enum(['least-connections', 'round-robin', 'power-of-two-choices'])
    .default(D.balancer.policy),
  tries: posInt.max(16).default(D.balancer.tries),
  upstreamTimeout: duration.prefault(D.balancer.upstreamTimeout),
  fallback: z
    .strictObject({
      replicas: posInt.max(4).default(D.balancerFallback.replicas),
      model: z.strictObject({ source: modelSource, quantize: quantMethod.optional() }),
      threads: posInt.max(256).optional().describe('default: serving.threads'),
      maxBatch: posInt.max(1024).optional().describe('default: serving.maxBatch'),
    })
    .optional()
    .describe('backup servers the balancer uses only when no primary replica can answer (nginx `backup`)'),
});

const fault = z.strictObject({
  at: duration,
  kill: z.string().regex(/^replica-\d{1,2}$/, { error: 'expected a replica name like replica-1' }),
  restartAfter: duration.optional(),
});

const localPipeline = z.strictObject({
  name: safeName,
  baseline: z.boolean().optional(),
  model: z.strictObject({
    source: z.string().min(1).describe(`a preset (${PRESET_NAMES.join(', ')}) or a model folder`),
    quantize: z.enum(QUANT_METHODS as [string, ...string[]]).optional(),
    blockSize: z
      .number()
      .int()
      .refine((n) => n >= 16 && n <= 256 && (n & (n - 1)) === 0, { error: 'must be a power of two from 16 to 256' })
      .optional()
      .describe('block size of weight-only quantization (int4, int8-weight); default 32'),
    variant: z
      .string()
      .regex(/^[A-Za-z0-9]+$/, { error: 'letters and digits only (the <variant> of onnx/model_<variant>.onnx)' })
      .optional()
      .describe('which onnx/model_<variant>.onnx of a transformers.js folder to serve: fp16, q4, q4f16, quantized, int8, uint8, bnb4...; fp32 = onnx/model.onnx'),
  }),
  serving: serving.prefault({}),
  balancer: balancer.optional(),
  faults: z.array(fault).max(64).default([]),
}).superRefine(localPipelineRules);

const externalPipeline = z.strictObject({
  name: safeName,
  baseline: z.boolean().optional(),
  target: z.strictObject({
    url: z.string().min(1),
    model: z.string().min(1).optional(),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' })
      .optional(),
    tokenizer: z.string().min(1).optional(),
    extraBody: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('fields added to every request body, e.g. {cache_prompt: false} (llama.cpp) or {chat_template_kwargs: {...}}'),
    allowRemote: z.boolean().optional().describe('allow a target that is not on this machine (127.0.0.0/8, localhost, ::1)'),
  }).superRefine(targetUrlRule),
});

const quick = z.strictObject({
  duration: duration.prefault(D.quick.duration),
  requests: posInt.optional(),
  warmupRequests: z.number().int().min(0).default(D.quick.warmupRequests),
  sweepLevels: posInt.default(D.quick.sweepLevels),
  model: z
    .string()
    .regex(/^[a-z0-9]+(@\d+)?$/, { error: 'expected a preset name like tiny or small' })
    .optional()
    .describe('preset that replaces every local pipeline model source under --quick'),
});

/** The scenario file format. */
export const scenarioFileSchema = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(D.seed),
  workload: workload.prefault({}),
  load: load.prefault({}),
  slo: slo.optional(),
  gates: z.array(z.string().min(1)).default([]),
  repeat: posInt.max(100).default(D.repeat),
  quick: quick.prefault({}),
  pipelines: z.array(z.union([localPipeline, externalPipeline])).min(1).max(32).superRefine(pipelineListRules),
});

/** A scenario file after structural validation (before cross-field rules). */
export type ScenarioFile = z.output<typeof scenarioFileSchema>;
export type ScenarioFilePipeline = ScenarioFile['pipelines'][number];
