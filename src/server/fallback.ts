// Deadline and fallback around one request's generation. The primary runs as usual; if it has not produced its
// first token (scope first-token) or its last one (scope total) by the deadline, it is cancelled at the next
// step boundary (its batch slot goes to the next request) and the fallback answers: a fixed text, or a cheaper
// model loaded in the same server that continues from the prompt plus whatever the primary already sent, so a
// stream that had started goes on without a seam. A full primary queue or an engine error also falls back.
import { ApiError } from './apiError.js';
import type { FallbackSpec, DeadlineScope } from './fallbackOptions.js';
import { startGeneration, type GenerationDeps, type GenerationJob, type GenerationOutcome, type RunningGeneration } from './generation.js';
import type { Scheduler } from './scheduler.js';
import type { ServerMetrics } from './serverMetrics.js';
import type { ServerTokenizer } from './serverState.js';

/** Why a request was answered by the fallback (the `reason` label of llmbench_fallback_total). */
export type FallbackReason = 'deadline' | 'queue_full' | 'error';

/** The fallback model as a server holds it. */
export interface FallbackModel {
  id: string;
  maxPositions: number;
  eosTokenIds: number[];
  tokenizer: ServerTokenizer;
  scheduler: Scheduler;
  /** Metrics the fallback's own scheduler and generations update (not exposed; keeps the primary's clean). */
  metrics: ServerMetrics;
}

/** Deadline, scope and fallback of a running server. */
export interface FallbackRuntime {
  deadlineMs: number;
  scope: DeadlineScope;
  spec: FallbackSpec;
  /** Loaded when spec.kind is 'model'. */
  model: FallbackModel | null;
}

/** How the fallback ended a request, with what the client should be told about it. */
export interface FallbackMark {
  reason: FallbackReason;
  /** 'canned' or the fallback model's id. */
  source: string;
  /** Tokens the primary generated (and, when streaming, sent) before the switch. */
  primaryTokens: number;
}

/** A generation's outcome, or a finished answer that came from the fallback. */
export type GuardedOutcome =
  | Exclude<GenerationOutcome, { kind: 'abandoned' }>
  | { kind: 'fallback'; text: string; finish: 'stop' | 'length'; completionTokens: number; mark: FallbackMark };

/** A guarded generation in progress. */
export interface GuardedGeneration {
  outcome: Promise<GuardedOutcome>;
  disconnect(): void;
}

/** Called once, synchronously, when the answer switches to the fallback (before its first text). */
export type OnSwitch = (mark: FallbackMark) => void;

function isQueueFull(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'queue_full';
}

/**
 * Runs `job` on the primary with the deadline; `onText` gets every delta, primary and fallback alike.
 * Without a runtime it is a plain generation. Throws the primary's 503 only when there is no fallback.
 */
export function startGuardedGeneration(
  deps: GenerationDeps,
  job: GenerationJob,
  runtime: FallbackRuntime | null,
  onText: (delta: string) => void,
  onSwitch: OnSwitch,
): GuardedGeneration {
  if (!runtime) {
    const gen = startGeneration(deps, job, onText);
    return { outcome: gen.outcome as Promise<GuardedOutcome>, disconnect: () => gen.disconnect() };
  }
  let primary: RunningGeneration | null = null;
  let secondary: RunningGeneration | null = null;
  let gone = false;
  let sawText = false;
  let timer: NodeJS.Timeout | null = null;
  let resolveOutcome!: (o: GuardedOutcome) => void;
  const outcome = new Promise<GuardedOutcome>((r) => (resolveOutcome = r));

  const switchTo = (reason: FallbackReason, sentText: string, primaryTokens: number): void => {
    if (timer) clearTimeout(timer);
    const mark: FallbackMark = { reason, source: runtime.model?.id ?? 'canned', primaryTokens };
    deps.metrics.fallbacks.inc({ reason });
    onSwitch(mark);
    if (runtime.spec.kind === 'canned' || !runtime.model) {
      const canned = runtime.spec.kind === 'canned' ? runtime.spec.text : '';
      onText(canned);
      const cannedTokens = canned === '' ? 0 : deps.tokenizer.encode(canned).length;
      resolveOutcome({ kind: 'fallback', text: sentText + canned, finish: 'stop', completionTokens: primaryTokens + cannedTokens, mark });
      return;
    }
    const fb = runtime.model;
    // The fallback continues the same text: prompt plus what the primary already sent, in its own tokens.
    const context = deps.tokenizer.decode(job.promptIds) + sentText;
    let ids = fb.tokenizer.encode(context);
    const room = Math.max(1, job.maxTokens - primaryTokens);
    if (ids.length + 1 > fb.maxPositions) ids = ids.slice(ids.length + 1 - fb.maxPositions);
    const fbJob: GenerationJob = {
      ...job,
      id: `${job.id}-fallback`,
      promptIds: ids,
      maxTokens: Math.max(1, Math.min(room, fb.maxPositions - ids.length)),
      stopTokenIds: fb.eosTokenIds,
    };
    try {
      secondary = startGeneration({ scheduler: fb.scheduler, tokenizer: fb.tokenizer, metrics: fb.metrics }, fbJob, onText);
    } catch (e) {
      resolveOutcome({ kind: 'error', message: `fallback model: ${e instanceof Error ? e.message : String(e)}`, completionTokens: primaryTokens });
      return;
    }
    if (gone) secondary.disconnect();
    void secondary.outcome.then((o) => {
      if (o.kind === 'finished') {
        resolveOutcome({ kind: 'fallback', text: sentText + o.text, finish: o.finish, completionTokens: primaryTokens + o.completionTokens, mark });
      } else if (o.kind === 'abandoned') {
        resolveOutcome({ kind: 'error', message: 'fallback generation was abandoned', completionTokens: primaryTokens + o.completionTokens });
      } else if (o.kind === 'error') {
        resolveOutcome({ ...o, message: `fallback model: ${o.message}`, completionTokens: primaryTokens + o.completionTokens });
      } else resolveOutcome({ ...o, completionTokens: primaryTokens + o.completionTokens });
    });
  };

  try {
    primary = startGeneration(deps, job, (delta) => {
      sawText = true;
      if (runtime.scope === 'first-token' && timer) {
        clearTimeout(timer);
        timer = null;
      }
      onText(delta);
    });
  } catch (e) {
    if (!isQueueFull(e)) throw e;
    switchTo('queue_full', '', 0);
    return { outcome, disconnect: () => ((gone = true), secondary?.disconnect()) };
  }
  const running = primary;
  const remainingMs = Math.max(0, runtime.deadlineMs - (performance.now() - job.arrivedAtMs));
  timer = setTimeout(() => {
    timer = null;
    if (runtime.scope === 'first-token' && sawText) return;
    running.abandon();
  }, remainingMs);
  void running.outcome.then((o) => {
    if (timer) clearTimeout(timer);
    if (o.kind === 'abandoned') switchTo('deadline', o.text, o.completionTokens);
    else if (o.kind === 'error' && !sawText) switchTo('error', '', o.completionTokens);
    else resolveOutcome(o);
  });
  return {
    outcome,
    disconnect(): void {
      gone = true;
      if (timer) clearTimeout(timer);
      running.disconnect();
      secondary?.disconnect();
    },
  };
}
