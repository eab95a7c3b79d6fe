// One inference server process: listens first (so /health can say 503 while loading), resolves and loads the
// model into a batch engine, then serves. `close()` drains: it stops accepting, lets running requests finish for
// up to `drainMs`, cancels what is left, and releases the engine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { describePlacement } from '../engine/placementLog.js';
import { LlmbenchError } from '../errors.js';
import type { FallbackRuntime } from './fallback.js';
import { generationRoutes } from './generationRoutes.js';
import { createRequestListener, handleClientError } from './httpApp.js';
import { infoRoutes } from './infoRoutes.js';
import { tokenizeRoute } from './tokenizeRoute.js';
import { loadServingEngine, loadSharedServingEngines, type ServingEngine } from './engineBinding.js';
import { MemoryLedger } from './memoryBreakdown.js';
import { Scheduler } from './scheduler.js';
import { createServerMetrics } from './serverMetrics.js';
import type { ServeOptions } from './serveOptions.js';
import type { ServerState } from './serverState.js';

/** A running server. */
export interface InferenceServerHandle {
  /** The first replica's URL (the only one unless `replicas` > 1). */
  url: string;
  port: number;
  /** Every replica's URL, in replica order; they share this process and one copy of the weights. */
  urls: string[];
  modelId: string;
  /** The first replica's state. */
  state: ServerState;
  /** Graceful shutdown (idempotent). */
  close(): Promise<void>;
}

/** Model id for responses: the preset spec as given, or the folder's name; quantized models get "-<method>". */
export function servedModelId(spec: string, modelDir: string, quantize: string | null): string {
  const base = spec.includes('/') || spec.includes('\\') ? basename(modelDir) : spec;
  return quantize ? `${base}-${quantize}` : base;
}

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(new LlmbenchError('SERVER', `cannot listen on ${host}:${port}: ${e.code ?? e.message}`, e.code === 'EADDRINUSE' ? 'Pick another --port, or --port 0 for a free one.' : null));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) resolve(true);
      else if (Date.now() - t0 >= timeoutMs) resolve(false);
      else setTimeout(tick, 10);
    };
    tick();
  });
}

export interface StartHooks {
  onProgress?: (msg: string) => void;
  /** Called once the socket listens, before the model loads (the server answers 503 until it has). */
  onListening?: (url: string) => Promise<void> | void;
}

/** Names of the replicas one process serves: the given name alone, or NAME-0..NAME-(n-1). */
export function replicaNames(name: string, replicas: number): string[] {
  return replicas === 1 ? [name] : Array.from({ length: replicas }, (_, i) => `${name}-${i}`);
}

/** One replica: its socket, its state and (once loaded) its scheduler. */
interface Replica {
  server: http.Server;
  url: string;
  port: number;
  state: ServerState;
  scheduler: Scheduler | null;
  engine: ServingEngine | null;
}

/**
 * Starts a server and resolves once the model is loaded and requests are served. With `opts.replicas` > 1,
 * each replica listens on its own port (port 0: a free one each; otherwise port, port+1, ...) with its own
 * engine, KV cache and scheduler, and all of them run over one onnxruntime session: one copy of the weights.
 */
