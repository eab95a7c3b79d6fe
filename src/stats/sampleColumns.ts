// The requests of a pipeline as columns of typed arrays: what a run holds in memory while it drives load, in
// place of one object per request (~110 bytes per request instead of ~600, and nothing for the collector to
// trace). Times stay the doubles the sample had (ms), so a summary of the columns is the summary of the samples.
// Strings (replica, error, finish and fallback reasons) are interned to small ids.
import type { Sample, SampleStatus } from '../types.js';

const STATUS: readonly SampleStatus[] = ['ok', 'error', 'timeout', 'fallback'];
const SOURCE: ReadonlyArray<Sample['outputTokensSource']> = ['usage', 'tokenizer', 'none'];
/** Status codes as stored in `status`. */
export const OK = 0;
export const ERROR = 1;
export const TIMEOUT = 2;
export const FALLBACK = 3;

/**
 * Distinct strings a table keeps. An error text can differ per request (a server echoing an id): past this many,
 * further new texts share one stand-in text, so memory stays bounded; the requests file keeps every text.
 */
const MAX_STRINGS = 4096;
const TOO_MANY = '(text not kept in memory: more than 4096 distinct texts; see the requests file)';

/** Strings to ids (0 is null). */
class StringTable {
  readonly list: Array<string | null> = [null];
  private readonly ids = new Map<string, number>();

  id(s: string | null | undefined): number {
    if (s === null || s === undefined) return 0;
    let id = this.ids.get(s);
    if (id !== undefined) return id;
    // The stand-in itself takes the one slot past the limit.
    if (this.list.length > MAX_STRINGS && s !== TOO_MANY) return this.id(TOO_MANY);
    id = this.list.length;
    this.list.push(s);
    this.ids.set(s, id);
    return id;
  }
}

type F64Name = 'scheduledMs' | 'sentMs' | 'endMs' | 'e2eMs' | 'firstTokenMs' | 'ttftMs' | 'tpotMs' | 'answerTtftMs' | 'itlMeanMs' | 'itlMaxMs';
type I32Name = 'index' | 'run' | 'outputTokens' | 'promptTokens' | 'clientPromptTokens' | 'requestedTokens' | 'itlCount' | 'retries' | 'httpStatus';
type IdName = 'replica' | 'error' | 'finishReason' | 'fallbackReason';
const F64_NAMES: readonly F64Name[] = ['scheduledMs', 'sentMs', 'endMs', 'e2eMs', 'firstTokenMs', 'ttftMs', 'tpotMs', 'answerTtftMs', 'itlMeanMs', 'itlMaxMs'];
const I32_NAMES: readonly I32Name[] = ['index', 'run', 'outputTokens', 'promptTokens', 'clientPromptTokens', 'requestedTokens', 'itlCount', 'retries', 'httpStatus'];
const ID_NAMES: readonly IdName[] = ['replica', 'error', 'finishReason', 'fallbackReason'];

/** null is NaN in a float column and -1 in an integer one. */
const f = (v: number | null | undefined): number => (v === null || v === undefined ? Number.NaN : v);
const i32 = (v: number | null | undefined): number => (v === null || v === undefined ? -1 : v);
const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);
const intOrNull = (v: number): number | null => (v < 0 ? null : v);

/** Growable typed columns, one row per request, in arrival order. */
export class SampleColumns {
  length = 0;
  private capacity: number;
  /** Float columns (ms); NaN stands for null. */
  readonly f64 = {} as Record<F64Name, Float64Array>;
  /** Integer columns; -1 stands for null (absent `requestedTokens` too). */
  readonly i32 = {} as Record<I32Name, Int32Array>;
  /** Interned strings; 0 is null. */
  readonly ids = {} as Record<IdName, Uint16Array>;
  warmup: Uint8Array;
  /** OK, ERROR, TIMEOUT, FALLBACK. */
  status: Uint8Array;
  /** Index into ['usage', 'tokenizer', 'none']. */
  source: Uint8Array;
  readonly strings = { replica: new StringTable(), error: new StringTable(), finishReason: new StringTable(), fallbackReason: new StringTable() };
  /** Token-count mismatches by row (rare, so not a column). */
  readonly mismatches = new Map<number, { usage: number; tokenizer: number }>();
  /** Chunk gaps of measured ok requests when the samples carried them (not compacted); else empty. */
  okGapsMs: Float64Array = new Float64Array(0);
  okGapCount = 0;

