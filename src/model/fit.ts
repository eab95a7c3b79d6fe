// Deterministic weights for a generated GPT-2 model whose next-token distributions follow the corpus's
// smoothed token-bigram statistics (see fitBigram.ts): logits(i → j) ≈ bias_j + S_ij.
//
// How the pieces carry it:
// - S ≈ L Rᵀ (rank r, fitLowRank.ts), then L, R and the bias are refined on the softmax cross-entropy
//   itself (fitRefine.ts). wte row i holds L_i, lmHead column j holds R_j, so LN_f(wte_i) · lmHead_j = L_i · R_j.
// - The final LayerNorm must pass wte rows through unchanged. Rows are built with zero mean and norm
//   sqrt(D) (so variance 1): the fitted part L_i / max|L| plus a "slack" part along a fixed direction
//   that tops every row up to the same norm. A Householder reflection maps these coordinates into the
//   zero-sum subspace, and lmHead gets the same reflection, so dot products are preserved exactly.
// - Per-token bias without a bias input: LN_f gamma[0] = 0 and beta[0] = b make dimension 0 of the
//   LN output the constant b; lmHead row 0 is bias_j / b. Padded vocabulary rows (ids the tokenizer
//   never produces) get bias PAD_LOGIT so they are never sampled.
// - Blocks are GPT-2 style random (seeded) with small output projections: real compute that leaves
//   the residual stream dominated by the token embedding.

import type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from './gpt2Spec.js';
import { bigramScores, countBigrams, type BigramTable } from './fitBigram.js';
import { lowRankFactors } from './fitLowRank.js';
import { DEFAULT_REFINE, refineFactors, type RefineOptions, type SoftmaxFactors } from './fitRefine.js';
import { deriveSeed, fillNormal } from './prng.js';

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

/** How the D embedding dimensions are split between bias, fitted rank and slack. */
export function fitLayout(nEmbd: number, tokenizerVocabSize: number): { rank: number; slackDims: number } {
  // Dimension 0 is the bias dimension and one more is lost to the zero-mean constraint.
  const usable = nEmbd - 2;
  const slackDims = Math.max(1, Math.round(usable / 16));
  const rank = Math.max(1, Math.min(usable - slackDims, MAX_FIT_RANK, tokenizerVocabSize - 1));
  return { rank, slackDims: usable - rank };
}

/**
 * Householder reflection of R^n (n = D - 1, dimensions 1..D-1) that swaps the last axis with the
 * all-ones direction: applied to a vector whose last coordinate is 0, the result sums to zero.
 */
function reflectIntoZeroSum(src: Float64Array, n: number, out: Float32Array, outOff: number, scale: number): void {
  const invSqrtN = 1 / Math.sqrt(n);
  let sum = 0;
  for (let k = 0; k < n; k++) sum += src[k] ?? 0;
  // v = e_last - u, u = 1/sqrt(n); v·src = src_last - sum/sqrt(n); v·v = 2 - 2/sqrt(n).
  const vDotSrc = (src[n - 1] ?? 0) - sum * invSqrtN;
  const f = (2 * vDotSrc) / (2 - 2 * invSqrtN);
  for (let k = 0; k < n; k++) {
    const v = (k === n - 1 ? 1 : 0) - invSqrtN;
    out[outOff + k] = ((src[k] ?? 0) - f * v) * scale;
  }
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
 * which must be ≤ config.vocabSize). Same arguments → identical arrays.
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
  if (D < 8) throw new RangeError(`nEmbd must be at least 8, got ${D}`);
  const { rank: r, slackDims } = fitLayout(D, Vt);
  const n = D - 1;

  const table = countBigrams(corpusIds, Vt);
  const { factors: f, losses } = await refineFactors(table, initialFactors(table, r, deriveSeed(seed, 'fit.range')), refine);

  let maxNormSq = 1e-30;
  for (let i = 0; i < Vt; i++) {
    let s = 0;
    for (let c = 0; c < r; c++) s += (f.left[i * r + c] ?? 0) ** 2;
    maxNormSq = Math.max(maxNormSq, s);
  }
  const maxNorm = Math.sqrt(maxNormSq);
  const sqrtD = Math.sqrt(D);
  const slackCoord = 1 / Math.sqrt(slackDims);

  const wte = new Float32Array(V * D);
  const z = new Float64Array(n);
  for (let i = 0; i < Vt; i++) {
    z.fill(0);
    let s = 0;
    for (let c = 0; c < r; c++) {
      const v = (f.left[i * r + c] ?? 0) / maxNorm;
      z[c] = v;
      s += v * v;
    }
    const slack = Math.sqrt(Math.max(0, 1 - s)) * slackCoord;
    for (let k = r; k < r + slackDims; k++) z[k] = slack;
    reflectIntoZeroSum(z, n, wte, i * D + 1, sqrtD);
  }
  // Padded rows are never produced by the tokenizer; plain random rows keep them valid inputs.
  fillNormal(wte.subarray(Vt * D), 1, deriveSeed(seed, 'wte.pad'));

  // LN_f(x) = x / sqrt(1 + eps) for the fitted rows; undo that in the head.
  const headScale = (maxNorm / sqrtD) * Math.sqrt(1 + config.layerNormEps);
  const headT = new Float32Array(Vt * D); // lmHead columns of the tokenizer's ids, one row per token
  let maxHead = 1e-30;
  for (let j = 0; j < Vt; j++) {
    z.fill(0);
    for (let c = 0; c < r; c++) z[c] = f.right[j * r + c] ?? 0;
    reflectIntoZeroSum(z, n, headT, j * D + 1, headScale);
    for (let k = 1; k < D; k++) maxHead = Math.max(maxHead, Math.abs(headT[j * D + k] ?? 0));
  }
  const lmHead = new Float32Array(D * V);
  for (let j = 0; j < Vt; j++) for (let k = 1; k < D; k++) lmHead[k * V + j] = headT[j * D + k] ?? 0;
  // Bias dimension: row 0 of the head stays in the same range as the rest.
  const biasLevel = Math.abs(PAD_LOGIT) / maxHead;
  for (let j = 0; j < V; j++) lmHead[j] = (j < Vt ? (f.bias[j] ?? 0) : PAD_LOGIT) / biasLevel;

  const lnFGamma = new Float32Array(D).fill(1);
  const lnFBeta = new Float32Array(D);
  lnFGamma[0] = 0;
  lnFBeta[0] = biasLevel;

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
