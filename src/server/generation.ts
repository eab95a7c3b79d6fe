// One request's generation: submits the sequence to the scheduler, turns its tokens into text deltas (UTF-8 safe,
// stop strings held back and cut), enforces the per-request timeout, and reports how it ended. Timeouts, client
// disconnects, shutdown and engine errors each end with their own outcome, never with a normal-looking answer.
import type { FinishReason, SamplingParams } from '../types.js';
import type { Scheduler, SequenceFailure } from './scheduler.js';
import type { ServerMetrics } from './serverMetrics.js';
import type { ServerTokenizer } from './serverState.js';
import { StopMatcher } from './stopStrings.js';

/** Everything needed to run one sequence. */
export interface GenerationJob {
  id: string;
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingParams;
  stopTokenIds: number[];
  stopStrings: string[];
  /** null: no timeout. */
  timeoutMs: number | null;
  /** performance.now() when the HTTP request arrived (TTFT and timeouts count from here). */
  arrivedAtMs: number;
}

/** How a generation ended. `completionTokens` counts every generated token, the end-of-sequence token included. */
export type GenerationOutcome =
  | { kind: 'finished'; text: string; finish: 'stop' | 'length'; completionTokens: number }
  | { kind: 'timeout'; completionTokens: number }
  | { kind: 'disconnected'; completionTokens: number }
  | { kind: 'shutdown'; completionTokens: number }
  | { kind: 'error'; message: string; completionTokens: number }
  /** Cancelled by the server's deadline; `text` is what was already handed to `onText`. */
  | { kind: 'abandoned'; text: string; completionTokens: number };

/** A generation in progress. */
export interface RunningGeneration {
  outcome: Promise<GenerationOutcome>;
  /** The client went away: cancel and count it. */
  disconnect(): void;
  /** The deadline passed: cancel (freeing the batch slot) so a fallback can answer instead. */
  abandon(): void;
}

export interface GenerationDeps {
  scheduler: Scheduler;
  tokenizer: ServerTokenizer;
  metrics: ServerMetrics;
}

/**
 * Starts a generation; `onText` receives each text delta as soon as it is safe to show.
 * Throws the scheduler's 503 ApiError synchronously when the queue is full.
 */
export function startGeneration(deps: GenerationDeps, job: GenerationJob, onText: (delta: string) => void): RunningGeneration {
  const { scheduler, metrics } = deps;
  const detok = deps.tokenizer.streamDecoder();
  const stops = new StopMatcher(job.stopStrings);
  const stopIds = new Set(job.stopTokenIds);
  let text = '';
  let tokens = 0;
  let lastTokenAtMs: number | null = null;
  let settled = false;
  let timer: NodeJS.Timeout | null = null;
  let resolveOutcome!: (o: GenerationOutcome) => void;
  const outcome = new Promise<GenerationOutcome>((r) => (resolveOutcome = r));

  const settle = (o: GenerationOutcome): void => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    resolveOutcome(o);
  };
  const emit = (delta: string): void => {
    if (delta === '') return;
    text += delta;
    onText(delta);
  };
  const finishNormally = (finish: 'stop' | 'length', atMs: number): void => {
    metrics.e2eSeconds.observe((atMs - job.arrivedAtMs) / 1000);
    settle({ kind: 'finished', text, finish, completionTokens: tokens });
  };

  const onToken = (tokenId: number, finish: FinishReason | null, atMs: number): void => {
    if (settled) return;
    tokens += 1;
    metrics.generationTokens.inc();
    if (lastTokenAtMs === null) metrics.ttftSeconds.observe((atMs - job.arrivedAtMs) / 1000);
    else metrics.timePerOutputTokenSeconds.observe((atMs - lastTokenAtMs) / 1000);
    lastTokenAtMs = atMs;
    const isStopToken = finish === 'stop' && stopIds.has(tokenId);
    if (!isStopToken) {
      const scan = stops.push(detok.push(tokenId));
      emit(scan.emit);
      if (scan.stopped) {
        scheduler.cancel(job.id);
        finishNormally('stop', atMs);
        return;
      }
    }
    if (finish === null) return;
    if (finish === 'stop' || finish === 'length') {
      const tail = stops.push(detok.flush());
      emit(tail.emit);
      if (!tail.stopped) emit(stops.flush());
      finishNormally(tail.stopped ? 'stop' : finish, atMs);
    } else {
      settle({ kind: 'error', message: `engine ended the sequence with "${finish}"`, completionTokens: tokens });
    }
  };
  const onFailure = (f: SequenceFailure): void => {
    if (f.kind === 'shutdown') {
      metrics.cancellations.inc({ reason: 'shutdown' });
      settle({ kind: 'shutdown', completionTokens: tokens });
    } else {
      settle({ kind: 'error', message: `engine error: ${f.message}`, completionTokens: tokens });
    }
  };

  scheduler.submit({ id: job.id, promptIds: job.promptIds, maxTokens: job.maxTokens, sampling: job.sampling, stopTokenIds: job.stopTokenIds }, { onToken, onFailure });
  metrics.promptTokens.inc({}, job.promptIds.length);

  if (job.timeoutMs !== null) {
    const remainingMs = Math.max(0, job.timeoutMs - (performance.now() - job.arrivedAtMs));
    timer = setTimeout(() => {
      if (settled) return;
      scheduler.cancel(job.id);
      metrics.timeouts.inc();
      settle({ kind: 'timeout', completionTokens: tokens });
    }, remainingMs);
  }

  return {
    outcome,
    disconnect(): void {
      if (settled) return;
      scheduler.cancel(job.id);
      metrics.cancellations.inc({ reason: 'client_disconnect' });
      settle({ kind: 'disconnected', completionTokens: tokens });
    },
    abandon(): void {
      if (settled) return;
      scheduler.cancel(job.id);
      metrics.cancellations.inc({ reason: 'deadline' });
      settle({ kind: 'abandoned', text, completionTokens: tokens });
    },
  };
}
