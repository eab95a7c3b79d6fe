// `llmbench run`: prepare every pipeline, build the workload once, run the pipelines interleaved
// (A B A B ... when repeated), pool what each measured, and write results/<run-id>/result.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LlmbenchError } from '../errors.js';
import { evaluateModel } from '../model/eval.js';
import { resolveQuantizedModelDir } from '../model/quantize.js';
import { resolveModelDir } from '../model/resolve.js';
import type { Scenario } from '../scenarios/types.js';
import { compactSample } from '../result/requestRows.js';
import { RequestLog, requestsFileName } from '../result/requestLog.js';
import { storedRunResult } from '../result/storedResult.js';
import { HdrHistogram } from '../stats/hdrHistogram.js';
import { summarizeAutocannon, summarizePipeline, type SummarizeOptions } from '../stats/summarize.js';
import type { AutocannonStats, HdrHistogramData, PipelineResult, PipelineSummary, QualityReport, QuantMethod, ResultFile, Sample } from '../types.js';
import { runPipelineOnce, type LevelRecord, type PipelineRunOutput } from './pipelineRun.js';
import { preparePipeline, type PreparedPipeline } from './prepare.js';
import { probeCapacity, type CapacityProbe } from './capacityProbe.js';
import { collectProvenance } from './provenance.js';
import { makeRunId, RESULT_SCHEMA_VERSION, writeResultFile } from './resultFile.js';
import type { ShardSpec } from './shard.js';
import { judgeLevel } from './sweep.js';
import { loadTokenCounter, type TokenCounter } from './tokenCounter.js';
import { withWorkloadContext } from './servingContext.js';
import { buildWorkload, type Workload } from './workload.js';

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

/** Merges level histograms (exact: counts add). */
function mergedItl(list: ReadonlyArray<HdrHistogramData | null>): HdrHistogramData | null {
  const present = list.filter((h): h is HdrHistogramData => h !== null);
  if (present.length === 0) return null;
  const h = new HdrHistogram();
  for (const x of present) h.merge(x);
  return h.toData();
}

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

function summarizeRecords(
  records: Array<{ rec: LevelRecord; out: PipelineRunOutput }>,
  warmup: PipelineRunOutput['warmup'],
  scenario: Scenario,
  prepared: PreparedPipeline,
): PipelineSummary {
  const traces = records.length > 0 ? uniqueTraces(records.map((r) => r.out)) : [];
  const cpu = records.map((r) => r.rec.clientCpuPct);
  const opts: SummarizeOptions = {
    profile: scenario.load.profile,
    slo: scenario.slo,
    intendedRate: records[0]?.rec.intendedRate ?? null,
    dispatchLagMs: records.flatMap((r) => r.rec.dispatchLagMs),
    clientCpuPct: cpu.length > 0 ? Math.max(...cpu) : null,
    modelFileBytes: prepared.modelFileBytes,
    // Killed replicas and deliberate overload (a rate above the measured capacity) fail requests on purpose:
    // those failures are the measurement, not a broken run.
    faultsInjected: (prepared.spec.kind === 'local' && prepared.spec.faults.length > 0) || (scenario.load.rateFromCapacity?.factor ?? 0) > 1,
    itlHistogram: mergedItl(records.map((r) => r.rec.itlHistogram)),
  };
  const cannon = records.map((r) => r.rec.autocannon).filter((a): a is AutocannonStats => a !== null);
  if (cannon.length > 0) return summarizeAutocannon(poolAutocannon(cannon), traces, opts);
  return summarizePipeline([...warmup, ...records.flatMap((r) => r.rec.samples)], traces, opts);
}

function uniqueTraces(outs: PipelineRunOutput[]) {
  const seen = new Set<PipelineRunOutput>();
  const traces = [];
  for (const o of outs) {
    if (seen.has(o)) continue;
    seen.add(o);
    if (o.trace) traces.push(o.trace);
  }
  return traces;
}