export async function startInferenceServer(opts: ServeOptions, hooks: StartHooks = {}): Promise<InferenceServerHandle> {
  let engines: ServingEngine[] = [];
  let fallbackEngine: ServingEngine | null = null;
  let fallbackScheduler: Scheduler | null = null;
  const ledger = new MemoryLedger();
  const replicas: Replica[] = [];
  const closeSockets = (): Promise<void[]> => Promise.all(replicas.map((r) => new Promise<void>((res) => r.server.close(() => res()))));
  try {
    for (const name of replicaNames(opts.replicaName, opts.replicas)) {
      const replica: Replica = { server: null as unknown as http.Server, url: '', port: 0, state: null as unknown as ServerState, scheduler: null, engine: null };
      const metrics = createServerMetrics(opts.maxBatch, {
        queueDepth: () => replica.scheduler?.queueDepth ?? 0,
        running: () => replica.scheduler?.runningCount ?? 0,
        memory: () => ledger.snapshot(),
        kv: () => replica.engine?.kv() ?? null,
      });
      replica.state = {
        replicaName: name,
        apiKey: opts.apiKey,
        bodyLimitBytes: opts.bodyLimitBytes,
        timeoutMs: opts.timeoutMs,
        metrics,
        phase: 'loading',
        model: null,
        startedAtS: Math.floor(Date.now() / 1000),
        inFlight: 0,
        fallback: null,
        memory: () => ledger.snapshot(),
      };
      const state = replica.state;
      replica.server = http.createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, createRequestListener(state, [...infoRoutes, tokenizeRoute, ...generationRoutes]));
      replica.server.on('clientError', (err: NodeJS.ErrnoException, socket) => handleClientError(state, err, socket));
      replicas.push(replica);
      const addr = await listen(replica.server, opts.host, opts.port === 0 ? 0 : opts.port + replicas.length - 1);
      const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      replica.url = `http://${hostForUrl}:${addr.port}`;
      replica.port = addr.port;
    }
  } catch (e) {
    await closeSockets();
    throw e;
  }
  const first = replicas[0] as Replica;

  try {
    await hooks.onListening?.(first.url);
    ledger.loadStarting();
    engines = opts.replicas === 1 ? [await loadServingEngine(opts, hooks.onProgress)] : await loadSharedServingEngines(opts, opts.replicas, hooks.onProgress);
    if (opts.deadline?.fallback.kind === 'model') fallbackEngine = await loadFallbackEngine(opts, opts.deadline.fallback, opts.deadline.fallbackMaxBatch, hooks.onProgress);
    // Replicas share one session: the weights are counted once.
    const weightBytes = (engines[0] as ServingEngine).weightFileBytes + (fallbackEngine?.weightFileBytes ?? 0);
    ledger.loaded(weightBytes, [...engines.map((e) => e.memory), ...(fallbackEngine ? [fallbackEngine.memory] : [])], engines.length);
  } catch (e) {
    await Promise.all(engines.map((en) => en.dispose()));
    await fallbackEngine?.dispose();
    await closeSockets();
    throw e;
  }
  const engine = engines[0] as ServingEngine;
  const modelId = servedModelId(opts.model, engine.modelDir, opts.quantize);
  if (engine.placement) hooks.onProgress?.(`node placement on ${opts.device}: ${describePlacement(engine.placement)}${engine.placement.cpuFallbackNodes > 0 ? ' (serve --no-cpu-fallback makes this an error)' : ''}`);
  // One fallback model per process, shared by its replicas.
  const fallback = opts.deadline ? fallbackRuntime(opts, fallbackEngine, (s) => (fallbackScheduler = s)) : null;
  replicas.forEach((r, i) => {
    const en = engines[i] as ServingEngine;
    r.engine = en;
    r.scheduler = new Scheduler(en.stepper, { maxBatch: opts.maxBatch, maxQueue: opts.maxQueue }, r.state.metrics);
    r.state.model = {
      id: modelId,
      aliases: new Set([modelId, opts.model, basename(en.modelDir), en.modelDir]),
      info: en.info,
      maxContext: en.maxContext,
      tokenizer: en.tokenizer,
      scheduler: r.scheduler,
      placement: en.placement,
    };
    r.state.fallback = fallback;
    r.state.phase = 'ready';
  });

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const r of replicas) r.state.phase = 'draining';
      const closed = closeSockets();
      for (const r of replicas) r.server.closeIdleConnections();
      const scheds = replicas.map((r) => r.scheduler).filter((s): s is Scheduler => s !== null);
      await waitUntil(() => scheds.every((s) => s.active === 0) && (fallbackScheduler?.active ?? 0) === 0, opts.drainMs);
      for (const s of scheds) s.cancelAll();
      fallbackScheduler?.cancelAll();
      // Cancelled handlers answer at once; give their last bytes a moment to leave.
      await waitUntil(() => replicas.every((r) => r.state.inFlight === 0), 500);
      for (const s of scheds) await s.close();
      await fallbackScheduler?.close();
      for (const r of replicas) r.server.closeAllConnections();
      await closed;
      for (const en of engines) await en.dispose();
      await fallbackEngine?.dispose();
    })();
    return closing;
  };

  return { url: first.url, port: first.port, urls: replicas.map((r) => r.url), modelId, state: first.state, close };
}

/** Loads the fallback model; a failure names it as the fallback so the user knows which model to fix. */
async function loadFallbackEngine(
  opts: ServeOptions,
  fb: { model: string; quantize: ServeOptions['quantize'] },
  maxBatch: number,
  onProgress?: (msg: string) => void,
): Promise<ServingEngine> {
  onProgress?.(`loading fallback model ${fb.model}${fb.quantize ? ` (${fb.quantize})` : ''}`);
  try {
    return await loadServingEngine({ ...opts, model: fb.model, quantize: fb.quantize, quantBlockSize: null, maxBatch, stages: null, maxContext: null, variant: null }, onProgress);
  } catch (e) {
    if (e instanceof LlmbenchError) throw new LlmbenchError(e.code, `--fallback model:${fb.model}: ${e.message}`, e.hint, e.exitCode);
    throw new LlmbenchError('MODEL', `--fallback model:${fb.model}: cannot load: ${e instanceof Error ? e.message : String(e)}`, 'Check the folder or preset name given to --fallback.');
  }
}

/** The deadline and fallback a server runs with; the fallback model gets its own scheduler and metrics. */
function fallbackRuntime(opts: ServeOptions, fbEngine: ServingEngine | null, keep: (s: Scheduler) => void): FallbackRuntime {
  const d = opts.deadline as NonNullable<ServeOptions['deadline']>;
  let model: FallbackRuntime['model'] = null;
  if (fbEngine && d.fallback.kind === 'model') {
    let fbScheduler: Scheduler | null = null;
    const metrics = createServerMetrics(d.fallbackMaxBatch, { queueDepth: () => fbScheduler?.queueDepth ?? 0, running: () => fbScheduler?.runningCount ?? 0 });
    fbScheduler = new Scheduler(fbEngine.stepper, { maxBatch: d.fallbackMaxBatch, maxQueue: opts.maxQueue }, metrics);
    keep(fbScheduler);
    model = {
      id: servedModelId(d.fallback.model, fbEngine.modelDir, d.fallback.quantize),
      maxPositions: fbEngine.info.maxPositions,
      eosTokenIds: fbEngine.info.eosTokenIds,
      tokenizer: fbEngine.tokenizer,
      scheduler: fbScheduler,
      metrics,
    };
  }
  return { deadlineMs: d.deadlineMs, scope: d.scope, spec: d.fallback, model };
}
