// Runs a split decoder: one worker thread per stage, each with its own onnxruntime session, thread budget
// and device. The caller sees one model: run(feeds) takes the original inputs and returns the original
// outputs. Each stage receives only its own inputs (its layers' past_key_values) and returns its own
// presents; activations pass directly between stage workers, transferred rather than copied.
// Runs are queued in order at every stage, so overlapping run() calls pipeline across stages.
import { once } from 'node:events';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { ModelError, UsageError } from '../../errors.js';
import type { StagesManifest } from '../../split/splitManifest.js';
import type { DecoderRunner, Feeds, RunnerStats } from '../runner.js';
import { newKvName } from '../../onnx/graphPatch.js';
import type { FromStage, KvBinding, KvOp, KvOpen, KvStep, StageSessionConfig, StageWorkerData, TensorData, ToStage, WireTensor } from './stagedProtocol.js';
import { ortEntryUrl, stagedWorkerUrl } from './stagedWorkerUrl.js';

/** Device and thread budget of one stage. */
export interface StageRuntimeOptions {
  /** `cpu`, `cuda`, `cuda:N` or `webgpu`. */
  device?: string;
  intraOpNumThreads?: number;
}

export interface StagedRunnerOptions {
  /** Per stage (index = stage); missing entries use the defaults below. */
  stages?: StageRuntimeOptions[];
  device?: string;
  intraOpNumThreads?: number;
  graphOptimizationLevel?: StageSessionConfig['graphOptimizationLevel'];
  /** How long dispose waits for a worker to close before terminating it. */
  closeTimeoutMs?: number;
}

/** Time one stage spent, summed over runs. */
export interface StageTiming {
  stage: number;
  runs: number;
  /** Inside session.run. */
  runMs: number;
  /** From the run request reaching the stage to its start (queueing + waiting for activations). */
  waitMs: number;
}

interface Pending {
  remaining: number;
  outputs: Record<string, ort.Tensor>;
  resolve: (v: Record<string, ort.Tensor>) => void;
  reject: (e: Error) => void;
}

/** A split model behind the engine's DecoderRunner interface, so everything above runs it unchanged. */
export class StagedRunner implements DecoderRunner {
  /** Original graph inputs the stages take (union). */
  readonly inputNames: readonly string[];
  /** Original graph outputs, in the source graph's order. */
  readonly outputNames: readonly string[];
  readonly stats: RunnerStats = { runs: 0, runMs: 0 };
  private readonly pending = new Map<number, Pending>();
  private readonly timings: StageTiming[];
  private nextRunId = 1;
  private nextDecoderId = 1;
  /** Past inputs the stages feed from their own caches in runResident. */
  private readonly residentInputs = new Set<string>();
  private broken: Error | null = null;
  private disposed = false;

