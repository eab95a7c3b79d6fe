// Everything a generated model folder needs from the fitting side, for one preset and seed: the trained
// tokenizer's files, and weights fitted to the corpus. Drop-in for the interim presetWeights().

import type { Gpt2Config, Gpt2Weights } from './gpt2Spec.js';
import type { PresetSpec } from './presets.js';
import { corpusTokenizer } from './corpusTokenizer.js';
import { initGpt2Weights, type FitDiagnostics } from './fit.js';
import { buildTokenizerConfig, buildTokenizerJson, type TokenizerJson } from './tokenizerJson.js';

/** A preset's config, fitted weights and tokenizer files. */
export interface FittedModel {
  config: Gpt2Config;
  weights: Gpt2Weights;
  tokenizer: { tokenizerJson: TokenizerJson; tokenizerConfig: Record<string, unknown> };
  /** Size of the trained tokenizer's vocabulary (≤ config.vocabSize; the rest is padding). */
  tokenizerVocabSize: number;
  diagnostics: FitDiagnostics;
}

/** Trains the tokenizer for `spec` and fits the weights. Same spec and seed → identical output. */
export async function fitPresetModel(spec: PresetSpec, seed: number): Promise<FittedModel> {
  const tok = corpusTokenizer(spec.tokenizerVocabSize);
  const config: Gpt2Config = { ...spec.config, bosTokenId: tok.model.endOfTextId, eosTokenId: tok.model.endOfTextId };
  const { weights, diagnostics } = await initGpt2Weights(config, tok.model.vocabSize, seed, tok.trainIds);
  return {
    config,
    weights,
    tokenizer: { tokenizerJson: buildTokenizerJson(tok.model), tokenizerConfig: buildTokenizerConfig(tok.model, config.nPositions) },
    tokenizerVocabSize: tok.model.vocabSize,
    diagnostics,
  };
}