  constructor(capacity = 1024) {
    this.capacity = Math.max(16, capacity);
    for (const n of F64_NAMES) this.f64[n] = new Float64Array(this.capacity);
    for (const n of I32_NAMES) this.i32[n] = new Int32Array(this.capacity);
    for (const n of ID_NAMES) this.ids[n] = new Uint16Array(this.capacity);
    this.warmup = new Uint8Array(this.capacity);
    this.status = new Uint8Array(this.capacity);
    this.source = new Uint8Array(this.capacity);
  }

  /** Columns holding `samples`, gaps included (what summarizing a list of samples needs). */
  static from(samples: Iterable<Sample>, capacity = 1024): SampleColumns {
    const c = new SampleColumns(capacity);
    for (const s of samples) c.push(s, true);
    return c;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const widen = <T extends Float64Array | Int32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    for (const n of F64_NAMES) this.f64[n] = widen(this.f64[n], (k) => new Float64Array(k));
    for (const n of I32_NAMES) this.i32[n] = widen(this.i32[n], (k) => new Int32Array(k));
    for (const n of ID_NAMES) this.ids[n] = widen(this.ids[n], (k) => new Uint16Array(k));
    this.warmup = widen(this.warmup, (k) => new Uint8Array(k));
    this.status = widen(this.status, (k) => new Uint8Array(k));
    this.source = widen(this.source, (k) => new Uint8Array(k));
    this.capacity = cap;
  }

