import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { END_OF_TEXT, trainBpe } from '../../src/modelgen/bpe.js';
import { BYTE_CHARS } from '../../src/modelgen/bpeBytes.js';
import { BpeEncoder } from '../../src/modelgen/bpeEncode.js';
import { loadHeldoutText, loadTrainText } from '../../src/modelgen/corpusFiles.js';
import { corpusTokenizer } from '../../src/modelgen/corpusTokenizer.js';
import { CHAT_TEMPLATE, buildTokenizerConfig, buildTokenizerJson } from '../../src/modelgen/tokenizerJson.js';

function hfTokenizer(vocabSize: number): { hf: Tokenizer; encoder: BpeEncoder } {
  const { model, encoder } = corpusTokenizer(vocabSize);
  return { hf: new Tokenizer(buildTokenizerJson(model), buildTokenizerConfig(model, 1024)), encoder };
}

describe('byte-level BPE', () => {
  it('learns merges by count, ties to the lower token ids', () => {
    // Pre-tokens: "ab", " ab" x3, " cd" x2. (a,b) = 4, (Ġ,ab) = 3, then (Ġ,c) = (c,d) = 2: c has the lower id.
    const model = trainBpe('ab ab ab ab cd cd', { vocabSize: 300 });
    expect(model.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
      ['c', 'd'],
      ['Ġ', 'cd'],
    ]);
    expect(model.tokens.slice(257)).toEqual(['ab', 'Ġab', 'cd', 'Ġcd']);
    expect(model.tokens[0]).toBe(END_OF_TEXT);
    expect(model.tokens[1]).toBe('!');
    expect(new Set(model.tokens.slice(1, 257))).toEqual(new Set(BYTE_CHARS));
  });

  it('training on the corpus is deterministic and fills the requested vocabulary', () => {
    const a = trainBpe(loadTrainText(), { vocabSize: 1024 });
    const b = trainBpe(loadTrainText(), { vocabSize: 1024 });
    expect(a.vocabSize).toBe(1024);
    expect(a.merges).toEqual(b.merges);
    expect(new Set(a.tokens).size).toBe(a.tokens.length);
    // Frequent words become single tokens.
    expect(a.tokens).toContain('Ġthe');
  });

  it('tokenizer.json loads in @huggingface/tokenizers and agrees with the trainer encoder on held-out text', () => {
    for (const vocabSize of [512, 4096]) {
      const { hf, encoder } = hfTokenizer(vocabSize);
      const text = loadHeldoutText();
      const ids = hf.encode(text).ids;
      expect(ids).toEqual(encoder.encode(text));
      expect(ids.length).toBeLessThan(text.length / (vocabSize === 512 ? 1.8 : 3.5));
      expect(hf.decode(ids)).toBe(text);
      expect(encoder.decode(ids)).toBe(text);
    }
  });

  it('round-trips text outside the corpus byte by byte, and knows its special token', () => {
    const { hf, encoder } = hfTokenizer(512);
    const text = 'Crème brûlée at 7:45 — naïve? 😀 \t tabs,  double  spaces\n\nand "quotes" ½';
    const ids = hf.encode(text).ids;
    expect(ids).toEqual(encoder.encode(text));
    expect(hf.decode(ids)).toBe(text);
    const withEos = hf.encode(`Hello.${END_OF_TEXT}Bye`).ids;
    expect(withEos).toContain(0);
    expect(withEos).toEqual(encoder.encode(`Hello.${END_OF_TEXT}Bye`));
    expect(hf.decode(withEos, { skip_special_tokens: true })).toBe('Hello.Bye');
  });

  it('tokenizer_config.json follows GPT-2 conventions and carries the corpus chat format', () => {
    const { model } = corpusTokenizer(512);
    const config = buildTokenizerConfig(model, 256);
    expect(config).toMatchObject({ eos_token: END_OF_TEXT, bos_token: END_OF_TEXT, model_max_length: 256, clean_up_tokenization_spaces: false, tokenizer_class: 'GPT2Tokenizer' });
    expect(CHAT_TEMPLATE).toContain('User: ');
    expect(CHAT_TEMPLATE).toContain('Assistant:');
  });
});
