// Which samples are answers. A fallback answer is still an answer the client waited for, so latency and
// throughput count it; goodput and quality do not (see summarize.ts).
import type { Sample } from '../types.js';

/** True for a primary (ok) or fallback answer. */
export function isAnswered(s: Pick<Sample, 'status'>): boolean {
  return s.status === 'ok' || s.status === 'fallback';
}
