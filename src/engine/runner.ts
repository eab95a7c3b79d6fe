// The one place the engine calls onnxruntime. The engine only sees `DecoderRunner`, so a layer-split
// runner (several sessions or stages in sequence) can stand in for a single session.
import type * as ort from 'onnxruntime-node';
import { residentBytes } from '../sys/procStatus.js';
import { collectGarbage, jsMemory } from '../sys/jsMemory.js';

/** Input tensors by graph input name. */
export type Feeds = Record<string, ort.Tensor>;

/** Counters a runner keeps so callers can split step time into "inside ORT" and "everything else". */
export interface RunnerStats {
  runs: number;
  /** Wall time spent inside run() calls, summed. */
  runMs: number;
  /**
   * Net change of this process's RSS across run() calls, summed, less what the JS side (V8 heap, ArrayBuffers,
   * the engine's KV arrays) changed inside each call's window: onnxruntime's arena and intermediates as they
   * grow. Measured only when the runner was asked to track it.
   */
  rssGrowthBytes?: number;
}

/** Runs a decoder graph: feeds in, the requested outputs out. */
export interface DecoderRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly stats: RunnerStats;
  run(feeds: Feeds, fetches: readonly string[]): Promise<Record<string, ort.Tensor>>;
  dispose(): Promise<void>;
}

/** Output bytes after which the next run first collects the young generation (the outputs' dead copies). */
const COLLECT_AFTER_OUTPUT_BYTES = 2 * 1024 * 1024;

/** A DecoderRunner over one onnxruntime session. */
export class OrtRunner implements DecoderRunner {
  readonly stats: RunnerStats = { runs: 0, runMs: 0 };
  private disposed = false;
  /** Measure RSS before and after every run (two small /proc reads per run). */
  trackRss = false;
  /**
   * Memory counted elsewhere (the engine's KV arrays) whose change inside a run's window is not the run's:
   * onnxruntime-node yields to the event loop before each run, and other work can grow it meanwhile.
   */
  excludedBytes: () => number = () => 0;

  /** Bytes of outputs returned since the last young-generation collection (JS copies, garbage by the next run). */
  private outputBytesSinceCollect = 0;

  constructor(private readonly session: ort.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Feeds, fetches: readonly string[]): Promise<Record<string, ort.Tensor>> {
    if (this.disposed) throw new Error('decoder session already disposed');
    // onnxruntime-node copies every output into a new ArrayBuffer; by the next run the engine has copied the
    // earlier runs' into its KV arrays, so they are garbage, but V8 lets tens of MiB of dead buffers build up
    // before it collects them by itself. A young-generation collection once the outputs since the last one
    // reach COLLECT_AFTER_OUTPUT_BYTES frees them. Measured on gpt2 int4 (bench:memory, with the servers'
    // MALLOC_MMAP_THRESHOLD_ then 4096): peak RSS 1 stream 339 -> 311 MiB, 8 streams 593 -> 578 MiB; collections took
    // 0.6-1.8% of onnxruntime's run time (2 cores at load 10).
    if (this.outputBytesSinceCollect >= COLLECT_AFTER_OUTPUT_BYTES) {
      collectGarbage('minor');
      this.outputBytesSinceCollect = 0;
    }
    const out = await measuredRun(this.stats, this.trackRss, this.excludedBytes, async () => (await this.session.run(feeds, fetches)) as Record<string, ort.Tensor>, true);
    for (const t of Object.values(out)) if (t.location === 'cpu') this.outputBytesSinceCollect += (t.data as ArrayBufferView).byteLength;
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/**
 * Runs `run` and adds its time to `stats`; with `trackRss`, also the process's RSS growth across it, less the part
 * of it that memory counted elsewhere explains (`nativeGrowth`): `excludedBytes` (KV arrays other code grew inside
 * the window) and the JS side (jsMemory). The JS side matters: onnxruntime-node copies every output into a new ArrayBuffer
 * inside the run, and the garbage collector frees those copies later, mostly between runs; counting the copies
 * as the run's growth but not their release made the sum climb by every prefill's outputs (about 200 MiB over 8
 * streams of 448-token prompts on gpt2, with the breakdown's "other" at -34% to -40% of RSS).
 */
export async function measuredRun<T>(stats: RunnerStats, trackRss: boolean, excludedBytes: () => number, run: () => Promise<T>, startsOnImmediate = false): Promise<T> {
  const t0 = performance.now();
  const snapshot = (): { rss: number; elsewhere: number } | null => {
    const rss = residentBytes();
    return rss === null ? null : { rss, elsewhere: countedElsewhere(excludedBytes) };
  };
  let start = trackRss ? snapshot() : null;
  // `startsOnImmediate`: `run` does its work from a setImmediate callback registered synchronously when it is
  // called (onnxruntime-node's session.run does). Registering this one first moves the window's start to right
  // before that work, past the turn of the event loop in between (HTTP, KV growth, V8 freeing garbage), whose
  // memory changes are not the run's.
  if (start !== null && startsOnImmediate) setImmediate(() => (start = snapshot() ?? start));
  const out = await run();
  stats.runMs += performance.now() - t0;
  const end = start === null ? null : snapshot();
  if (start !== null && end !== null) stats.rssGrowthBytes = (stats.rssGrowthBytes ?? 0) + nativeGrowth(end.rss - start.rss, end.elsewhere - start.elsewhere);
  stats.runs += 1;
  return out;
}

/**
 * The part of a window's RSS change that was not the JS side's: the RSS change goes to the JS side first, up to
 * what the JS side changed in the same direction, and the rest is native (onnxruntime's). Subtracting the JS
 * change outright miscounted whenever JS memory moved without RSS moving: onnxruntime-node's output copies are
 * usually allocated in memory the garbage collector had just freed (RSS unchanged, ArrayBuffers +4.5 MiB per
 * decode step on gpt2 at batch 1), which summed to -228 MiB of "onnxruntime runs" over a 15 s study pipeline
 * and the same amount of unexplained "other".
 */
export function nativeGrowth(rssDelta: number, jsDelta: number): number {
  const jsShare = jsDelta > 0 ? Math.min(jsDelta, Math.max(rssDelta, 0)) : Math.max(jsDelta, Math.min(rssDelta, 0));
  return rssDelta - jsShare;
}

/** Bytes the breakdown names outside onnxruntime: `excludedBytes` plus the V8 heap and ArrayBuffers. */
function countedElsewhere(excludedBytes: () => number): number {
  const js = jsMemory();
  return excludedBytes() + js.heapBytes + js.bufferBytes;
}
