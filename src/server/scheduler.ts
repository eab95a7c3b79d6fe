// The scheduler loop around a batch engine: one loop calls `step()` while any sequence is queued or running and
// hands each token to the request that owns it. Adds and cancels are applied between steps, so the engine only
// ever sees them at step boundaries; the engine itself admits waiting sequences into the batch up to --max-batch.
// The queue is bounded: beyond --max-batch running plus --max-queue waiting, `submit` refuses with 503.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { FinishReason, SequenceRequest, TokenEvent } from '../types.js';
import { queueFull } from './apiError.js';
import type { ServerMetrics } from './serverMetrics.js';

/** What the scheduler needs from an engine (BatchEngine meets it). */
export interface StepEngine {
  add(req: SequenceRequest): void;
  cancel(id: string): void;
  step(): Promise<TokenEvent[]>;
  readonly running: number;
  readonly waiting: number;
}

/** Why a sequence ended without a normal finish. */
export type SequenceFailure = { kind: 'engine-error'; message: string } | { kind: 'shutdown' };

/** Receives one sequence's tokens. */
export interface SequenceSink {
  /** One generated token; `finish` is set on the last one. `atMs` is performance.now() after the step. */
  onToken(tokenId: number, finish: FinishReason | null, atMs: number): void;
  /** The sequence ended abnormally; no more tokens follow. */
  onFailure(failure: SequenceFailure): void;
}

export interface SchedulerOptions {
  maxBatch: number;
  maxQueue: number;
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterS?: number;
}

/** Runs the step loop and routes token events to their requests. */
export class Scheduler {
  private readonly sinks = new Map<string, SequenceSink>();
  private pendingAdds: SequenceRequest[] = [];
  private pendingCancels: string[] = [];
  private looping = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly engine: StepEngine,
    private readonly options: SchedulerOptions,
    private readonly metrics: ServerMetrics,
  ) {}

  /** Requests accepted and not finished (queued or running). */
  get active(): number {
    return this.sinks.size;
  }

  /** Requests accepted but not yet in the running batch. */
  get queueDepth(): number {
    return this.pendingAdds.length + this.engine.waiting;
  }

  /** Sequences in the engine's running batch. */
  get runningCount(): number {
    return this.engine.running;
  }

  /** Accepts a sequence or throws the 503 ApiError when the queue is full. */
  submit(req: SequenceRequest, sink: SequenceSink): void {
    if (this.closed) throw new Error('scheduler is closed');
    if (this.sinks.size >= this.options.maxBatch + this.options.maxQueue) {
      this.metrics.queueRejections.inc();
      throw queueFull(this.options.maxQueue, this.options.retryAfterS ?? 1);
    }
    this.sinks.set(req.id, sink);
    this.pendingAdds.push(req);
    this.kick();
  }

  /** Stops a sequence: no more events reach its sink. Returns false when it had already ended. */
  cancel(id: string): boolean {
    if (!this.sinks.delete(id)) return false;
    const queued = this.pendingAdds.findIndex((r) => r.id === id);
    if (queued !== -1) this.pendingAdds.splice(queued, 1);
    else this.pendingCancels.push(id);
    this.kick();
    return true;
  }

  /** Ends every active sequence with a shutdown failure. */
  cancelAll(): void {
    for (const [id, sink] of [...this.sinks]) {
      this.cancel(id);
      sink.onFailure({ kind: 'shutdown' });
    }
  }

  /** Resolves once the loop has nothing to do. */
  idle(): Promise<void> {
    if (!this.looping && this.sinks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the loop after the step in flight (sequences still active should be cancelled first). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.loop().catch((e: unknown) => {
      // Only a bug in this file could get here; fail the requests rather than leave them hanging.
      this.looping = false;
      this.failAll(e instanceof Error ? e.message : String(e));
      this.wakeIdle();
    });
  }

  private applyPending(): void {
    const cancels = this.pendingCancels;
    this.pendingCancels = [];
    for (const id of cancels) this.engine.cancel(id);
    const adds = this.pendingAdds;
    this.pendingAdds = [];
    for (const r of adds) {
      try {
        this.engine.add(r);
      } catch (e) {
        // Handlers validate first; an add the engine still refuses fails that request alone.
        const sink = this.sinks.get(r.id);
        this.sinks.delete(r.id);
        sink?.onFailure({ kind: 'engine-error', message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.applyPending();
        if (this.engine.running + this.engine.waiting === 0 || (this.closed && this.sinks.size === 0)) break;
        const t0 = performance.now();
        let events: TokenEvent[];
        try {
          events = await this.engine.step();
        } catch (e) {
          this.failAll(e instanceof Error ? e.message : String(e));
          // Stepping again right away would likely fail the same way; the next submit restarts the loop.
          break;
        }
        const t1 = performance.now();
        this.metrics.stepSeconds.observe((t1 - t0) / 1000);
        this.recordBatch(events);
        for (const ev of events) this.deliver(ev, t1);
        // Lets HTTP handlers run (new arrivals, disconnects) between steps even when step() resolved at once.
        await yieldToEventLoop();
      }
    } finally {
      this.looping = false;
      if (this.pendingAdds.length > 0 || this.pendingCancels.length > 0) this.kick();
      else if (this.sinks.size === 0 || this.closed) this.wakeIdle();
    }
  }

  private deliver(ev: TokenEvent, atMs: number): void {
    const sink = this.sinks.get(ev.id);
    if (!sink) return;
    if (ev.finishReason !== null) this.sinks.delete(ev.id);
    try {
      sink.onToken(ev.tokenId, ev.finishReason, atMs);
    } catch (e) {
      // A failure while handling one request's token (e.g. decoding) ends that request, not the server.
      if (ev.finishReason === null) this.cancel(ev.id);
      sink.onFailure({ kind: 'engine-error', message: e instanceof Error ? e.message : String(e) });
    }
  }

  private recordBatch(events: readonly TokenEvent[]): void {
    // Sequences that took part in this step: the ones still running plus the ones that finished in it.
    const finished = events.reduce((n, ev) => n + (ev.finishReason !== null ? 1 : 0), 0);
    const size = Math.max(this.engine.running + finished, new Set(events.map((e) => e.id)).size);
    if (size === 0) return;
    this.metrics.batchSize.observe(size);
    this.metrics.notePeakBatch(size);
  }

  private failAll(message: string): void {
    this.metrics.engineErrors.inc();
    for (const [id, sink] of [...this.sinks]) {
      this.sinks.delete(id);
      try {
        this.engine.cancel(id);
      } catch {
        // The engine is already in a bad state; the request is answered with 500 regardless.
      }
      sink.onFailure({ kind: 'engine-error', message });
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
