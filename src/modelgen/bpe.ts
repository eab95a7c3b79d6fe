// Byte-level BPE training. Works on the unique pre-tokens of the text (a corpus of ~1 MB has only a few
// thousand), keeps pair counts incrementally and picks the next merge from a lazy max-heap, so training
// an 8k vocabulary takes well under a second. Ties break on the lower token ids, which makes training
// a pure function of (text, options).

import { BYTE_CHARS, BYTE_ORDER, splitPreTokens, toByteChars } from './bpeBytes.js';

/** The special token GPT-2 uses for end of text (and as BOS/EOS/UNK). */
export const END_OF_TEXT = '<|endoftext|>';

/** A trained byte-level BPE vocabulary. */
export interface BpeModel {
  /**
   * Token strings by id: id 0 is END_OF_TEXT (so BOS/EOS ids do not depend on the vocabulary size),
   * ids 1..256 the single bytes in GPT-2 order (byte stand-in spelling), then one token per merge.
   */
  tokens: string[];
  /** Merge rules in rank order, as pairs of token strings. */
  merges: [string, string][];
  /** Id of END_OF_TEXT (0). */
  endOfTextId: number;
  /** tokens.length. */
  vocabSize: number;
}

/** Options for trainBpe. */
export interface BpeTrainOptions {
  /** Total vocabulary size including END_OF_TEXT and the 256 bytes; training stops early if pairs run out. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minPairCount?: number;
}

const PAIR_SHIFT = 1 << 17;

/** Trains a byte-level BPE on `text`. Deterministic. */
export function trainBpe(text: string, options: BpeTrainOptions): BpeModel {
  const minPairCount = options.minPairCount ?? 2;
  if (options.vocabSize < 257 || options.vocabSize > PAIR_SHIFT) {
    throw new RangeError(`BPE vocabSize must be in [257, ${PAIR_SHIFT}], got ${options.vocabSize}`);
  }
  const tokens = [END_OF_TEXT, ...BYTE_ORDER.map((b) => BYTE_CHARS[b] ?? '')];
  const tokenIds = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const merges: [string, string][] = [];

  // Unique pre-tokens in first-seen order, as arrays of byte-token ids.
  const wordCounts = new Map<string, number>();
  for (const piece of splitPreTokens(text)) wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1);
  const words: Int32Array[] = [];
  const freqs: number[] = [];
  for (const [piece, count] of wordCounts) {
    const chars = Array.from(toByteChars(piece));
    words.push(Int32Array.from(chars, (c) => tokenIds.get(c) ?? 0));
    freqs.push(count);
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const bump = (key: number, delta: number): void => {
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + delta);
  };
  for (let w = 0; w < words.length; w++) {
    const sym = words[w] ?? new Int32Array(0);
    const freq = freqs[w] ?? 0;
    for (let i = 0; i + 1 < sym.length; i++) {
      const key = (sym[i] ?? 0) * PAIR_SHIFT + (sym[i + 1] ?? 0);
      bump(key, freq);
      let list = pairWords.get(key);
      if (list === undefined) pairWords.set(key, (list = []));
      if (list[list.length - 1] !== w) list.push(w);
    }
  }

  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);
  const visitedAt = new Int32Array(words.length).fill(-1);
  const changed = new Set<number>();

  while (tokens.length < options.vocabSize) {
    const top = heap.popValid(pairCounts);
    if (top === null || top.count < minPairCount) break;
    const a = Math.floor(top.key / PAIR_SHIFT);
    const b = top.key % PAIR_SHIFT;
    const merged = (tokens[a] ?? '') + (tokens[b] ?? '');
    let c = tokenIds.get(merged);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(merged);
      tokenIds.set(merged, c);
    }
    merges.push([tokens[a] ?? '', tokens[b] ?? '']);
    const step = merges.length;
    changed.clear();

    for (const w of pairWords.get(top.key) ?? []) {
      if (visitedAt[w] === step) continue;
      visitedAt[w] = step;
      const sym = words[w] ?? new Int32Array(0);
      const freq = freqs[w] ?? 0;
      let present = false;
      for (let i = 0; i + 1 < sym.length; i++) if (sym[i] === a && sym[i + 1] === b) present = true;
      if (!present) continue;
      for (let i = 0; i + 1 < sym.length; i++) {
        const key = (sym[i] ?? 0) * PAIR_SHIFT + (sym[i + 1] ?? 0);
        bump(key, -freq);
        changed.add(key);
      }
      const next: number[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          next.push(c);
          i++;
        } else next.push(sym[i] ?? 0);
      }
      const nextSym = Int32Array.from(next);
      words[w] = nextSym;
      for (let i = 0; i + 1 < nextSym.length; i++) {
        const x = nextSym[i] ?? 0;
        const y = nextSym[i + 1] ?? 0;
        const key = x * PAIR_SHIFT + y;
        bump(key, freq);
        changed.add(key);
        // Pairs without the new token were already indexed for this word.
        if (x === c || y === c) {
          let list = pairWords.get(key);
          if (list === undefined) pairWords.set(key, (list = []));
          if (list[list.length - 1] !== w) list.push(w);
        }
      }
    }
    pairCounts.delete(top.key);
    changed.delete(top.key);
    for (const key of changed) {
      const count = pairCounts.get(key) ?? 0;
      if (count > 0) heap.push(count, key);
      else pairCounts.delete(key);
    }
  }

  return { tokens, merges, endOfTextId: 0, vocabSize: tokens.length };
}

/** Max-heap of (count, pair key); larger count first, then smaller key. Entries may be stale. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Pops until an entry whose count is still current. */
  popValid(current: ReadonlyMap<number, number>): { count: number; key: number } | null {
    while (this.counts.length > 0) {
      const count = this.counts[0] ?? 0;
      const key = this.keys[0] ?? 0;
      this.removeTop();
      if (current.get(key) === count) return { count, key };
    }
    return null;
  }

  private removeTop(): void {
    const lastCount = this.counts.pop() ?? 0;
    const lastKey = this.keys.pop() ?? 0;
    if (this.counts.length === 0) return;
    this.counts[0] = lastCount;
    this.keys[0] = lastKey;
    let i = 0;
    const n = this.counts.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.before(l, best)) best = l;
      if (r < n && this.before(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i] ?? 0;
    const cj = this.counts[j] ?? 0;
    return ci !== cj ? ci > cj : (this.keys[i] ?? 0) < (this.keys[j] ?? 0);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i] ?? 0;
    this.counts[i] = this.counts[j] ?? 0;
    this.counts[j] = c;
    const k = this.keys[i] ?? 0;
    this.keys[i] = this.keys[j] ?? 0;
    this.keys[j] = k;
  }
}
