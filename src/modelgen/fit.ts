// Deterministic weights for a generated GPT-2 model whose next-token distributions follow the corpus's
// smoothed token-bigram statistics (see fitBigram.ts): logits(i → j) ≈ bias_j + S_ij.
//
// How the pieces carry it:
// - S ≈ L Rᵀ (rank r, fitLowRank.ts), then L, R and the bias are refined on the softmax cross-entropy
//   itself (fitRefine.ts). wte row i holds L_i, lmHead column j holds R_j: LN_f(wte_i)·lmHead_j = L_i·R_j.
// - The final LayerNorm must map wte rows to "fitted vector + shift": rows have zero mean and norm
//   sqrt(D) (variance 1), the fitted part L_i / max|L| topped up by slack in dimensions whose LN_f gamma
//   is 0 (fitEmbedding.ts); lmHead columns go through the same orthogonal map, so L_i · R_j is preserved.
// - Per-token bias without a bias input: LN_f's beta is a fixed vector, and each head column's
//   component along it gives bias_j, as GPT-2's final LayerNorm shift carries its unigram prior.
//   Padded vocabulary rows (ids the tokenizer never produces) get bias PAD_LOGIT: never sampled.
// - Blocks are GPT-2 style random (seeded) with small output projections: real compute that leaves
//   the residual stream dominated by the token embedding.

import type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from './gpt2Spec.js';
import { bigramScores, countBigrams, type BigramTable } from './fitBigram.js';
import { lowRankFactors } from './fitLowRank.js';
import { DEFAULT_REFINE, refineFactors, type RefineOptions, type SoftmaxFactors } from './fitRefine.js';
import { EmbeddingFrame, rotateFactors } from './fitEmbedding.js';
import { deriveSeed, fillNormal } from '../stats/rng.js';

/** Logit given to padded vocabulary rows beyond the tokenizer's vocabulary. */
export const PAD_LOGIT = -30;
/**
 * Cap on the fitted rank. After refinement rank 128 is within ~1% of the full bigram model's held-out
 * cross-entropy on the 5k-token vocabulary, and every step of the fit scales with r.
 */
export const MAX_FIT_RANK = 128;
/** Std of GPT-2's init for input projections (qkv, fc). */
const INIT_STD = 0.02;
/** Extra shrink of the residual-writing projections so the blocks barely move the fitted logits. */
const RESIDUAL_SCALE = 0.25;
const WPE_STD = 0.02;

/** Fitted rank for a model width and tokenizer size (see EmbeddingFrame for the dimensions it leaves). */
export function fitRank(nEmbd: number, tokenizerVocabSize: number): number {
  return Math.max(1, Math.min(nEmbd - Math.floor(nEmbd / 8) - 2, MAX_FIT_RANK, tokenizerVocabSize - 1));
}

/** Low-rank start (weighted randomized SVD of S), balanced so both factors have the same scale. */
function initialFactors(table: BigramTable, rank: number, seed: number): SoftmaxFactors {
  const Vt = table.vocabSize;
  const scores = bigramScores(table);
  const rowWeights = new Float64Array(Vt);
  for (let i = 0; i < Vt; i++) rowWeights[i] = Math.sqrt((table.rowTotals[i] ?? 0) + 1);
  const f = lowRankFactors({ size: Vt, rowPtr: table.rowPtr, cols: table.cols, values: scores }, rowWeights, rank, seed);
  let leftSq = 0;
  let rightSq = 0;
  for (let k = 0; k < f.left.length; k++) {
    leftSq += (f.left[k] ?? 0) ** 2;
    rightSq += (f.right[k] ?? 0) ** 2;
  }
  // Balanced factors matter for the refinement: Adam's step size is per parameter.
  const scale = Math.sqrt(Math.sqrt(rightSq / Math.max(leftSq, 1e-300)));
  const left = new Float32Array(Vt * rank);
  const right = new Float32Array(Vt * rank);
  for (let c = 0; c < rank; c++) {
    for (let i = 0; i < Vt; i++) {
      left[i * rank + c] = (f.left[c * Vt + i] ?? 0) * scale;
      right[i * rank + c] = (f.right[c * Vt + i] ?? 0) / scale;
    }
  }
  return { size: Vt, rank, left, right, bias: Float32Array.from(table.logContinuation) };
}

/** What initGpt2Weights computed besides the weights (for tests and reports). */
export interface FitDiagnostics {
  rank: number;
  /** Weighted training cross-entropy (nats) of the factor model before and after refinement. */
  refineLosses: number[];
}

/**
 * Weights for `config` fitted to the bigram statistics of `corpusIds` (token ids < tokenizerVocabSize,
 * which must be ≤ config.vocabSize). Same arguments → identical arrays on every machine: all of it is
 * plain JS arithmetic in a fixed order (fitRefine.ts says why that is portable).
 */