  /** Appends one request; `keepGaps` pools its chunk gaps (measured ok requests) for an ITL without histogram. */
  push(s: Sample, keepGaps = false): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    const d = this.f64;
    d.scheduledMs[i] = s.scheduledMs;
    d.sentMs[i] = s.sentMs;
    d.endMs[i] = s.endMs;
    d.e2eMs[i] = s.e2eMs;
    d.firstTokenMs[i] = f(s.firstTokenMs);
    d.ttftMs[i] = f(s.ttftMs);
    d.tpotMs[i] = f(s.tpotMs);
    d.answerTtftMs[i] = f(s.answerTtftMs);
    const n = this.i32;
    n.index[i] = s.index;
    n.run[i] = s.run ?? 0;
    n.outputTokens[i] = s.outputTokens;
    n.promptTokens[i] = i32(s.promptTokens);
    n.clientPromptTokens[i] = i32(s.clientPromptTokens);
    n.requestedTokens[i] = i32(s.requestedTokens);
    n.retries[i] = i32(s.retries);
    n.httpStatus[i] = i32(s.httpStatus);
    const itl = summaryOfGaps(s);
    n.itlCount[i] = itl.count;
    d.itlMeanMs[i] = itl.meanMs;
    d.itlMaxMs[i] = itl.maxMs;
    this.ids.replica[i] = this.strings.replica.id(s.replica);
    this.ids.error[i] = this.strings.error.id(s.error);
    this.ids.finishReason[i] = this.strings.finishReason.id(s.finishReason);
    this.ids.fallbackReason[i] = this.strings.fallbackReason.id(s.fallbackReason);
    this.warmup[i] = s.warmup ? 1 : 0;
    this.status[i] = STATUS.indexOf(s.status);
    this.source[i] = SOURCE.indexOf(s.outputTokensSource);
    if (s.tokenCountMismatch) this.mismatches.set(i, s.tokenCountMismatch);
    if (keepGaps && !s.warmup && s.status === 'ok' && s.itlMs.length > 0) {
      if (this.okGapCount + s.itlMs.length > this.okGapsMs.length) {
        const b = new Float64Array(Math.max(1024, 2 * (this.okGapCount + s.itlMs.length)));
        b.set(this.okGapsMs.subarray(0, this.okGapCount));
        this.okGapsMs = b;
      }
      for (const g of s.itlMs) this.okGapsMs[this.okGapCount++] = g;
    }
  }

  /** Appends every row of another set of columns (pooling levels and repeats). */
  append(other: SampleColumns): void {
    for (let i = 0; i < other.length; i++) this.push(other.get(i));
    for (let k = 0; k < other.okGapCount; k++) this.pushGap(other.okGapsMs[k] as number);
  }

  private pushGap(g: number): void {
    if (this.okGapCount === this.okGapsMs.length) {
      const b = new Float64Array(Math.max(1024, 2 * this.okGapCount));
      b.set(this.okGapsMs);
      this.okGapsMs = b;
    }
    this.okGapsMs[this.okGapCount++] = g;
  }

  /** String of an id column at row i. */
  text(name: IdName, i: number): string | null {
    return this.strings[name].list[this.ids[name][i] as number] ?? null;
  }

  /** Row i as a Sample (gaps summarized as count, mean and max, as a compacted sample has them). */
  get(i: number): Sample {
    const d = this.f64;
    const n = this.i32;
    const s: Sample = {
      index: n.index[i] as number,
      warmup: this.warmup[i] === 1,
      status: STATUS[this.status[i] as number] as SampleStatus,
      error: this.text('error', i),
      httpStatus: intOrNull(n.httpStatus[i] as number),
      scheduledMs: d.scheduledMs[i] as number,
      sentMs: d.sentMs[i] as number,
      firstTokenMs: orNull(d.firstTokenMs[i] as number),
      endMs: d.endMs[i] as number,
      ttftMs: orNull(d.ttftMs[i] as number),
      e2eMs: d.e2eMs[i] as number,
      tpotMs: orNull(d.tpotMs[i] as number),
      itlMs: [],
      itl: { count: n.itlCount[i] as number, meanMs: d.itlMeanMs[i] as number, maxMs: d.itlMaxMs[i] as number },
      promptTokens: intOrNull(n.promptTokens[i] as number),
      outputTokens: n.outputTokens[i] as number,
      outputTokensSource: SOURCE[this.source[i] as number] as Sample['outputTokensSource'],
      tokenCountMismatch: this.mismatches.get(i) ?? null,
      replica: this.text('replica', i),
      retries: intOrNull(n.retries[i] as number),
      run: n.run[i] as number,
      answerTtftMs: orNull(d.answerTtftMs[i] as number),
      clientPromptTokens: intOrNull(n.clientPromptTokens[i] as number),
      finishReason: this.text('finishReason', i),
    };
    if ((n.requestedTokens[i] as number) >= 0) s.requestedTokens = n.requestedTokens[i] as number;
    const fb = this.text('fallbackReason', i);
    if (fb !== null) s.fallbackReason = fb;
    return s;
  }

  /** Every row as a Sample (for readers that take a list; O(n) objects). */
  toSamples(): Sample[] {
    const out = new Array<Sample>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.get(i);
    return out;
  }

  /** Bytes the columns occupy (capacity, not rows). */
  get bytes(): number {
    return this.capacity * (F64_NAMES.length * 8 + I32_NAMES.length * 4 + ID_NAMES.length * 2 + 3) + this.okGapsMs.byteLength;
  }
}

function summaryOfGaps(s: Sample): { count: number; meanMs: number; maxMs: number } {
  if (s.itl) return { count: s.itl.count, meanMs: s.itl.meanMs, maxMs: s.itl.maxMs };
  let sum = 0;
  let max = 0;
  for (const g of s.itlMs) {
    sum += g;
    if (g > max) max = g;
  }
  return { count: s.itlMs.length, meanMs: s.itlMs.length > 0 ? sum / s.itlMs.length : 0, maxMs: max };
}
