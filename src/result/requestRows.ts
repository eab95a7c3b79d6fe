// The per-request row of a result's sidecar file (requests-<pipeline>.jsonl.gz) and of a baseline's embedded
// rows: one JSON array per request, times as integer microseconds, gaps reduced to count/mean/max (the gaps
// themselves go to the pipeline's ITL histogram). docs/results.md lists the columns; REQUEST_COLUMNS is the
// header line, so a reader can check it is looking at the layout it knows.
import type { Sample, SampleStatus } from '../types.js';

/** Version of the row layout below. */
export const REQUEST_ROWS_VERSION = 1;

/** Column names, in row order. Times are integer microseconds; offsets are from the scheduled send time. */
export const REQUEST_COLUMNS = [
  'run',
  'index',
  'flags',
  'scheduledUs',
  'sendLagUs',
  'firstTokenOffsetUs',
  'endOffsetUs',
  'ttftUs',
  'e2eUs',
  'tpotUs',
  'outputTokens',
  'promptTokens',
  'itlCount',
  'itlMeanUs',
  'itlMaxUs',
  'replica',
  'retries',
  'httpStatus',
  'error',
  'tokenCountMismatch',
  'answerTtftUs',
  'clientPromptTokens',
  'requestedTokens',
  'finishReason',
  'fallbackReason',
] as const;

/** One encoded request. */
export type RequestRow = Array<number | string | null | [number, number]>;

const STATUS: readonly SampleStatus[] = ['ok', 'error', 'timeout', 'fallback'];
const SOURCE: ReadonlyArray<Sample['outputTokensSource']> = ['usage', 'tokenizer', 'none'];
const EMPTY: number[] = [];

const us = (ms: number): number => Math.round(ms * 1000);
const usOrNull = (ms: number | null): number | null => (ms === null ? null : us(ms));
const ms = (v: number): number => v / 1000;

function itlOf(s: Sample): { count: number; meanUs: number; maxUs: number } {
  if (s.itl) return { count: s.itl.count, meanUs: us(s.itl.meanMs), maxUs: us(s.itl.maxMs) };
  let sum = 0;
  let max = 0;
  for (const g of s.itlMs) {
    sum += g;
    if (g > max) max = g;
  }
  return { count: s.itlMs.length, meanUs: s.itlMs.length > 0 ? us(sum / s.itlMs.length) : 0, maxUs: us(max) };
}

/** Encodes a sample as a row (gaps reduced to count, mean and max). */
export function encodeRow(s: Sample): RequestRow {
  const flags = (s.warmup ? 1 : 0) | (STATUS.indexOf(s.status) << 1) | (SOURCE.indexOf(s.outputTokensSource) << 3);
  const sched = us(s.scheduledMs);
  const itl = itlOf(s);
  return [
    s.run ?? 0,
    s.index,
    flags,
    sched,
    us(s.sentMs) - sched,
    s.firstTokenMs === null ? null : us(s.firstTokenMs) - sched,
    us(s.endMs) - sched,
    usOrNull(s.ttftMs),
    us(s.e2eMs),
    usOrNull(s.tpotMs),
    s.outputTokens,
    s.promptTokens,
    itl.count,
    itl.meanUs,
    itl.maxUs,
    s.replica,
    s.retries,
    s.httpStatus,
    s.error,
    s.tokenCountMismatch ? [s.tokenCountMismatch.usage, s.tokenCountMismatch.tokenizer] : null,
    s.answerTtftMs === undefined ? null : usOrNull(s.answerTtftMs),
    s.clientPromptTokens ?? null,
    s.requestedTokens ?? null,
    s.finishReason ?? null,
    s.fallbackReason ?? null,
  ];
}

const num = (v: unknown): number => v as number;
const numOrNull = (v: unknown): number | null => (v === null ? null : (v as number));

/** Checks one decoded JSON value is a row of this layout; returns what is wrong, or null. */
export function rowProblem(row: unknown): string | null {
  if (!Array.isArray(row)) return 'not an array';
  if (row.length !== REQUEST_COLUMNS.length) return `${row.length} columns, expected ${REQUEST_COLUMNS.length}`;
  for (const i of [0, 1, 2, 3, 4, 6, 8, 10, 12, 13, 14]) {
    if (typeof row[i] !== 'number') return `${REQUEST_COLUMNS[i]} is not a number`;
  }
  const flags = row[2] as number;
  if (((flags >> 3) & 3) > 2 || flags >> 5 !== 0) return `flags ${flags} out of range`;
  return null;
}

/**
 * Decodes a row into a compacted Sample (no gap array; `itl` summary instead). Strings are interned through
 * `names` so a million rows share one "replica-0".
 */
function intern(names: Map<string, string>, v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const hit = names.get(v);
  if (hit !== undefined) return hit;
  names.set(v, v);
  return v;
}

export function decodeRow(row: RequestRow, names: Map<string, string> = new Map()): Sample {
  const flags = num(row[2]);
  const sched = num(row[3]);
  const first = numOrNull(row[5]);
  const mismatch = row[19] as [number, number] | null;
  const itlCount = num(row[12]);
  const s: Sample = {
    index: num(row[1]),
    warmup: (flags & 1) === 1,
    status: STATUS[(flags >> 1) & 3] as SampleStatus,
    error: intern(names, row[18]),
    httpStatus: numOrNull(row[17]),
    scheduledMs: ms(sched),
    sentMs: ms(sched + num(row[4])),
    firstTokenMs: first === null ? null : ms(sched + first),
    endMs: ms(sched + num(row[6])),
    ttftMs: row[7] === null ? null : ms(num(row[7])),
    e2eMs: ms(num(row[8])),
    tpotMs: row[9] === null ? null : ms(num(row[9])),
    itlMs: EMPTY,
    itl: { count: itlCount, meanMs: ms(num(row[13])), maxMs: ms(num(row[14])) },
    promptTokens: numOrNull(row[11]),
    outputTokens: num(row[10]),
    outputTokensSource: SOURCE[(flags >> 3) & 3] as Sample['outputTokensSource'],
    tokenCountMismatch: mismatch ? { usage: mismatch[0], tokenizer: mismatch[1] } : null,
    replica: intern(names, row[15]),
    retries: numOrNull(row[16]),
    run: num(row[0]),
    answerTtftMs: row[20] === null ? null : ms(num(row[20])),
    clientPromptTokens: numOrNull(row[21]),
    finishReason: intern(names, row[23]),
  };
  // Assigned, not spread in: a spread per row costs a temporary object on a million-row read.
  if (row[22] !== null) s.requestedTokens = num(row[22]);
  if (typeof row[24] === 'string') s.fallbackReason = intern(names, row[24]) as string;
  return s;
}

/** The sample as it will read back from storage (integer microseconds, gaps summarized). */
export function compactSample(s: Sample): Sample {
  return decodeRow(encodeRow(s));
}
