// Several engines over one onnxruntime session (shared-weight replicas): each engine gets its own view with
// its own counters, so step timing and RSS growth stay per engine, and the session is released when the last
// view is disposed. onnxruntime-node runs a session synchronously on the JS thread, so runs never overlap
// anyway; the views also queue them one after another, so each run's timing and RSS window holds only itself
// (two runs started on the same tick would otherwise each count the other's memory and time as well).
// onnxruntime-node still yields to the event loop once per run (before it starts), and another engine may grow
// its KV arrays in that gap: `excludedBytes` (the engines' KV bytes) is read around each run and its change is
// taken out of the run's RSS growth, so KV is counted once, as KV.
import type * as ort from 'onnxruntime-node';
import { measuredRun, type DecoderRunner, type Feeds, type RunnerStats } from './runner.js';

/** Runs `fn` after everything queued before it. */
type Queue = <T>(fn: () => Promise<T>) => Promise<T>;

/** Reference count over one runner: `view()` hands out per-engine views. */
export class SharedRunner {
  private open = 0;
  /** The last queued run; the next one starts after it settles. */
  private tail: Promise<unknown> = Promise.resolve();

  /** `excludedBytes`: memory counted elsewhere whose change inside a run's window is not the run's. */
  constructor(
    private readonly inner: DecoderRunner,
    private readonly excludedBytes: () => number = () => 0,
  ) {}

  /** A new view; the inner runner is released once every view handed out has been disposed. */
  view(): RunnerView {
    this.open += 1;
    const queue: Queue = (fn) => {
      const next = this.tail.then(fn, fn);
      this.tail = next.catch(() => undefined);
      return next;
    };
    return new RunnerView(this.inner, queue, this.excludedBytes, () => this.release());
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
    private readonly queue: Queue,
    private readonly excludedBytes: () => number,
    private readonly onDispose: () => Promise<void>,
  ) {}

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  run(feeds: Feeds, fetches: readonly string[]): Promise<Record<string, ort.Tensor>> {
    if (this.disposed) return Promise.reject(new Error('decoder session already disposed'));
    // The inner runner's run reaches onnxruntime-node's session.run synchronously, so the work starts on an immediate.
    return this.queue(() => measuredRun(this.stats, this.trackRss, this.excludedBytes, () => this.inner.run(feeds, fetches), true));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.onDispose();
  }
}
