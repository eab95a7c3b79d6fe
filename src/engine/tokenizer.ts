// The model folder's tokenizer.json through @huggingface/tokenizers, with the end-of-sequence ids read from
// config.json and generation_config.json (never hard-coded), and a streaming detokenizer.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelError } from '../errors.js';

/** Encode/decode for one model folder. */
export class TextTokenizer {
  /** Union of eos_token_id from config.json and generation_config.json. */
  readonly eosTokenIds: number[];
  readonly bosTokenId: number | null;
  /** Number of ids the tokenizer can produce (vocabulary plus added tokens). */
  readonly vocabSize: number;

  private constructor(
    private readonly tok: Tokenizer,
    eos: number[],
    bos: number | null,
  ) {
    this.eosTokenIds = eos;
    this.bosTokenId = bos;
    let maxId = -1;
    for (const id of tok.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
  }

  /**
   * Loads `dir/tokenizer.json` (and tokenizer_config.json when present); `dir` may also be the tokenizer.json
   * file itself (a target's `tokenizer` field), with its folder read for the configs.
   */
  static load(dirOrFile: string): TextTokenizer {
    const isFile = existsSync(dirOrFile) && statSync(dirOrFile).isFile();
    const dir = isFile ? dirname(dirOrFile) : dirOrFile;
    const path = isFile ? dirOrFile : join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new ModelError(`${dir}: missing tokenizer.json`);
    let tok: Tokenizer;
    try {
      const json = JSON.parse(readFileSync(path, 'utf8')) as object;
      tok = new Tokenizer(json, readJson(join(dir, 'tokenizer_config.json')) ?? {});
    } catch (e) {
      throw new ModelError(`${path}: cannot load tokenizer (${(e as Error).message})`);
    }
    const cfg = readJson(join(dir, 'config.json')) ?? {};
    const gen = readJson(join(dir, 'generation_config.json')) ?? {};
    const eos = [...new Set([...idList(cfg.eos_token_id), ...idList(gen.eos_token_id)])];
    const bos = idList(gen.bos_token_id)[0] ?? idList(cfg.bos_token_id)[0] ?? null;
    return new TextTokenizer(tok, eos, bos);
  }

  /** Token ids of `text`, by default with the tokenizer's own special-token rules (e.g. a Llama BOS). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /** Text of `ids`; special tokens (EOS) are dropped and spaces are kept exactly as encoded. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? true, clean_up_tokenization_spaces: false });
  }

  /** A fresh streaming decoder for one sequence. */
  streamDecoder(): StreamDecoder {
    return new StreamDecoder(this);
  }
}

/**
 * Turns token ids arriving one by one into text pieces that only ever contain whole characters: byte-level
 * BPE can split a UTF-8 character across tokens, and decoding a partial one yields U+FFFD. Each push decodes
 * a short window (the tokens of the previous piece plus the new ones), so cost per token stays constant and
 * merges at the boundary decode as they do in full text.
 */
export class StreamDecoder {
  private readonly ids: number[] = [];
  private windowStart = 0;
  private emittedEnd = 0;

  constructor(private readonly tokenizer: Pick<TextTokenizer, 'decode'>) {}

  /** Adds one token; returns the newly completed text ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.tokenizer.decode(this.ids.slice(this.windowStart, this.emittedEnd));
    const now = this.tokenizer.decode(this.ids.slice(this.windowStart));
    if (now.endsWith('\uFFFD') || now.length <= before.length || !now.startsWith(before)) return '';
    this.windowStart = this.emittedEnd;
    this.emittedEnd = this.ids.length;
    return now.slice(before.length);
  }

  /** Whatever is still held back (e.g. an incomplete character at the very end), as decoded. */
  flush(): string {
    if (this.emittedEnd === this.ids.length) return '';
    const before = this.tokenizer.decode(this.ids.slice(this.windowStart, this.emittedEnd));
    const now = this.tokenizer.decode(this.ids.slice(this.windowStart));
    this.windowStart = this.emittedEnd;
    this.emittedEnd = this.ids.length;
    return now.startsWith(before) ? now.slice(before.length) : now;
  }
}

function readJson(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}