  private constructor(
    readonly manifest: StagesManifest,
    private readonly workers: Worker[],
    private readonly closeTimeoutMs: number,
  ) {
    const taken = new Set(manifest.stages.flatMap((s) => s.inputs));
    this.inputNames = manifest.inputs.filter((n) => taken.has(n));
    this.outputNames = manifest.outputs;
    this.timings = manifest.stages.map((s) => ({ stage: s.index, runs: 0, runMs: 0, waitMs: 0 }));
    for (const [i, w] of workers.entries()) {
      w.on('message', (m: FromStage) => this.onMessage(i, m));
      w.on('error', (e) => this.fail(new Error(`stage ${i} worker crashed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.disposed) this.fail(new Error(`stage ${i} worker exited (code ${code})`));
      });
    }
  }

  /** Starts one worker per stage of the split folder `dir` and waits until every session is loaded. */
  static async start(dir: string, manifest: StagesManifest, opts: StagedRunnerOptions = {}): Promise<StagedRunner> {
    const n = manifest.stages.length;
    if (opts.stages && opts.stages.length > n) throw new UsageError(`stage options given for ${opts.stages.length} stages, but the split has ${n}`);
    // Every stage's settings are checked before any worker starts, so a bad one leaks no thread.
    const configs = manifest.stages.map((st) => {
      const so = opts.stages?.[st.index] ?? {};
      const device = so.device ?? opts.device ?? 'cpu';
      const threads = so.intraOpNumThreads ?? opts.intraOpNumThreads ?? 1;
      if (!Number.isInteger(threads) || threads < 0) throw new UsageError(`stage ${st.index}: threads must be a non-negative integer (got ${threads})`);
      const session: StageSessionConfig = {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionProviders: executionProviders(device),
        graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
      };
      return { device, session };
    });
    const ups: { stage: number; port: MessagePort }[][] = manifest.stages.map(() => []);
    const downs: { stage: number; port: MessagePort }[][] = manifest.stages.map(() => []);
    for (const from of manifest.stages) {
      const targets = new Set(manifest.tensors.filter((t) => t.fromStage === from.index).flatMap((t) => t.toStages));
      for (const to of [...targets].sort((a, b) => a - b)) {
        const { port1, port2 } = new MessageChannel();
        downs[from.index]?.push({ stage: to, port: port1 });
        ups[to]?.push({ stage: from.index, port: port2 });
      }
    }
    const url = await stagedWorkerUrl();
    const ortUrl = ortEntryUrl();
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (const [i, st] of manifest.stages.entries()) {
      const { device, session } = configs[i] as (typeof configs)[number];
      const wd: StageWorkerData = {
        stageIndex: st.index,
        ortUrl,
        modelPath: join(dir, st.file),
        session,
        receives: st.receives,
        sends: manifest.tensors.filter((t) => t.fromStage === st.index).map((t) => ({ name: t.name, toStages: t.toStages })),
        upstream: ups[st.index] ?? [],
        downstream: downs[st.index] ?? [],
      };
      const ports = [...wd.upstream, ...wd.downstream].map((p) => p.port);
      const w = new Worker(url, { workerData: wd, transferList: ports, name: `llmbench-stage-${st.index}` });
      workers.push(w);
      ready.push(waitReady(w, st.index, device));
    }
    const results = await Promise.allSettled(ready);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failure.reason;
    }
    return new StagedRunner(manifest, workers, opts.closeTimeoutMs ?? 2000);
  }

  /** Runs all stages for one step and returns the `fetches` outputs (default: all original outputs). */
  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    const t0 = performance.now();
    const out = await this.runStages(feeds, fetches, null);
    this.stats.runMs += performance.now() - t0;
    this.stats.runs += 1;
    return out;
  }

  /**
   * Runs one step over a stage-resident cache opened with `openKv`: each stage feeds its own layers' past
   * from its arena and keeps the new keys/values, so `feeds` carries no past_key_values.
   */
  async runResident(feeds: Feeds, fetches: readonly string[], step: KvStep): Promise<Record<string, ort.Tensor>> {
    const t0 = performance.now();
    const out = await this.runStages(feeds, fetches, step);
    this.stats.runMs += performance.now() - t0;
    this.stats.runs += 1;
    return out;
  }

  /**
   * Creates a KV cache for one decoder inside every stage (its layers only), for graphs with the engine's
   * new-keys/values outputs. Returns the decoder id for runResident and kvOp.
   */
  openKv(spec: Omit<KvOpen, 'decoderId' | 'bindings'>): number {
    if (this.disposed) throw new Error('staged runner is disposed');
    const decoderId = this.nextDecoderId++;
    for (const [i, st] of this.manifest.stages.entries()) {
      const bindings: KvBinding[] = [];
      for (let layer = st.firstLayer; layer <= st.lastLayer; layer++) {
        const b = { layer, pastKey: `past_key_values.${layer}.key`, pastValue: `past_key_values.${layer}.value`, newKey: newKvName(layer, 'key'), newValue: newKvName(layer, 'value') };
        if (!st.inputs.includes(b.pastKey) || !st.inputs.includes(b.pastValue) || !st.outputs.includes(b.newKey) || !st.outputs.includes(b.newValue)) {
          throw new Error(`stage ${i} does not own layer ${layer}'s cache (needs ${b.pastKey} in and ${b.newKey} out)`);
        }
        bindings.push(b);
      }
      this.workers[i]?.postMessage({ kind: 'kvOpen', open: { ...spec, decoderId, bindings } } satisfies ToStage);
    }
    for (const b of this.manifest.stages) for (let l = b.firstLayer; l <= b.lastLayer; l++) this.residentInputs.add(`past_key_values.${l}.key`).add(`past_key_values.${l}.value`);
    return decoderId;
  }

  /** Applies row bookkeeping to a resident cache in every stage, in order with the runs around it. */
  kvOp(op: KvOp): void {
    if (this.disposed) return;
    for (const w of this.workers) w.postMessage({ kind: 'kvOp', op } satisfies ToStage);
  }

  private runStages(feeds: Feeds, fetches: readonly string[] | undefined, kv: KvStep | null): Promise<Record<string, ort.Tensor>> {
    if (this.disposed) return Promise.reject(new Error('staged runner is disposed'));
    if (this.broken) return Promise.reject(this.broken);
    const want = new Set(fetches ?? this.outputNames);
    for (const f of want) if (!this.outputNames.includes(f)) return Promise.reject(new Error(`staged runner: unknown output ${f}`));
    const messages: { message: ToStage; transfer: ArrayBuffer[] }[] = [];
    const runId = this.nextRunId++;
    for (const st of this.manifest.stages) {
      const stageFeeds: WireTensor[] = [];
      const transfer: ArrayBuffer[] = [];
      for (const name of st.inputs) {
        if (kv && this.residentInputs.has(name)) continue;
        const t = feeds[name];
        if (!t) return Promise.reject(new Error(`staged runner: missing input ${name} (stage ${st.index})`));
        stageFeeds.push(toWire(name, t, transfer));
      }
      messages.push({ message: { kind: 'run', runId, feeds: stageFeeds, fetch: st.outputs.filter((o) => want.has(o)), kv }, transfer });
    }
    return new Promise((resolve, reject) => {
      this.pending.set(runId, { remaining: this.workers.length, outputs: {}, resolve, reject });
      for (const [i, w] of this.workers.entries()) {
        const m = messages[i];
        if (m) w.postMessage(m.message, m.transfer);
      }
    });
  }

  /** Per-stage time, summed over runs since start. */
  stageTimings(): StageTiming[] {
    return this.timings.map((t) => ({ ...t }));
  }

  /** Number of stage workers still running. */
  get liveWorkers(): number {
    return this.workers.filter((w) => w.threadId !== -1).length;
  }

  /** Closes every stage session and ends every worker thread (terminating any that do not close in time). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.pending.values()) p.reject(new Error('staged runner disposed'));
    this.pending.clear();
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.threadId === -1) return;
        const exited = once(w, 'exit');
        w.postMessage({ kind: 'close' } satisfies ToStage);
        const timer = setTimeout(() => void w.terminate(), this.closeTimeoutMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private onMessage(stage: number, m: FromStage): void {
    if (m.kind === 'result') {
      const t = this.timings[stage];
      if (t) {
        t.runs += 1;
        t.runMs += m.runMs;
        t.waitMs += m.waitMs;
      }
      const p = this.pending.get(m.runId);
      if (!p) return;
      for (const o of m.outputs) p.outputs[o.name] = new ort.Tensor(o.type as ort.Tensor.Type, o.data as Float32Array, o.dims);
      p.remaining -= 1;
      if (p.remaining === 0) {
        this.pending.delete(m.runId);
        p.resolve(p.outputs);
      }
    } else if (m.kind === 'runError') {
      const p = this.pending.get(m.runId);
      if (!p) return;
      this.pending.delete(m.runId);
      p.reject(new Error(m.message));
    } else if (m.kind === 'closed') {
      // The worker closes its port right after; 'exit' follows.
    }
  }

  private fail(e: Error): void {
    this.broken ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/**
 * A feed as it goes to a worker. Caller-owned memory is never transferred away: a SharedArrayBuffer view
 * is shared as is (no copy), anything else is copied once to its exact size (cloning a view would copy
 * its whole underlying buffer) and that copy is transferred.
 */
function toWire(name: string, t: ort.Tensor, transfer: ArrayBuffer[]): WireTensor {
  const data = t.data as TensorData;
  if (typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer) return { name, type: t.type, dims: [...t.dims], data };
  const copy = data.slice() as TensorData;
  transfer.push(copy.buffer as ArrayBuffer);
  return { name, type: t.type, dims: [...t.dims], data: copy };
}

/** onnxruntime execution providers for a device name. */
export function executionProviders(device: string): StageSessionConfig['executionProviders'] {
  const m = /^(cpu|cuda|webgpu)(?::(\d{1,2}))?$/.exec(device);
  if (!m) throw new UsageError(`unknown device "${device}"`, 'Use cpu, cuda, cuda:N or webgpu.');
  const [, name = 'cpu', index] = m;
  if (name === 'cpu') return ['cpu'];
  return [{ name, ...(index === undefined ? {} : { deviceId: Number(index) }) }, 'cpu'];
}

async function waitReady(w: Worker, stage: number, device: string): Promise<void> {
  const [m] = (await Promise.race([once(w, 'message'), once(w, 'error').then(([e]) => [{ kind: 'initError', message: (e as Error).message }])])) as [FromStage];
  if (m.kind === 'ready') return;
  const message = m.kind === 'initError' ? m.message : `unexpected ${m.kind}`;
  throw new ModelError(`stage ${stage} (${device}): cannot load its session: ${message}`, device === 'cpu' ? null : `Is the ${device} execution provider available in this onnxruntime-node build?`);
}
