// The inference server's metrics: what /metrics exposes, named after what they count, with units in the names.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MemoryBreakdown } from '../types.js';
import type { KvGauges } from './engineBinding.js';
import { MetricsRegistry, type Counter, type Histogram } from './metricsRegistry.js';

/** Live values the scheduler provides at scrape time. */
export interface SchedulerGauges {
  queueDepth(): number;
  running(): number;
  /** The process's memory breakdown (null while loading). */
  memory?: () => MemoryBreakdown | null;
  /** The KV cache's bound and current allocation (null while loading). */
  kv?: () => KvGauges | null;
}

/** Every metric the server updates. */
export interface ServerMetrics {
  registry: MetricsRegistry;
  /** labels: endpoint (route path or "other"), status (HTTP status code). */
  requests: Counter;
  promptTokens: Counter;
  generationTokens: Counter;
  /** Requests refused with 503 because the queue was full. */
  queueRejections: Counter;
  timeouts: Counter;
  /** label reason: client_disconnect | shutdown | deadline. */
  cancellations: Counter;
  /** Requests answered by the fallback; label reason: deadline | queue_full | error. */
  fallbacks: Counter;
  engineErrors: Counter;
  batchSize: Histogram;
  ttftSeconds: Histogram;
  timePerOutputTokenSeconds: Histogram;
  e2eSeconds: Histogram;
  stepSeconds: Histogram;
  /** Largest batch seen in one engine step. */
  notePeakBatch(size: number): void;
}

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 40, 80];
const TOKEN_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5];

function batchBuckets(maxBatch: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) out.push(b);
  out.push(maxBatch);
  return out;
}

