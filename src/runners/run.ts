// `llmbench run`: prepare every pipeline, build the workload once, run the pipelines interleaved
// (A B A B ... when repeated), pool what each measured, and write results/<run-id>/result.json.
import { join } from 'node:path';
import { LlmbenchError } from '../errors.js';
import type { Scenario } from '../scenarios/types.js';
import type { ResultFile } from '../types.js';
import { probeCapacity, type CapacityProbe } from './plan/capacityProbe.js';
import { runPipelineOnce } from './pipelineRun.js';
import { preparePipeline, type PreparedPipeline } from './plan/prepare.js';
import { collectProvenance } from './provenance.js';
import { assessQuality } from './quality.js';
import { makeRunId } from '../result/resultFile.js';
import { RunStore } from './runStore.js';
import type { ShardSpec } from './plan/shard.js';
import { withWorkloadContext } from './plan/servingContext.js';
import { loadTokenCounter, type TokenCounter } from './load/tokenCounter.js';
import { buildWorkload, type Workload } from './plan/workload.js';

export interface RunOptions {
  /** Folder for this run's files; default results/<run-id> under the current directory. */
  outDir?: string;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  monitorIntervalMs?: number;
  readyTimeoutMs?: number;
  /** Evaluate quantized pipelines against their fp32 source (default true). */
  quality?: boolean;
  /** Drive only this shard of the load (`--shard I/N`). */
  shard?: ShardSpec | null;
  /** How often rows and result.json are checkpointed while a pipeline runs (default 5 s; the contract is <= 10 s). */
  checkpointMs?: number;
}

/** Default checkpoint period. */
export const CHECKPOINT_MS = 5000;

export interface RunOutcome {
  result: ResultFile;
  dir: string;
  path: string;
}

function tokenizerFor(dir: string | null, cache: Map<string, TokenCounter>): TokenCounter | null {
  if (dir === null) return null;
  let t = cache.get(dir);
  if (!t) {
    t = loadTokenCounter(dir);
    cache.set(dir, t);
  }
  return t;
}

function checkContext(workload: Workload, prepared: PreparedPipeline[]): void {
  let need = 0;
  for (const r of workload.requests) if (r.promptTokens !== null) need = Math.max(need, r.promptTokens + r.maxTokens);
  for (const p of prepared) {
    if (p.maxPositions !== null && need > p.maxPositions) {
      throw new LlmbenchError(
        'RUN',
        `pipeline "${p.spec.name}": the workload needs up to ${need} positions (prompt + max_tokens) but the model has ${p.maxPositions}`,
        'Lower workload.promptTokens / outputTokens.',
      );
    }
    const bound = p.spec.kind === 'local' ? p.spec.serving.maxContext : null;
    if (bound !== null && p.maxPositions !== null && bound > p.maxPositions) {
      throw new LlmbenchError('RUN', `pipeline "${p.spec.name}": serving.maxContext ${bound} exceeds the model's context of ${p.maxPositions}`, `Set serving.maxContext to ${p.maxPositions} or less.`);
    }
    if (bound !== null && need > bound) {
      throw new LlmbenchError('RUN', `pipeline "${p.spec.name}": the workload needs up to ${need} positions (prompt + max_tokens) but serving.maxContext is ${bound}`, 'Raise serving.maxContext (or leave it out: the default fits the workload), or lower workload.promptTokens / outputTokens.');
    }
  }
}

/** What a run sends, settled before any pipeline is measured. */
interface RunPlan {
  prepared: PreparedPipeline[];
  workload: Workload;
  tokenizers: Map<string, TokenCounter>;
  /** The scenario with a capacity-derived rate filled in. */
  scenario: Scenario;
  probe: CapacityProbe | null;
}

