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

/** Held tokens after which the window restarts (bounds the cost of a long run of undecodable bytes). */
const MAX_WINDOW_TOKENS = 64;

/**
 * Turns token ids arriving one by one into text pieces that only ever contain whole characters: byte-level
 * BPE can split a UTF-8 character across tokens, and decoding a partial one yields U+FFFD at the end. Each push
 * decodes a short window (the tokens of the previous piece plus the new ones), so cost per token stays constant
 * and merges at the boundary decode as they do in full text.
 * Only the one trailing U+FFFD is held back, not the whole piece: a random or badly sampled model can produce a
 * long run of lone bytes (every decode ends in U+FFFD), and holding all of it would show up as one long gap
 * between streamed chunks (measured: 9 tokens held for 1.6 s on a generated model) instead of steady tokens.
 */
export class StreamDecoder {
  private readonly ids: number[] = [];
  private windowStart = 0;
  private emittedEnd = 0;
  /** Text already emitted from tokens after `emittedEnd` (everything but a trailing incomplete character). */
  private heldText = '';

  constructor(private readonly tokenizer: Pick<TextTokenizer, 'decode'>) {}

  /** Adds one token; returns the newly completed text ('' while nothing new is whole). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.tokenizer.decode(this.ids.slice(this.windowStart, this.emittedEnd));
    const now = this.tokenizer.decode(this.ids.slice(this.windowStart));
    if (!now.startsWith(before)) return '';
    let tail = now.slice(before.length);
    const incomplete = tail.endsWith('\uFFFD') && this.ids.length - this.emittedEnd < MAX_WINDOW_TOKENS;
    if (incomplete) tail = tail.slice(0, -1);
    if (!tail.startsWith(this.heldText)) return '';
    const piece = tail.slice(this.heldText.length);
    if (incomplete) {
      this.heldText = tail;
      return piece;
    }
    if (tail.length === 0) return '';
    if (tail.endsWith('\uFFFD')) {
      // Forced out after MAX_WINDOW_TOKENS: restart the window so a later byte cannot rewrite emitted text.
      this.windowStart = this.ids.length;
    } else {
      this.windowStart = this.emittedEnd;
    }
    this.emittedEnd = this.ids.length;
    this.heldText = '';
    return piece;
  }

  /** Whatever is still held back (e.g. an incomplete character at the very end), as decoded. */
  flush(): string {
    if (this.emittedEnd === this.ids.length) return '';
    const before = this.tokenizer.decode(this.ids.slice(this.windowStart, this.emittedEnd));
    const now = this.tokenizer.decode(this.ids.slice(this.windowStart));
    const tail = now.startsWith(before) ? now.slice(before.length) : now;
    const piece = tail.startsWith(this.heldText) ? tail.slice(this.heldText.length) : tail;
    this.windowStart = this.emittedEnd;
    this.emittedEnd = this.ids.length;
    this.heldText = '';
    return piece;
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