/** Creates the server's metrics; gauges read the scheduler and the process at scrape time. */
export function createServerMetrics(maxBatch: number, gauges: SchedulerGauges): ServerMetrics {
  const r = new MetricsRegistry();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let peakBatch = 0;
  const m: ServerMetrics = {
    registry: r,
    requests: r.counter('llmbench_requests_total', 'HTTP requests answered, by endpoint and status code.', ['endpoint', 'status']),
    promptTokens: r.counter('llmbench_prompt_tokens_total', 'Prompt tokens of admitted generation requests.'),
    generationTokens: r.counter('llmbench_generation_tokens_total', 'Tokens generated (every engine token, including ones cut by stop strings).'),
    queueRejections: r.counter('llmbench_queue_rejections_total', 'Requests refused with 503 because the waiting queue was full.'),
    timeouts: r.counter('llmbench_request_timeouts_total', 'Requests that ran past --timeout-ms and were cancelled.'),
    cancellations: r.counter('llmbench_request_cancellations_total', 'Generations cancelled before they finished, by reason.', ['reason']),
    fallbacks: r.counter('llmbench_fallback_total', 'Requests answered by the fallback (--fallback) instead of the primary model, by reason.', ['reason']),
    engineErrors: r.counter('llmbench_engine_errors_total', 'Engine steps that threw; their requests were answered with 500.'),
    batchSize: r.histogram('llmbench_batch_size', 'Sequences in the running batch, observed once per engine step.', batchBuckets(maxBatch)),
    ttftSeconds: r.histogram('llmbench_time_to_first_token_seconds', 'Arrival of a request to its first generated token.', LATENCY_BUCKETS_S),
    timePerOutputTokenSeconds: r.histogram('llmbench_time_per_output_token_seconds', 'Gap between consecutive generated tokens of one request.', TOKEN_BUCKETS_S),
    e2eSeconds: r.histogram('llmbench_request_duration_seconds', 'Arrival of a generation request to its last token.', LATENCY_BUCKETS_S),
    stepSeconds: r.histogram('llmbench_engine_step_seconds', 'Wall time of one engine step.', TOKEN_BUCKETS_S),
    notePeakBatch(size) {
      if (size > peakBatch) peakBatch = size;
    },
  };
  // Known label sets start at 0 so a scrape shows them before the first event.
  for (const reason of ['client_disconnect', 'shutdown', 'deadline']) m.cancellations.inc({ reason }, 0);
  for (const reason of ['deadline', 'queue_full', 'error']) m.fallbacks.inc({ reason }, 0);
  r.gauge('llmbench_queue_depth', 'Requests accepted but not yet in the running batch.', () => gauges.queueDepth());
  r.gauge('llmbench_running_requests', 'Sequences in the running batch now.', () => gauges.running());
  r.gauge('llmbench_batch_size_peak', 'Largest running batch seen in one engine step.', () => peakBatch);
  r.gauge('llmbench_max_batch_size', 'The --max-batch setting.', () => maxBatch);
  r.gauge('process_resident_memory_bytes', 'Resident set size of the server process.', () => process.memoryUsage.rss());
  r.gauge('nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed);
  r.gauge('nodejs_heap_total_bytes', 'V8 heap reserved.', () => process.memoryUsage().heapTotal);
  r.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JS (includes tensors handed to onnxruntime).', () => process.memoryUsage().external);
  const part = (name: string, help: string, key: Exclude<keyof MemoryBreakdown, 'replicas'>): void => {
    r.gauge(name, help, () => gauges.memory?.()?.[key] ?? 0);
  };
  r.gauge('llmbench_kv_cache_max_positions', 'Tokens per sequence (prompt + output) the KV cache is bounded to (--max-context, else the model context).', () => gauges.kv?.()?.maxPositions ?? 0);
  r.gauge('llmbench_kv_cache_max_bytes', 'KV cache bytes with every batch row at the bound (rows x max positions x bytes per token): its ceiling.', () => gauges.kv?.()?.maxBytes ?? 0);
  r.gauge('llmbench_kv_cache_positions', 'Positions per batch row the KV arrays hold now (they grow with the longest row, up to the bound).', () => gauges.kv?.()?.slotsPerRow ?? 0);
  r.gauge('llmbench_kv_relayouts', 'KV cache re-layouts (stride growth or shrink, new rows), each run in slices with event-loop turns between them.', () => gauges.kv?.()?.relayouts ?? 0);
  r.gauge('llmbench_kv_relayout_max_slice_seconds', 'Longest synchronous slice of a KV re-layout, wall time (includes time the thread waited for a CPU mid-slice).', () => (gauges.kv?.()?.maxRelayoutSliceMs ?? 0) / 1000);
  r.gauge('llmbench_kv_relayout_slices', 'Slices KV re-layouts ran in (event-loop turns between them).', () => gauges.kv?.()?.relayoutSlices ?? 0);
  r.gauge('llmbench_kv_relayout_preempted_slices', 'Re-layout slices during which the scheduler switched the thread out for another runnable thread (Linux nonvoluntary context switches).', () => gauges.kv?.()?.preemptedRelayoutSlices ?? 0);
  // NaN (not 0) where the count is unreadable: the figure is unknown there, not zero.
  r.gauge('llmbench_kv_relayout_max_unpreempted_slice_seconds', "Longest re-layout slice the thread kept its CPU through: how long KV growth's own work held the event loop (NaN off Linux).", () => {
    const kv = gauges.kv?.();
    if (!kv) return 0;
    return kv.maxUnpreemptedRelayoutSliceMs === null ? Number.NaN : kv.maxUnpreemptedRelayoutSliceMs / 1000;
  });
  // onnxruntime-node runs a session synchronously on the event loop, so this includes every engine step's run.
  r.gauge('llmbench_event_loop_delay_max_seconds', 'Longest event-loop delay seen since start (perf_hooks, 1 ms resolution; includes onnxruntime runs, which block the loop).', () => loopDelay.max / 1e9);
  part('llmbench_kv_cache_bytes', 'KV cache arrays allocated (zero-filled, so resident).', 'kvAllocatedBytes');
  part('llmbench_kv_cache_used_bytes', 'Part of the KV cache holding cached tokens.', 'kvInUseBytes');
  part('llmbench_weight_file_bytes', 'Bytes of the model weights on disk.', 'weightFileBytes');
  part('llmbench_weights_mapped_bytes', 'File-backed RSS gained while loading (weights mapped from the file).', 'weightsMappedBytes');
  part('llmbench_weight_copies_bytes', "Anonymous RSS gained while loading (onnxruntime's prepacked weights and copies).", 'weightCopiesBytes');
  part('llmbench_onnxruntime_run_bytes', "Net RSS change across onnxruntime runs since load, less the part of each run's change the JS side's own change accounts for (arena, intermediates).", 'ortRunBytes');
  part('llmbench_runtime_base_bytes', 'RSS before the model loaded (node, libraries, startup JS heap).', 'runtimeBytes');
  part('llmbench_js_heap_growth_bytes', 'V8 heap now minus before the model load.', 'jsHeapGrowthBytes');
  part('llmbench_js_buffers_bytes', "ArrayBuffer bytes now minus before the model load (onnxruntime-node's output copies until collected, request bodies; not the KV arrays).", 'jsBuffersBytes');
  part('llmbench_memory_other_bytes', 'RSS minus every named part (unattributed; may be negative).', 'otherBytes');
  part('llmbench_peak_resident_memory_bytes', 'VmHWM: highest RSS of the process since it started.', 'peakRssBytes');
  part('llmbench_load_peak_resident_memory_bytes', 'VmHWM right after the model loaded (the peak of loading).', 'loadPeakRssBytes');
  return m;
}
