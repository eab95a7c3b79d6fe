// Generated model presets: from a test-sized model to GPT-2-small shape.
import type { PresetName } from '../types.js';
import type { Gpt2Config } from './gpt2Spec.js';

export interface PresetSpec {
  /** Model hyperparameters (vocabSize may exceed the tokenizer's vocabulary: extra rows are padding). */
  config: Gpt2Config;
  /** BPE vocabulary size to train (including byte tokens and the end-of-text token). */
  tokenizerVocabSize: number;
  description: string;
}

const EOS = 0;

/** Every preset, by name. */
export const PRESETS: Record<PresetName, PresetSpec> = {
  tiny: {
    description: '2 layers, d_model 64, ~0.7 MB: for tests',
    tokenizerVocabSize: 512,
    config: { vocabSize: 512, nLayer: 2, nHead: 4, nEmbd: 64, nPositions: 256, nInner: 256, layerNormEps: 1e-5, bosTokenId: EOS, eosTokenId: EOS },
  },
  small: {
    description: '4 layers, d_model 256, ~21 MB: seconds-scale demos',
    tokenizerVocabSize: 4096,
    config: { vocabSize: 4096, nLayer: 4, nHead: 4, nEmbd: 256, nPositions: 512, nInner: 1024, layerNormEps: 1e-5, bosTokenId: EOS, eosTokenId: EOS },
  },
  gpt2: {
    description: 'GPT-2-small shape: 12 layers, d_model 768, 12 heads, context 1024, vocab 50257 (~124M parameters)',
    tokenizerVocabSize: 8192,
    config: { vocabSize: 50257, nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, nInner: 3072, layerNormEps: 1e-5, bosTokenId: EOS, eosTokenId: EOS },
  },
};

export function isPresetName(s: string): s is PresetName {
  return Object.hasOwn(PRESETS, s);
}
