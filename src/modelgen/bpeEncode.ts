// Encodes text with a trained BpeModel the way Hugging Face tokenizers do (lowest-rank merge first,
// leftmost on ties), with a cache per unique pre-token. Used to turn the corpus into token ids for
// fitting without going through a tokenizer library; test/modelgen checks it agrees with
// @huggingface/tokenizers on held-out text.

import { fromByteChars, splitPreTokens, toByteChars } from './bpeBytes.js';
import { END_OF_TEXT, type BpeModel } from './bpe.js';

const PAIR_SHIFT = 1 << 17;

/** Text <-> ids with a trained byte-level BPE. */
export class BpeEncoder {
  private readonly ids = new Map<string, number>();
  private readonly rank = new Map<number, number>();
  private readonly result = new Map<number, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly model: BpeModel) {
    model.tokens.forEach((t, i) => this.ids.set(t, i));
    model.merges.forEach(([a, b], r) => {
      const ia = this.ids.get(a);
      const ib = this.ids.get(b);
      const ic = this.ids.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) throw new Error(`BPE merge ${r} names unknown tokens`);
      const key = ia * PAIR_SHIFT + ib;
      if (!this.rank.has(key)) {
        this.rank.set(key, r);
        this.result.set(key, ic);
      }
    });
  }

  /** Token ids of `text`; END_OF_TEXT in the text becomes its special id. */
  encode(text: string): number[] {
    const out: number[] = [];
    const parts = text.split(END_OF_TEXT);
    parts.forEach((part, i) => {
      if (i > 0) out.push(this.model.endOfTextId);
      for (const piece of splitPreTokens(part)) for (const id of this.encodeWord(piece)) out.push(id);
    });
    return out;
  }

  /** Text of `ids` (the special token decodes to its own text). */
  decode(ids: readonly number[]): string {
    let text = '';
    let chars = '';
    for (const id of ids) {
      if (id === this.model.endOfTextId) {
        text += fromByteChars(chars) + END_OF_TEXT;
        chars = '';
      } else chars += this.model.tokens[id] ?? '';
    }
    return text + fromByteChars(chars);
  }

  private encodeWord(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    const sym = Array.from(toByteChars(piece), (c) => this.ids.get(c) ?? 0);
    for (;;) {
      let bestRank = Infinity;
      let bestKey = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const key = (sym[i] ?? 0) * PAIR_SHIFT + (sym[i + 1] ?? 0);
        const r = this.rank.get(key);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          bestKey = key;
        }
      }
      if (bestKey < 0) break;
      const a = Math.floor(bestKey / PAIR_SHIFT);
      const b = bestKey % PAIR_SHIFT;
      const c = this.result.get(bestKey) ?? 0;
      for (let i = 0; i + 1 < sym.length; i++) {
        if (sym[i] === a && sym[i + 1] === b) sym.splice(i, 2, c);
      }
    }
    this.cache.set(piece, sym);
    return sym;
  }
}
