// The model's own tokenizer, used to trim synthetic prompts to a token length and to count output tokens
// when a server does not report usage.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** Loads a Hugging Face tokenizer.json, given as the file or as the model folder holding it (with tokenizer_config.json when present). */
export function loadTokenCounter(modelDir: string): TokenCounter {
  const isFile = existsSync(modelDir) && statSync(modelDir).isFile();
  const tokPath = isFile ? modelDir : join(modelDir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new ModelError(`no tokenizer.json in ${modelDir}`, 'Point target.tokenizer at a tokenizer.json file or a folder that has one.');
  const cfgPath = join(isFile ? dirname(modelDir) : modelDir, 'tokenizer_config.json');
  let tokenizerJson: object;
  try {
    tokenizerJson = JSON.parse(readFileSync(tokPath, 'utf8')) as object;
  } catch (e) {
    throw new ModelError(`${tokPath}: not a readable tokenizer.json (${e instanceof Error ? e.message : String(e)})`);
  }
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
