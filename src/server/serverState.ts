// The state one inference server process shares between its HTTP handlers: settings, the loaded model
// (null while loading), the scheduler and the metrics.
import type { MemoryBreakdown, ModelInfo, PlacementReport } from '../types.js';
import type { FallbackRuntime } from './fallback.js';
import type { Scheduler } from './scheduler.js';
import type { ServerMetrics } from './serverMetrics.js';

/** Turns one sequence's token ids into whole-character text pieces. */
export interface TokenStreamDecoder {
  push(id: number): string;
  flush(): string;
}

/** Encoding and decoding, as the handlers need them. */
export interface ServerTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** A fresh streaming decoder for one sequence. */
  streamDecoder(): TokenStreamDecoder;
}

/** A model ready to serve. */
export interface ServedModel {
  /** The id /v1/models lists and responses carry. */
  id: string;
  /** Names a request's `model` may use for this model (id, the --model argument, the folder name). */
  aliases: ReadonlySet<string>;
  info: ModelInfo;
  /** Tokens per sequence (prompt + output) this server admits: --max-context, else the model's context. */
  maxContext: number;
  tokenizer: ServerTokenizer;
  scheduler: Scheduler;
  /** Where onnxruntime placed the model's nodes (null: not checked). */
  placement: PlacementReport | null;
}

export type ServerPhase = 'loading' | 'ready' | 'draining';

/** Shared by every handler of one server. */
export interface ServerState {
  replicaName: string;
  apiKey: string | null;
  bodyLimitBytes: number;
  /** null: no per-request timeout. */
  timeoutMs: number | null;
  metrics: ServerMetrics;
  phase: ServerPhase;
  model: ServedModel | null;
  /** Unix seconds the server started (the `created` of /v1/models). */
  startedAtS: number;
  /** Requests being answered right now (any endpoint). */
  inFlight: number;
  /** Deadline and fallback (--deadline-ms, --fallback); null when not configured. */
  fallback: FallbackRuntime | null;
  /** This process's memory breakdown now (null while loading or off Linux). */
  memory: () => MemoryBreakdown | null;
}
