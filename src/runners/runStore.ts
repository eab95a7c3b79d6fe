// What a run has measured so far, and its folder on disk: per-request rows streamed to the request log, pooled
// pipeline results rebuilt when a repeat finishes, and result.json checkpointed on a timer and after every
// pipeline so a crash or kill -9 leaves a readable, incomplete run.
import type { Scenario } from '../scenarios/types.js';
import { decodeRow, encodeRow } from '../result/requestRows.js';
import { RequestLog, requestsFileName } from '../result/requestLog.js';
import { storedRunResult } from '../result/storedResult.js';
import { HdrHistogram } from '../stats/hdrHistogram.js';
import type { PipelineResult, Provenance, QualityReport, ResultFile, Sample } from '../types.js';
import type { CapacityProbe } from './plan/capacityProbe.js';
import { buildPipelineResult, pipelineRequests } from './pipelineResult.js';
import type { PipelineRunOutput } from './pipelineRun.js';
import type { PreparedPipeline } from './plan/prepare.js';
import { RESULT_SCHEMA_VERSION, writeResultFile } from '../result/resultFile.js';
import type { ShardSpec } from './plan/shard.js';
import type { Workload } from './plan/workload.js';

export interface RunIdentity {
  dir: string;
  runId: string;
  startedAt: Date;
  scenario: Scenario;
  workload: Workload;
  probe: CapacityProbe | null;
  provenance: Provenance;
  prepared: readonly PreparedPipeline[];
  shard: ShardSpec | null;
  progress: (line: string) => void;
}

export class RunStore {
  private readonly outs: Map<string, PipelineRunOutput[]>;
  private readonly quality = new Map<string, { quality: QualityReport | null; fallback: PipelineResult['fallbackQuality'] }>();
  private readonly log: RequestLog;
  /** Gaps of every measured ok request per pipeline, for checkpoints taken while a pipeline runs. */
  private readonly liveItl: Map<string, HdrHistogram>;
  /** A pipeline's result is rebuilt only when one of its repeats finishes, not at every checkpoint. */
  private readonly built = new Map<string, PipelineResult>();
  private running: string | null = null;
  private checkpointing: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** Path of result.json as last written. */
  path = '';

  constructor(private readonly run: RunIdentity) {
    const names = run.prepared.map((p) => p.spec.name);
    this.outs = new Map(names.map((n) => [n, []]));
    this.liveItl = new Map(names.map((n) => [n, new HdrHistogram()]));
    this.log = new RequestLog(run.dir, names);
  }

  /** Writes the first checkpoint and keeps writing one every `periodMs`. */
  async open(periodMs: number): Promise<void> {
    this.path = await this.checkpoint();
    this.timer = setInterval(() => {
      this.queueCheckpoint().catch((e: unknown) => this.run.progress(`checkpoint failed: ${e instanceof Error ? e.message : String(e)}`));
    }, periodMs);
  }

  /** Every checkpoint goes through one queue: two writing result.json at once would race on its temp file. */
  private queueCheckpoint(): Promise<string> {
    const next = this.checkpointing.then(() => this.checkpoint());
    this.checkpointing = next.catch(() => undefined);
    return next;
  }

  /** Pipeline `pi` starts a repeat; returns the sink its samples go through (ITL recorded, row logged, compact copy kept). */
  begin(pi: number): (s: Sample) => Sample {
    const name = (this.run.prepared[pi] as PreparedPipeline).spec.name;
    const itl = this.liveItl.get(name) as HdrHistogram;
    this.running = name;
    this.log.start(pi);
    // result.json names the running pipeline and its requests file from now on: rows the compressor flushes on
    // its own before the next timed checkpoint are then read back after a crash, not taken for an empty pipeline.
    this.queueCheckpoint().catch((e: unknown) => this.run.progress(`checkpoint failed: ${e instanceof Error ? e.message : String(e)}`));
    return (s) => {
      if (!s.warmup && s.status === 'ok') for (const g of s.itlMs) itl.record(g * 1000);
      const row = encodeRow(s);
      this.log.appendRow(pi, row);
      return decodeRow(row);
    };
  }

  /** A repeat of `name` finished: keep it and checkpoint, in case this process does not get to the end. */
  async finish(name: string, out: PipelineRunOutput): Promise<void> {
    this.outs.get(name)?.push(out);
    this.built.delete(name);
    this.running = null;
    // Queued behind (and ahead of) the timer's checkpoints: two writes at once share result.json's temp name.
    this.path = await this.queueCheckpoint();
  }

  async stopCheckpoints(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checkpointing;
  }

  setQuality(name: string, q: { quality: QualityReport | null; fallback: PipelineResult['fallbackQuality'] }): void {
    this.quality.set(name, q);
    this.built.delete(name);
  }

  /** Writes the final result.json (complete only when nothing was interrupted and every pipeline finished). */
  async close(interrupted: boolean): Promise<ResultFile> {
    await this.stopCheckpoints();
    await this.log.close();
    const result = this.snapshot();
    result.complete = !interrupted && result.pipelines.every((p) => p.complete);
    this.path = await writeResultFile(this.run.dir, this.stored(result));
    // While load ran, requests lived in typed columns; the report `run` prints next takes them as objects.
    result.pipelines = result.pipelines.map((p) => ({ ...p, samples: pipelineRequests(this.outs.get(p.name) ?? []).toSamples() }));
    return result;
  }

  private resultOf(p: PreparedPipeline): PipelineResult {
    let r = this.built.get(p.spec.name);
    if (!r) {
      const q = this.quality.get(p.spec.name);
      r = buildPipelineResult(p, this.outs.get(p.spec.name) ?? [], this.run.scenario, q?.quality ?? null);
      if (q?.fallback) r = { ...r, fallbackQuality: q.fallback };
      this.built.set(p.spec.name, r);
    }
    return r;
  }

  private snapshot(): ResultFile {
    const { scenario, workload, probe, shard } = this.run;
    return {
      schemaVersion: RESULT_SCHEMA_VERSION,
      runId: this.run.runId,
      startedAt: this.run.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      complete: false,
      scenario: { ...scenario, workloadSha256: workload.sha256, workloadTokenizer: workload.tokenizer, ...(probe ? { capacityProbe: probe } : {}) } as unknown as Record<string, unknown>,
      provenance: this.run.provenance,
      repeats: scenario.repeat,
      pipelines: this.run.prepared.map((p) => this.resultOf(p)),
      shard: shard && shard.count > 1 ? shard : null,
    };
  }

  private stored(result: ResultFile): Record<string, unknown> {
    return storedRunResult(result, (p, i) => {
      const rows = this.log.rows(i);
      if (rows === 0 && p.name !== this.running) return { embedded: [], thinnedFrom: null };
      return { file: requestsFileName(i), rows, stale: p.name === this.running };
    });
  }

  private async checkpoint(): Promise<string> {
    await this.log.flush();
    const r = this.snapshot();
    // The running pipeline's stored summary predates its newest rows: readers re-summarize them (stale flag).
    r.pipelines = r.pipelines.map((p) => (p.name === this.running ? { ...p, complete: false, error: p.error ?? 'run in progress at this checkpoint', itlHistogram: this.liveItl.get(p.name)?.toData() ?? null } : p));
    return writeResultFile(this.run.dir, this.stored(r));
  }
}
