// Weights and tokenizer for a preset. Interim version: seeded GPT-2-style random init and a byte-level
// tokenizer; replaced by corpus-fitted weights and a trained BPE (src/model/fit.ts, bpe.ts).
import type { PresetName } from '../types.js';
import type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from './gpt2Spec.js';
import type { PresetSpec } from './presets.js';

export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
}

export function presetWeights(_preset: PresetName, spec: PresetSpec, seed: number): { config: Gpt2Config; weights: Gpt2Weights; tokenizer: TokenizerFiles } {
  const c = spec.config;
  let s = seed >>> 0 || 1;
  const rand = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
  const fill = (n: number, std: number): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rand() * std * 1.7320508;
    return a;
  };
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
  const D = c.nEmbd;
  const layers: Gpt2LayerWeights[] = [];
  for (let i = 0; i < c.nLayer; i++) {
    layers.push({
      ln1Gamma: ones(D), ln1Beta: new Float32Array(D),
      qkvWeight: fill(D * 3 * D, 0.02), qkvBias: new Float32Array(3 * D),
      attnProjWeight: fill(D * D, 0.02), attnProjBias: new Float32Array(D),
      ln2Gamma: ones(D), ln2Beta: new Float32Array(D),
      fcWeight: fill(D * c.nInner, 0.02), fcBias: new Float32Array(c.nInner),
      mlpProjWeight: fill(c.nInner * D, 0.02), mlpProjBias: new Float32Array(D),
    });
  }
  const weights: Gpt2Weights = {
    wte: fill(c.vocabSize * D, 0.5), wpe: fill(c.nPositions * D, 0.01), layers,
    lnFGamma: ones(D), lnFBeta: new Float32Array(D), lmHead: fill(D * c.vocabSize, 0.5),
  };
  return { config: c, weights, tokenizer: byteTokenizer() };
}

function byteTokenizer(): TokenizerFiles {
  // GPT-2 byte-to-unicode mapping so every byte is a printable vocab entry.
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  bs.forEach((b, i) => { vocab[String.fromCodePoint(cs[i] as number)] = b + 1; });
  return {
    tokenizerJson: {
      version: '1.0', truncation: null, padding: null,
      added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: [] },
    },
    tokenizerConfig: { model_max_length: 1024, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer' },
  };
}
