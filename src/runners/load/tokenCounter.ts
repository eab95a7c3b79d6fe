// The model's own tokenizer as the load side uses it: trimming synthetic prompts to a token length and counting
// output tokens when a server does not report usage. A view of the engine's TextTokenizer (one tokenizer
// wrapper in the project), without special tokens.
import { TextTokenizer } from '../../engine/tokenizer.js';
import { ModelError, isLlmbenchError } from '../../errors.js';

/** Encodes and decodes text with one model's tokenizer. */
export interface TokenCounter {
  /** Folder the tokenizer came from. */
  source: string;
  encode(text: string): number[];
  decode(ids: number[]): string;
  count(text: string): number;
}

/** Loads a Hugging Face tokenizer.json, given as the file or as the model folder holding it (with tokenizer_config.json when present). */
export function loadTokenCounter(modelDir: string): TokenCounter {
  let tok: TextTokenizer;
  try {
    tok = TextTokenizer.load(modelDir);
  } catch (e) {
    if (isLlmbenchError(e)) throw new ModelError(e.message, 'Point target.tokenizer at a tokenizer.json file or a folder that has one.');
    throw e;
  }
  const encode = (text: string): number[] => tok.encode(text, { addSpecialTokens: false });
  return {
    source: modelDir,
    encode,
    decode: (ids) => tok.decode(ids),
    count: (text) => (text === '' ? 0 : encode(text).length),
  };
}
