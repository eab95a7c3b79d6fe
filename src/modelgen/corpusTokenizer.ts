// The BPE tokenizer of a generated model, trained on the shipped training corpus at model-create time,
// and the corpus encoded with it. Training instead of shipping vocabularies: the corpus stays the one
// source of truth, any vocabulary size works, and training plus encoding take well under a second.
// Memoized per vocabulary size, since tests create many models in one process.

import { trainBpe, type BpeModel } from './bpe.js';
import { BpeEncoder } from './bpeEncode.js';
import { loadHeldoutText, loadTrainText } from './corpusFiles.js';

/** A tokenizer trained on the shipped corpus, with both corpus texts encoded. */
export interface CorpusTokenizer {
  model: BpeModel;
  encoder: BpeEncoder;
  trainIds: number[];
  /** Held-out text ids: for evaluation only. */
  heldoutIds: number[];
}

const memo = new Map<number, CorpusTokenizer>();

/** Trains (or returns the memoized) tokenizer with at most `vocabSize` tokens. */
export function corpusTokenizer(vocabSize: number): CorpusTokenizer {
  let tok = memo.get(vocabSize);
  if (tok === undefined) {
    const model = trainBpe(loadTrainText(), { vocabSize });
    const encoder = new BpeEncoder(model);
    tok = { model, encoder, trainIds: encoder.encode(loadTrainText()), heldoutIds: encoder.encode(loadHeldoutText()) };
    memo.set(vocabSize, tok);
  }
  return tok;
}
