// What a server does when a request misses its deadline: the deadline itself (on the first token or on the
// whole response) and the fallback that answers instead, a fixed text or a cheaper model loaded alongside.
// Parsed and checked once at start-up, so a bad value stops the server before it listens.
import { UsageError } from '../errors.js';
import type { QuantMethod } from '../types.js';

/** `first-token`: the primary must produce its first token in time; `total`: its last one. */
export type DeadlineScope = 'first-token' | 'total';
export const DEADLINE_SCOPES: readonly DeadlineScope[] = ['first-token', 'total'];

/** Who answers when the primary misses the deadline. */
export type FallbackSpec =
  | { kind: 'canned'; text: string }
  | { kind: 'model'; model: string; quantize: QuantMethod | null };

/** Deadline plus fallback, as a server runs them. */
export interface DeadlineOptions {
  deadlineMs: number;
  scope: DeadlineScope;
  fallback: FallbackSpec;
  /** Batch rows of the fallback model's engine (model fallbacks only). */
  fallbackMaxBatch: number;
}

/** Parses `canned:TEXT` or `model:DIR|preset`. */
export function parseFallbackOption(value: string, quantize: QuantMethod | null = null): FallbackSpec {
  const colon = value.indexOf(':');
  const kind = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? '' : value.slice(colon + 1);
  if (kind === 'canned') {
    if (rest.trim() === '') throw new UsageError('--fallback canned: the text is empty', 'Give the answer to send, e.g. --fallback "canned:Sorry, please try again."');
    if (quantize !== null) throw new UsageError('--fallback-quantize only applies to --fallback model:...');
    return { kind: 'canned', text: rest };
  }
  if (kind === 'model') {
    if (rest.trim() === '') throw new UsageError('--fallback model: no model given', 'Name a model folder or a preset, e.g. --fallback model:tiny');
    return { kind: 'model', model: rest, quantize };
  }
  throw new UsageError(`--fallback: unknown kind "${kind}" in "${value}"`, 'Use canned:TEXT or model:DIR|preset.');
}

/** Checks a deadline against the request timeout (the deadline must come first to matter). */
export function checkDeadline(deadlineMs: number, timeoutMs: number | null): void {
  if (!Number.isFinite(deadlineMs) || !Number.isInteger(deadlineMs) || deadlineMs <= 0) {
    throw new UsageError(`--deadline-ms: expected a whole number of milliseconds > 0, got ${String(deadlineMs)}`, 'Omit --deadline-ms for no deadline.');
  }
  if (timeoutMs !== null && deadlineMs >= timeoutMs) {
    throw new UsageError(`--deadline-ms ${deadlineMs} is not below --timeout-ms ${timeoutMs}`, 'The deadline must expire before the request times out, or the fallback never runs.');
  }
}