/** Repeats of autocannon: counts add up; latency figures are the mean over repeats (said in the note). */
function poolAutocannon(list: AutocannonStats[]): AutocannonStats {
  if (list.length === 1) return list[0] as AutocannonStats;
  const sum = (f: (a: AutocannonStats) => number): number => list.reduce((s, a) => s + f(a), 0);
  const mean = (f: (a: AutocannonStats) => number): number => sum(f) / list.length;
  const first = list[0] as AutocannonStats;
  return {
    ...first,
    durationMs: sum((a) => a.durationMs),
    requestsPerSecond: { mean: mean((a) => a.requestsPerSecond.mean), stddev: mean((a) => a.requestsPerSecond.stddev), min: Math.min(...list.map((a) => a.requestsPerSecond.min)), max: Math.max(...list.map((a) => a.requestsPerSecond.max)) },
    latencyMs: {
      mean: mean((a) => a.latencyMs.mean),
      stddev: mean((a) => a.latencyMs.stddev),
      min: Math.min(...list.map((a) => a.latencyMs.min)),
      max: Math.max(...list.map((a) => a.latencyMs.max)),
      p50: mean((a) => a.latencyMs.p50),
      p90: mean((a) => a.latencyMs.p90),
      p97_5: mean((a) => a.latencyMs.p97_5),
      p99: mean((a) => a.latencyMs.p99),
    },
    total: sum((a) => a.total),
    ok: sum((a) => a.ok),
    non2xx: sum((a) => a.non2xx),
    errors: sum((a) => a.errors),
    timeouts: sum((a) => a.timeouts),
    outputTokens: sum((a) => a.outputTokens),
    note: `${first.note}; ${list.length} repeats: counts summed, latency percentiles averaged over repeats`,
  };
}

/** Pools the repeats of one pipeline into its PipelineResult. */
export function buildPipelineResult(
  prepared: PreparedPipeline,
  outs: PipelineRunOutput[],
  scenario: Scenario,
  quality: QualityReport | null,
): PipelineResult {
  const spec = prepared.spec;
  const warmup = outs.flatMap((o) => o.warmup);
  const all = outs.flatMap((o) => o.levels.map((rec) => ({ rec, out: o })));
  let sweep: PipelineResult['sweep'] = null;
  let summary: PipelineSummary;
  const s = scenario.load.sweep;
  if (s) {
    const levels = [...new Set(all.map((r) => r.rec.level as number))].sort((a, b) => a - b);
    sweep = levels.map((level) => ({ level, summary: summarizeRecords(all.filter((r) => r.rec.level === level), [], scenario, prepared) }));
    // The headline is the highest level that stayed valid and unsaturated (the sustainable point).
    let chosen = sweep[0]?.summary ?? summarizeRecords([], warmup, scenario, prepared);
    sweep.forEach((point, i) => {
      const first = sweep?.[0]?.summary as PipelineSummary;
      const v = judgeLevel(s.over, point.level, point.summary, first, i > 0 ? (sweep?.[i - 1]?.summary ?? null) : null);
      if (point.summary.valid && !v.saturated && !v.sloBroken) chosen = point.summary;
    });
    summary = chosen;
  } else {
    summary = summarizeRecords(all, warmup, scenario, prepared);
  }
  const errors = outs.map((o) => o.error).filter((e): e is string => e !== null);
  const lastTrace = [...outs].reverse().find((o) => o.trace !== null)?.trace ?? null;
  const cannon = all.map((r) => r.rec.autocannon).filter((a): a is AutocannonStats => a !== null);
  return {
    name: spec.name,
    baseline: spec.baseline,
    spec: spec as unknown as Record<string, unknown>,
    summary,
    quality,
    samples: [...warmup, ...all.flatMap((r) => r.rec.samples)],
    repeatStartsEpochMs: outs.map((o) => o.startEpochMs),
    itlHistogram: mergedItl(all.map((r) => r.rec.itlHistogram)),
    resources: lastTrace ? { ...lastTrace, clientCpuPct: summary.load.clientCpuPct } : null,
    sweep,
    events: outs.flatMap((o) => o.events),
    complete: outs.length === scenario.repeat && outs.every((o) => o.complete),
    error: errors.length > 0 ? [...new Set(errors)].join('; ') : null,
    autocannon: cannon.length > 0 ? poolAutocannon(cannon) : null,
    balancer: [...outs].reverse().find((o) => o.balancer !== null)?.balancer ?? null,
    memoryBreakdown: [...outs].reverse().find((o) => o.memoryBreakdown !== null)?.memoryBreakdown ?? null,
  };
}

