// The one place the engine calls onnxruntime. The engine only sees `DecoderRunner`, so a layer-split
// runner (several sessions or stages in sequence) can stand in for a single session.
import type * as ort from 'onnxruntime-node';
import { residentBytes } from '../sys/procStatus.js';

/** Input tensors by graph input name. */
export type Feeds = Record<string, ort.Tensor>;

/** Counters a runner keeps so callers can split step time into "inside ORT" and "everything else". */
export interface RunnerStats {
  runs: number;
  /** Wall time spent inside run() calls, summed. */
  runMs: number;
  /**
   * Net change of this process's RSS across run() calls, summed (onnxruntime's arena and intermediate
   * tensors as they grow); measured only when the runner was asked to track it.
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

  constructor(private readonly session: ort.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Feeds, fetches: readonly string[]): Promise<Record<string, ort.Tensor>> {
    if (this.disposed) throw new Error('decoder session already disposed');
    return measuredRun(this.stats, this.trackRss, this.excludedBytes, async () => (await this.session.run(feeds, fetches)) as Record<string, ort.Tensor>);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/**
 * Runs `run` and adds its time to `stats`; with `trackRss`, also the process's RSS growth across it, less the
 * bytes `excludedBytes` says changed meanwhile (KV arrays other code grew inside the window).
 */
export async function measuredRun<T>(stats: RunnerStats, trackRss: boolean, excludedBytes: () => number, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const rss0 = trackRss ? residentBytes() : null;
  const excluded0 = rss0 === null ? 0 : excludedBytes();
  const out = await run();
  stats.runMs += performance.now() - t0;
  const rss1 = rss0 === null ? null : residentBytes();
  if (rss0 !== null && rss1 !== null) stats.rssGrowthBytes = (stats.rssGrowthBytes ?? 0) + (rss1 - rss0) - (excludedBytes() - excluded0);
  stats.runs += 1;
  return out;
}
