// One pipeline stage in a worker thread: its own onnxruntime session (threads, device), runs in the order
// the main thread issued them, each once the activations it needs have arrived from earlier stages.
// Activations go straight to the later stages' ports; original outputs (logits, presents) go to main.
// With a resident cache (KvStep), the stage feeds its own layers' past from its arena and keeps the new
// keys/values. Imports no onnxruntime statically: it may be transpiled and run from a temp folder.
import { parentPort, workerData } from 'node:worker_threads';
import { StageKvCaches } from './stagedKv.js';
import type { FromStage, KvOp, KvStep, PeerMessage, StageWorkerData, TensorData, ToStage, WireTensor } from './stagedProtocol.js';

interface OrtTensor {
  type: string;
  dims: readonly number[];
  data: unknown;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>, fetches: string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: string, data: TensorData, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(path: string, opts: object): Promise<OrtSession> };
}
interface PendingRun {
  kind: 'run';
  runId: number;
  feeds: WireTensor[];
  fetch: string[];
  kv: KvStep | null;
  arrivedAt: number;
}
/** Work in arrival order: cache bookkeeping must apply between the runs it came between. */
type QueueItem = PendingRun | { kind: 'kvOp'; op: KvOp };

const data = workerData as StageWorkerData;
const port = parentPort;
if (!port) throw new Error('stagedWorker must run in a worker thread');
const post = (m: FromStage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

const queue: QueueItem[] = [];
const caches = new StageKvCaches();
/** Activations that arrived before their run was due, by run id. */
const inbox = new Map<number, Map<string, WireTensor>>();
/** Runs an upstream stage failed: they are dropped here and the failure passed on. */
const failed = new Map<number, string>();
let session: OrtSession | null = null;
let ort: OrtModule | null = null;
/** The run in progress, if any (close waits for it before releasing the session). */
let running: Promise<void> | null = null;
let closing = false;
/** Why a decoder's cache could not be created: its runs fail with this. */
const kvErrors = new Map<number, string>();

async function init(): Promise<void> {
  try {
    const mod = (await import(data.ortUrl)) as { default?: OrtModule } & OrtModule;
    ort = mod.default ?? mod;
    session = await ort.InferenceSession.create(data.modelPath, {
      ...data.session,
      executionMode: 'sequential',
      enableCpuMemArena: true,
      enableMemPattern: false,
      logSeverityLevel: 3,
    });
    post({ kind: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
    void pump();
  } catch (e) {
    post({ kind: 'initError', message: (e as Error).message });
  }
}

port.on('message', (m: ToStage) => {
  if (m.kind === 'close') {
    void close();
    return;
  }
  if (m.kind === 'kvOpen') {
    try {
      caches.open(m.open);
    } catch (e) {
      kvErrors.set(m.open.decoderId, `cannot allocate the KV cache: ${(e as Error).message}`);
    }
  } else if (m.kind === 'kvOp') queue.push({ kind: 'kvOp', op: m.op });
  else queue.push({ kind: 'run', runId: m.runId, feeds: m.feeds, fetch: m.fetch, kv: m.kv, arrivedAt: performance.now() });
  void pump();
});

for (const { port: up } of data.upstream) {
  up.on('message', (m: PeerMessage) => {
    if ('error' in m) failed.set(m.runId, m.error);
    else {
      const box = inbox.get(m.runId) ?? new Map<string, WireTensor>();
      for (const t of m.tensors) box.set(t.name, t);
      inbox.set(m.runId, box);
    }
    void pump();
  });
}

async function pump(): Promise<void> {
  while (!running && !closing && session && ort) {
    const head = queue[0];
    if (!head) return;
    if (head.kind === 'kvOp') {
      queue.shift();
      try {
        caches.apply(head.op);
      } catch {
        // A move/clear on a cache that failed to open: its runs already report why.
      }
      if (head.op.op === 'close') kvErrors.delete(head.op.decoderId);
      continue;
    }
    const upstreamError = failed.get(head.runId);
    if (upstreamError !== undefined) {
      queue.shift();
      failed.delete(head.runId);
      inbox.delete(head.runId);
      abortDownstream(head.runId, upstreamError);
      post({ kind: 'runError', runId: head.runId, message: upstreamError });
      continue;
    }
    const box = inbox.get(head.runId);
    if (data.receives.some((n) => !box?.has(n))) return;
    queue.shift();
    inbox.delete(head.runId);
    running = execute(head, box ?? new Map());
    try {
      await running;
    } finally {
      running = null;
    }
  }
}

async function execute(run: PendingRun, received: Map<string, WireTensor>): Promise<void> {
  const s = session as OrtSession;
  const o = ort as OrtModule;
  const started = performance.now();
  try {
    const kvError = run.kv ? kvErrors.get(run.kv.decoderId) : undefined;
    if (kvError !== undefined) throw new Error(kvError);
    const feeds: Record<string, OrtTensor> = {};
    const resident = run.kv ? caches.feeds(run.kv) : { feeds: [], fetch: [] };
    for (const t of [...run.feeds, ...received.values(), ...resident.feeds]) feeds[t.name] = new o.Tensor(t.type, ortReadable(t.data), t.dims);
    const fetch = [...new Set([...run.fetch, ...data.sends.map((x) => x.name), ...resident.fetch])];
    const out = await s.run(feeds, fetch);
    if (run.kv) {
      caches.absorb(run.kv, (name) => {
        const t = out[name];
        if (!t) throw new Error(`session did not return ${name}`);
        return t.data as TensorData;
      });
    }
    const runMs = performance.now() - started;
    deliver(run, out, runMs, started - run.arrivedAt);
  } catch (e) {
    const message = `stage ${data.stageIndex}: ${(e as Error).message}`;
    abortDownstream(run.runId, message);
    post({ kind: 'runError', runId: run.runId, message });
  }
}

/** Sends each output where it is needed; a buffer is transferred to its last receiver and copied for the others. */
function deliver(run: PendingRun, out: Record<string, OrtTensor>, runMs: number, waitMs: number): void {
  const toMain: WireTensor[] = [];
  const toPeer = new Map<number, WireTensor[]>();
  const destinations: { name: string; targets: (number | 'main')[] }[] = [];
  for (const name of run.fetch) destinations.push({ name, targets: ['main'] });
  for (const x of data.sends) {
    const d = destinations.find((e) => e.name === x.name);
    if (d) d.targets.push(...x.toStages);
    else destinations.push({ name: x.name, targets: [...x.toStages] });
  }
  const transferFor = new Map<number | 'main', ArrayBuffer[]>();
  for (const { name, targets } of destinations) {
    const t = out[name];
    if (!t) throw new Error(`stage ${data.stageIndex}: session did not return ${name}`);
    const arr = t.data as TensorData;
    targets.forEach((target, i) => {
      const last = i === targets.length - 1;
      const owned = arr.byteOffset === 0 && arr.byteLength === arr.buffer.byteLength && arr.buffer instanceof ArrayBuffer;
      const payload = last && owned ? arr : (arr.slice() as TensorData);
      const wire: WireTensor = { name, type: t.type, dims: [...t.dims], data: payload };
      if (target === 'main') toMain.push(wire);
      else toPeer.set(target, [...(toPeer.get(target) ?? []), wire]);
      transferFor.set(target, [...(transferFor.get(target) ?? []), payload.buffer as ArrayBuffer]);
    });
  }
  for (const { stage, port: down } of data.downstream) {
    down.postMessage({ runId: run.runId, tensors: toPeer.get(stage) ?? [] } satisfies PeerMessage, transferFor.get(stage) ?? []);
  }
  post({ kind: 'result', runId: run.runId, outputs: toMain, runMs, waitMs }, transferFor.get('main') ?? []);
}

/** onnxruntime-node rejects SharedArrayBuffer-backed arrays: those are copied into plain memory here. */
function ortReadable(a: TensorData): TensorData {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer ? (a.slice() as TensorData) : a;
}

function abortDownstream(runId: number, error: string): void {
  for (const { port: down } of data.downstream) down.postMessage({ runId, error } satisfies PeerMessage);
}

async function close(): Promise<void> {
  closing = true;
  await running;
  try {
    await session?.release();
  } catch {
    // The thread ends either way.
  }
  session = null;
  for (const { port: p } of [...data.upstream, ...data.downstream]) p.close();
  post({ kind: 'closed' });
  port?.close();
}

void init();