function sameFile(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** The fallback model a pipeline may answer from, if it has one: source and quantization. */
function fallbackModelOf(p: PreparedPipeline): { source: string; quantize: QuantMethod | null } | null {
  if (p.spec.kind !== 'local') return null;
  const f = p.spec.serving.deadline?.fallback;
  if (f?.kind === 'model') return { source: f.source, quantize: f.quantize };
  return p.spec.balancer.fallback?.model ?? null;
}

/** Evaluates the fallback model; against the primary when they share a tokenizer (then agreement is measured too). */
async function fallbackQualityOf(p: PreparedPipeline, progress: (m: string) => void): Promise<PipelineResult['fallbackQuality']> {
  const fb = fallbackModelOf(p);
  if (!fb) return undefined;
  const model = `${fb.source}${fb.quantize ? ` (${fb.quantize})` : ''}`;
  progress(`[${p.spec.name}] evaluating the fallback model ${model}`);
  try {
    const dir = fb.quantize ? await resolveQuantizedModelDir(fb.source, fb.quantize, {}) : await resolveModelDir(fb.source);
    const sameTokenizer = p.modelDir !== null && sameFile(join(dir, 'tokenizer.json'), join(p.modelDir, 'tokenizer.json'));
    const report = await evaluateModel(dir, sameTokenizer ? p.modelDir : null, { maxEvalTokens: 256 });
    return { model, report, note: sameTokenizer ? 'vs the primary model' : 'alone: its tokenizer differs from the primary model, so no agreement is measured and perplexities are per own token' };
  } catch (e) {
    return { model, report: null, note: `evaluation failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

async function qualityOf(p: PreparedPipeline, progress: (m: string) => void): Promise<QualityReport | null> {
  if (p.spec.kind !== 'local' || p.spec.model.quantize === null || !p.modelDir || !p.sourceDir) return null;
  progress(`[${p.spec.name}] evaluating quality vs the fp32 source`);
  try {
    return await evaluateModel(p.modelDir, p.sourceDir, { maxEvalTokens: 256 });
  } catch (e) {
    progress(`[${p.spec.name}] quality evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

/** Runs a scenario end to end and writes its result file (also when interrupted or partly failed). */
export async function runScenario(scenario: Scenario, o: RunOptions = {}): Promise<RunOutcome> {
  const progress = o.onProgress ?? (() => undefined);
  const signal = o.signal ?? new AbortController().signal;
  const startedAt = new Date();
  const shardTag = o.shard && o.shard.count > 1 ? `-shard${o.shard.index}of${o.shard.count}` : '';
  const runId = makeRunId(scenario.name, startedAt) + shardTag;
  const dir = o.outDir ?? join('results', runId);

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
  if (scenario.load.rateFromCapacity && baseline && !signal.aborted) {
    probe = await probeCapacity(scenario, baseline, workload, tokenizerFor(baseline.tokenizerDir, tokenizers), {
      signal,
      onProgress: progress,
      readyTimeoutMs: o.readyTimeoutMs ?? 180_000,
      monitorIntervalMs: o.monitorIntervalMs ?? 250,
    });
    scenario = { ...scenario, load: { ...scenario.load, rate: probe.rate } };
  }

  const modelHashes: Record<string, string> = {};
  for (const p of prepared) if (p.modelSha256) modelHashes[p.spec.name] = p.modelSha256;
  const provenance = await collectProvenance(modelHashes);
  const outs = new Map<string, PipelineRunOutput[]>(prepared.map((p) => [p.spec.name, []]));
  const quality = new Map<string, QualityReport | null>();
  const fallbackQuality = new Map<string, PipelineResult['fallbackQuality']>();
  const log = new RequestLog(dir, prepared.map((p) => p.spec.name));
  // Gaps of every measured ok request per pipeline, for checkpoints taken while a pipeline runs.
  const liveItl = new Map<string, HdrHistogram>(prepared.map((p) => [p.spec.name, new HdrHistogram()]));
  // A pipeline's result is rebuilt only when one of its repeats finishes, not at every checkpoint.
  const built = new Map<string, PipelineResult>();
  const resultOf = (p: PreparedPipeline): PipelineResult => {
    let r = built.get(p.spec.name);
    if (!r) {
      r = buildPipelineResult(p, outs.get(p.spec.name) ?? [], scenario, quality.get(p.spec.name) ?? null);
      const fq = fallbackQuality.get(p.spec.name);
      if (fq) r = { ...r, fallbackQuality: fq };
      built.set(p.spec.name, r);
    }
    return r;
  };
  let running: string | null = null;

  const snapshot = (complete: boolean): ResultFile => ({
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    complete,
    scenario: { ...scenario, workloadSha256: workload.sha256, workloadTokenizer: workload.tokenizer, ...(probe ? { capacityProbe: probe } : {}) } as unknown as Record<string, unknown>,
    provenance,
    repeats: scenario.repeat,
    pipelines: prepared.map(resultOf),
    shard: o.shard && o.shard.count > 1 ? o.shard : null,
  });
  const stored = (result: ResultFile): Record<string, unknown> =>
    storedRunResult(result, (p, i) => {
      const rows = log.rows(i);
      if (rows === 0 && p.name !== running) return { embedded: [], thinnedFrom: null };
      return { file: requestsFileName(i), rows, stale: p.name === running };
    });
  const checkpoint = async (): Promise<string> => {
    await log.flush();
    const r = snapshot(false);
    // The running pipeline's stored summary predates its newest rows: readers re-summarize them (stale flag).
    r.pipelines = r.pipelines.map((p) => (p.name === running ? { ...p, complete: false, error: p.error ?? 'run in progress at this checkpoint', itlHistogram: liveItl.get(p.name)?.toData() ?? null } : p));
    return writeResultFile(dir, stored(r));
  };

  let path = await checkpoint();
  let checkpointing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    checkpointing = checkpointing.then(checkpoint).catch((e: unknown) => progress(`checkpoint failed: ${e instanceof Error ? e.message : String(e)}`));
  }, o.checkpointMs ?? CHECKPOINT_MS);
  try {
    for (let r = 0; r < scenario.repeat && !signal.aborted; r++) {
      for (const [pi, p] of prepared.entries()) {
        if (signal.aborted) break;
        const itl = liveItl.get(p.spec.name) as HdrHistogram;
        running = p.spec.name;
        log.start(pi);
        const out = await runPipelineOnce({
          prepared: p,
          scenario,
          workload,
          tokenizer: tokenizerFor(p.tokenizerDir, tokenizers),
          repeat: r,
          signal,
          onProgress: progress,
          monitorIntervalMs: o.monitorIntervalMs ?? 250,
          readyTimeoutMs: o.readyTimeoutMs ?? 180_000,
          shard: o.shard ?? null,
          onSample: (s: Sample) => {
            if (!s.warmup && s.status === 'ok') for (const g of s.itlMs) itl.record(g * 1000);
            const c = compactSample(s);
            log.append(pi, c);
            return c;
          },
        });
        outs.get(p.spec.name)?.push(out);
        built.delete(p.spec.name);
        running = null;
        // Keep what was measured so far on disk, in case this process does not get to the end.
        await checkpointing;
        path = await checkpoint();
      }
    }
  } finally {
    clearInterval(timer);
    await checkpointing;
  }
  if (!signal.aborted && o.quality !== false) {
    // Pipelines serving the same model (e.g. int4 alone and int4 + replicas) share one evaluation.
    const byModel = new Map<string, QualityReport | null>();
    for (const p of prepared) {
      if (signal.aborted) break;
      const key = `${p.modelDir ?? ''}\u0000${p.sourceDir ?? ''}`;
      if (!byModel.has(key)) byModel.set(key, await qualityOf(p, progress));
      quality.set(p.spec.name, byModel.get(key) ?? null);
      fallbackQuality.set(p.spec.name, await fallbackQualityOf(p, progress));
      built.delete(p.spec.name);
    }
  }
  await log.close();
  const result = snapshot(false);
  result.complete = !signal.aborted && result.pipelines.every((p) => p.complete);
  path = await writeResultFile(dir, stored(result));
  return { result, dir, path };
}
