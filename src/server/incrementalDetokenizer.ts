// Turns a growing list of token ids into text deltas. Byte-level BPE tokens can split a UTF-8 character, so a
// delta is only released once the decoded text no longer ends in U+FFFD. Only a short window of recent tokens is
// decoded each time (prefix window + new tokens), so the cost per token stays constant.

/** The decoding half of a tokenizer. */
export interface TokenDecoder {
  decode(ids: number[]): string;
}

/** Streams text out of generated token ids. */
export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  /** Start of the window decoded for context (so merges across the boundary decode as they would in full). */
  private prefixStart = 0;
  /** Tokens before this index have been released as text. */
  private releasedEnd = 0;

  constructor(private readonly decoder: TokenDecoder) {}

  /** Adds a token; returns the text it completes ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decoder.decode(this.ids.slice(this.prefixStart, this.releasedEnd));
    const full = this.decoder.decode(this.ids.slice(this.prefixStart));
    if (full.length <= prefix.length || full.endsWith('\uFFFD')) return '';
    this.prefixStart = this.releasedEnd;
    this.releasedEnd = this.ids.length;
    return full.slice(prefix.length);
  }

  /** Text of tokens still held back (an incomplete character at the end of generation), decoded as is. */
  flush(): string {
    if (this.releasedEnd === this.ids.length) return '';
    const prefix = this.decoder.decode(this.ids.slice(this.prefixStart, this.releasedEnd));
    const full = this.decoder.decode(this.ids.slice(this.prefixStart));
    this.prefixStart = this.releasedEnd = this.ids.length;
    return full.slice(prefix.length);
  }
}
