// Stop-string matching over streamed text. Text that might be the start of a stop string is held back until the
// next piece shows whether it is, so a stop string never leaks into the output, even across token boundaries.

/** Result of feeding one piece of decoded text. */
export interface StopScan {
  /** Text safe to emit now. */
  emit: string;
  /** True when a stop string was found; `emit` then ends right before it. */
  stopped: boolean;
}

/** Incremental matcher for a fixed set of stop strings. */
export class StopMatcher {
  private held = '';
  private readonly maxLen: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Feeds the next piece of text. */
  push(piece: string): StopScan {
    if (this.stops.length === 0) return { emit: piece, stopped: false };
    const text = this.held + piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s);
      if (i !== -1 && (cut === -1 || i < cut)) cut = i;
    }
    if (cut !== -1) {
      this.held = '';
      return { emit: text.slice(0, cut), stopped: true };
    }
    const keep = this.partialSuffixLength(text);
    this.held = text.slice(text.length - keep);
    return { emit: text.slice(0, text.length - keep), stopped: false };
  }

  /** Releases held-back text at the end of generation (it was not a stop string). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffixLength(text: string): number {
    for (let len = Math.min(this.maxLen - 1, text.length); len > 0; len--) {
      const tail = text.slice(text.length - len);
      if (this.stops.some((s) => s.startsWith(tail))) return len;
    }
    return 0;
  }
}
