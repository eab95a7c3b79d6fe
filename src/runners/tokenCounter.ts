// The model's own tokenizer, used to trim synthetic prompts to a token length and to count output tokens
// when a server does not report usage.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelError } from '../errors.js';

/** Encodes and decodes text with one model's tokenizer. */
export interface TokenCounter {
  /** Folder the tokenizer came from. */
  source: string;
  encode(text: string): number[];
  decode(ids: number[]): string;
  count(text: string): number;
}

/** Loads tokenizer.json (and tokenizer_config.json when present) from a model folder. */
export function loadTokenCounter(modelDir: string): TokenCounter {
  const tokPath = join(modelDir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new ModelError(`no tokenizer.json in ${modelDir}`);
  const cfgPath = join(modelDir, 'tokenizer_config.json');
  const tokenizerJson = JSON.parse(readFileSync(tokPath, 'utf8')) as object;
  const config = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as object) : {};
  const tok = new Tokenizer(tokenizerJson, config);
  const encode = (text: string): number[] => tok.encode(text, { add_special_tokens: false }).ids;
  return {
    source: modelDir,
    encode,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: true }),
    count: (text) => (text === '' ? 0 : encode(text).length),
  };
}