export async function initGpt2Weights(
  config: Gpt2Config,
  tokenizerVocabSize: number,
  seed: number,
  corpusIds: readonly number[],
  refine: RefineOptions = DEFAULT_REFINE,
): Promise<{ weights: Gpt2Weights; diagnostics: FitDiagnostics }> {
  const V = config.vocabSize;
  const Vt = tokenizerVocabSize;
  const D = config.nEmbd;
  if (Vt > V) throw new RangeError(`tokenizer vocabulary (${Vt}) exceeds the model's vocabSize (${V})`);
  const r = fitRank(D, Vt);
  const frame = new EmbeddingFrame(D, deriveSeed(seed, 'fit.frame'));

  const table = countBigrams(corpusIds, Vt);
  const { factors: f, losses } = refineFactors(table, initialFactors(table, r, deriveSeed(seed, 'fit.range')), refine);
  rotateFactors(f.left, f.right, Vt, r, deriveSeed(seed, 'fit.rotation'));

  let maxNormSq = 1e-30;
  for (let i = 0; i < Vt; i++) {
    let s = 0;
    for (let c = 0; c < r; c++) s += (f.left[i * r + c] ?? 0) ** 2;
    maxNormSq = Math.max(maxNormSq, s);
  }
  const maxNorm = Math.sqrt(maxNormSq);
  const sqrtD = Math.sqrt(D);
  // Norm of LN_f's beta: about 1 per dimension it uses, like the normalized activations next to it.
  const biasLevel = Math.sqrt(frame.biasDims);

  const wte = new Float32Array(V * D);
  const coords = new Float64Array(r);
  for (let i = 0; i < Vt; i++) {
    let s = 0;
    for (let c = 0; c < r; c++) {
      const v = (f.left[i * r + c] ?? 0) / maxNorm;
      coords[c] = v;
      s += v * v;
    }
    frame.place(coords, r, Math.sqrt(Math.max(0, 1 - s)), 0, wte, i * D, sqrtD);
  }
  // Padded rows are never produced by the tokenizer; plain random rows keep them valid inputs.
  fillNormal(wte.subarray(Vt * D), 1, deriveSeed(seed, 'wte.pad'));

  // LN_f(x) = x / sqrt(1 + eps) + beta for the fitted rows: undo the eps in the head, and let beta
  // (biasLevel along the frame's bias direction) carry the per-token bias through the head.
  const headScale = (maxNorm / sqrtD) * Math.sqrt(1 + config.layerNormEps);
  const lmHead = new Float32Array(D * V);
  const column = new Float32Array(D);
  for (let j = 0; j < Vt; j++) {
    frame.place(f.right.subarray(j * r, j * r + r), r, 0, (f.bias[j] ?? 0) / (biasLevel * headScale), column, 0, headScale);
    for (let k = 0; k < D; k++) lmHead[k * V + j] = column[k] ?? 0;
  }
  for (let k = 0; k < D; k++) lmHead.fill(((frame.biasDirection[k] ?? 0) * PAD_LOGIT) / biasLevel, k * V + Vt, k * V + V);
  const lnFGamma = new Float32Array(D).fill(1, 0, frame.fittedDims);
  const lnFBeta = Float32Array.from(frame.biasDirection, (v) => v * biasLevel);

  const wpe = new Float32Array(config.nPositions * D);
  fillNormal(wpe, WPE_STD, deriveSeed(seed, 'wpe'));
  const layers: Gpt2LayerWeights[] = [];
  for (let l = 0; l < config.nLayer; l++) layers.push(randomBlock(config, seed, l));
  return { weights: { wte, wpe, layers, lnFGamma, lnFBeta, lmHead }, diagnostics: { rank: r, refineLosses: losses } };
}

function randomBlock(config: Gpt2Config, seed: number, layer: number): Gpt2LayerWeights {
  const D = config.nEmbd;
  const outStd = (INIT_STD / Math.sqrt(2 * config.nLayer)) * RESIDUAL_SCALE;
  const normal = (size: number, std: number, label: string): Float32Array => {
    const a = new Float32Array(size);
    fillNormal(a, std, deriveSeed(seed, `h${layer}.${label}`));
    return a;
  };
  return {
    ln1Gamma: new Float32Array(D).fill(1),
    ln1Beta: new Float32Array(D),
    qkvWeight: normal(D * 3 * D, INIT_STD, 'qkv'),
    qkvBias: new Float32Array(3 * D),
    attnProjWeight: normal(D * D, outStd, 'attn_proj'),
    attnProjBias: new Float32Array(D),
    ln2Gamma: new Float32Array(D).fill(1),
    ln2Beta: new Float32Array(D),
    fcWeight: normal(D * config.nInner, INIT_STD, 'fc'),
    fcBias: new Float32Array(config.nInner),
    mlpProjWeight: normal(config.nInner * D, outStd, 'mlp_proj'),
    mlpProjBias: new Float32Array(D),
  };
}
