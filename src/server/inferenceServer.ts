// One inference server process: listens first (so /health can say 503 while loading), resolves and loads the
// model into a batch engine, then serves. `close()` drains: it stops accepting, lets running requests finish for
// up to `drainMs`, cancels what is left, and releases the engine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { LlmbenchError } from '../errors.js';
import type { FallbackRuntime } from './fallback.js';
import { generationRoutes } from './generationRoutes.js';
import { createRequestListener, handleClientError } from './httpApp.js';
import { infoRoutes } from './infoRoutes.js';
import { tokenizeRoute } from './tokenizeRoute.js';
import { loadServingEngine, type ServingEngine } from './engineBinding.js';
import { MemoryLedger } from './memoryBreakdown.js';
import { Scheduler } from './scheduler.js';
import { createServerMetrics } from './serverMetrics.js';
import type { ServeOptions } from './serveOptions.js';
import type { ServerState } from './serverState.js';

/** A running server. */
export interface InferenceServerHandle {
  url: string;
  port: number;
  modelId: string;
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

/** Starts a server and resolves once the model is loaded and requests are served. */
export async function startInferenceServer(opts: ServeOptions, hooks: StartHooks = {}): Promise<InferenceServerHandle> {
  let engine: ServingEngine | null = null;
  let scheduler: Scheduler | null = null;
  let fallbackEngine: ServingEngine | null = null;
  let fallbackScheduler: Scheduler | null = null;
  const ledger = new MemoryLedger();
  const metrics = createServerMetrics(opts.maxBatch, {
    queueDepth: () => scheduler?.queueDepth ?? 0,
    running: () => scheduler?.runningCount ?? 0,
    memory: () => ledger.snapshot(),
    kv: () => engine?.kv() ?? null,
  });
  const state: ServerState = {
    replicaName: opts.replicaName,
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
  const server = http.createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, createRequestListener(state, [...infoRoutes, tokenizeRoute, ...generationRoutes]));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => handleClientError(state, err, socket));
  const addr = await listen(server, opts.host, opts.port);
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostForUrl}:${addr.port}`;

  try {
    await hooks.onListening?.(url);
    ledger.loadStarting();
    engine = await loadServingEngine(opts, hooks.onProgress);
    if (opts.deadline?.fallback.kind === 'model') fallbackEngine = await loadFallbackEngine(opts, opts.deadline.fallback, opts.deadline.fallbackMaxBatch, hooks.onProgress);
    ledger.loaded(engine.weightFileBytes + (fallbackEngine?.weightFileBytes ?? 0), fallbackEngine ? [engine.memory, fallbackEngine.memory] : [engine.memory]);
  } catch (e) {
    await engine?.dispose();
    await new Promise<void>((r) => server.close(() => r()));
    throw e;
  }
  scheduler = new Scheduler(engine.stepper, { maxBatch: opts.maxBatch, maxQueue: opts.maxQueue }, metrics);
  const modelId = servedModelId(opts.model, engine.modelDir, opts.quantize);
  state.model = {
    id: modelId,
    aliases: new Set([modelId, opts.model, basename(engine.modelDir), engine.modelDir]),
    info: engine.info,
    maxContext: engine.maxContext,
    tokenizer: engine.tokenizer,
    scheduler,
  };
  if (opts.deadline) state.fallback = fallbackRuntime(opts, fallbackEngine, (s) => (fallbackScheduler = s));
  state.phase = 'ready';

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.phase = 'draining';
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const sched = scheduler;
      if (sched) {
        await waitUntil(() => sched.active === 0 && (fallbackScheduler?.active ?? 0) === 0, opts.drainMs);
        sched.cancelAll();
        fallbackScheduler?.cancelAll();
        // Cancelled handlers answer at once; give their last bytes a moment to leave.
        await waitUntil(() => state.inFlight === 0, 500);
        await sched.close();
        await fallbackScheduler?.close();
      }
      server.closeAllConnections();
      await closed;
      await engine?.dispose();
      await fallbackEngine?.dispose();
    })();
    return closing;
  };

  return { url, port: addr.port, modelId, state, close };
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
