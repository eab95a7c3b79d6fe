// Several engines over one onnxruntime session (shared-weight replicas): each engine gets its own view with
// its own counters, so step timing and RSS growth stay per engine, and the session is released when the last
// view is disposed. onnxruntime-node runs a session synchronously on the JS thread, so runs from different
// views never overlap; they interleave step by step.
import type * as ort from 'onnxruntime-node';
import { residentBytes } from './procStatus.js';
import type { DecoderRunner, Feeds, RunnerStats } from './runner.js';

/** Reference count over one runner: `view()` hands out per-engine views. */
export class SharedRunner {
  private open = 0;

  constructor(private readonly inner: DecoderRunner) {}

  /** A new view; the inner runner is released once every view handed out has been disposed. */
  view(): RunnerView {
    this.open += 1;
    return new RunnerView(this.inner, () => this.release());
  }

  private async release(): Promise<void> {
    this.open -= 1;
    if (this.open === 0) await this.inner.dispose();
  }
}

/** One engine's runner over a shared session. */
export class RunnerView implements DecoderRunner {
  readonly stats: RunnerStats = { runs: 0, runMs: 0 };
  /** Measure RSS before and after every run of this view. */
  trackRss = false;
  private disposed = false;

  constructor(
    private readonly inner: DecoderRunner,
    private readonly onDispose: () => Promise<void>,
  ) {}

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  async run(feeds: Feeds, fetches: readonly string[]): Promise<Record<string, ort.Tensor>> {
    if (this.disposed) throw new Error('decoder session already disposed');
    const t0 = performance.now();
    const rss0 = this.trackRss ? residentBytes() : null;
    const out = await this.inner.run(feeds, fetches);
    this.stats.runMs += performance.now() - t0;
    const rss1 = rss0 === null ? null : residentBytes();
    if (rss0 !== null && rss1 !== null) this.stats.rssGrowthBytes = (this.stats.rssGrowthBytes ?? 0) + (rss1 - rss0);
    this.stats.runs += 1;
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.onDispose();
  }
}