/** Prepares every pipeline (model builds, quantization), builds the one workload, and probes capacity if asked. */
async function planRun(scenario: Scenario, o: RunOptions, progress: (m: string) => void, signal: AbortSignal): Promise<RunPlan> {
  let prepared: PreparedPipeline[] = [];
  for (const spec of scenario.pipelines) {
    progress(`[${spec.name}] preparing`);
    prepared.push(await preparePipeline(spec, (m) => progress(`[${spec.name}] ${m}`)));
  }
  const tokenizers = new Map<string, TokenCounter>();
  const baseline = prepared.find((p) => p.spec.baseline);
  const workloadTokDir = baseline?.tokenizerDir ?? prepared.find((p) => p.tokenizerDir !== null)?.tokenizerDir ?? null;
  const workload = buildWorkload(scenario.workload, scenario.seed, tokenizerFor(workloadTokDir, tokenizers));
  checkContext(workload, prepared);
  const w = scenario.workload;
  prepared = withWorkloadContext(prepared, workload, { promptTokens: w.kind === 'synthetic' ? w.promptTokens : null, outputTokens: w.outputTokens }, (d) => tokenizerFor(d, tokenizers) as TokenCounter);
  for (const p of prepared) if (p.spec.kind === 'local' && p.spec.serving.maxContext !== null) progress(`[${p.spec.name}] KV cache bound: ${p.spec.serving.maxContext} tokens per sequence${p.spec.serving.maxContext === p.maxPositions ? " (the model's context)" : ''}`);
  const prompts = workload.reusePrompts
    ? `${workload.requests.length} prompts, reused in turn (workload.reusePrompts)`
    : 'a distinct prompt for every request';
  progress(`workload: ${prompts}; prompt lengths ${workload.tokenizer ? `in ${workload.tokenizer} tokens` : 'estimated (no tokenizer)'} (sha256 ${workload.sha256.slice(0, 12)})`);
  let probe: CapacityProbe | null = null;
  // The probe's servers get the same KV bound (serving.maxContext, filled in above) as the run's.
  const probed = prepared.find((p) => p.spec.baseline);
  if (scenario.load.rateFromCapacity && probed && !signal.aborted) {
    probe = await probeCapacity(scenario, probed, workload, tokenizerFor(probed.tokenizerDir, tokenizers), {
      signal,
      onProgress: progress,
      readyTimeoutMs: o.readyTimeoutMs ?? 180_000,
      monitorIntervalMs: o.monitorIntervalMs ?? 250,
    });
    scenario = { ...scenario, load: { ...scenario.load, rate: probe.rate } };
  }
  return { prepared, workload, tokenizers, scenario, probe };
}

/** Runs a scenario end to end and writes its result file (also when interrupted or partly failed). */
export async function runScenario(input: Scenario, o: RunOptions = {}): Promise<RunOutcome> {
  const progress = o.onProgress ?? (() => undefined);
  const signal = o.signal ?? new AbortController().signal;
  const startedAt = new Date();
  const shardTag = o.shard && o.shard.count > 1 ? `-shard${o.shard.index}of${o.shard.count}` : '';
  const runId = makeRunId(input.name, startedAt) + shardTag;
  const dir = o.outDir ?? join('results', runId);
  const plan = await planRun(input, o, progress, signal);
  const { prepared, scenario, workload } = plan;
  const modelHashes: Record<string, string> = {};
  for (const p of prepared) if (p.modelSha256) modelHashes[p.spec.name] = p.modelSha256;
  const provenance = await collectProvenance(modelHashes);
  const store = new RunStore({ dir, runId, startedAt, scenario, workload, probe: plan.probe, provenance, prepared, shard: o.shard ?? null, progress });
  await store.open(o.checkpointMs ?? CHECKPOINT_MS);
  try {
    // Pipelines interleave (A B A B ...) so drift over time hits every pipeline alike.
    for (let r = 0; r < scenario.repeat && !signal.aborted; r++) {
      for (const [pi, p] of prepared.entries()) {
        if (signal.aborted) break;
        const onSample = store.begin(pi);
        const out = await runPipelineOnce({
          prepared: p,
          scenario,
          workload,
          tokenizer: tokenizerFor(p.tokenizerDir, plan.tokenizers),
          repeat: r,
          signal,
          onProgress: progress,
          monitorIntervalMs: o.monitorIntervalMs ?? 250,
          readyTimeoutMs: o.readyTimeoutMs ?? 180_000,
          shard: o.shard ?? null,
          onSample,
        });
        await store.finish(p.spec.name, out);
      }
    }
  } finally {
    await store.stopCheckpoints();
  }
  if (!signal.aborted && o.quality !== false) {
    for (const [name, q] of await assessQuality(prepared, progress, signal)) store.setQuality(name, q);
  }
  const result = await store.close(signal.aborted);
  return { result, dir, path: store.path };
}
