// A plain TypeScript forward pass of the GPT-2 weights, independent of ONNX, for checking what the
// fitter produced: the embedding-only path (wte -> final LayerNorm -> head, the part the fit controls)
// and the full causal forward with the blocks (same math as gpt2Graph.ts: pre-LN, gelu_new, untied head).
// Meant for small models and short sequences; it is not fast.

import type { Gpt2Config, Gpt2Weights } from './gpt2Spec.js';

function layerNorm(x: Float32Array, xOff: number, d: number, gamma: Float32Array, beta: Float32Array, eps: number, out: Float32Array, outOff: number): void {
  let mean = 0;
  for (let k = 0; k < d; k++) mean += x[xOff + k] ?? 0;
  mean /= d;
  let variance = 0;
  for (let k = 0; k < d; k++) variance += ((x[xOff + k] ?? 0) - mean) ** 2;
  variance /= d;
  const inv = 1 / Math.sqrt(variance + eps);
  for (let k = 0; k < d; k++) out[outOff + k] = ((x[xOff + k] ?? 0) - mean) * inv * (gamma[k] ?? 0) + (beta[k] ?? 0);
}

/** out[0..cols) (+)= x[0..rows) @ W[rows, cols] (+ bias). */
function vecMat(x: Float32Array, xOff: number, w: Float32Array, rows: number, cols: number, bias: Float32Array | null, out: Float32Array, outOff: number): void {
  for (let c = 0; c < cols; c++) out[outOff + c] = bias === null ? 0 : (bias[c] ?? 0);
  for (let k = 0; k < rows; k++) {
    const xk = x[xOff + k] ?? 0;
    if (xk === 0) continue;
    const wOff = k * cols;
    for (let c = 0; c < cols; c++) out[outOff + c] = (out[outOff + c] ?? 0) + xk * (w[wOff + c] ?? 0);
  }
}

function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** Logits [V] for one token with no blocks: LN_f(wte[token]) @ lmHead. */
export function embeddingHeadLogits(config: Gpt2Config, weights: Gpt2Weights, token: number): Float32Array {
  const D = config.nEmbd;
  const h = new Float32Array(D);
  layerNorm(weights.wte, token * D, D, weights.lnFGamma, weights.lnFBeta, config.layerNormEps, h, 0);
  const logits = new Float32Array(config.vocabSize);
  vecMat(h, 0, weights.lmHead, D, config.vocabSize, null, logits, 0);
  return logits;
}

/** Full causal forward over `ids` (length ≤ nPositions, positions 0..T-1); logits [T, V]. */
export function forwardLogits(config: Gpt2Config, weights: Gpt2Weights, ids: readonly number[]): Float32Array {
  const T = ids.length;
  const D = config.nEmbd;
  const H = config.nHead;
  const Dh = D / H;
  const F = config.nInner;
  const eps = config.layerNormEps;
  if (T > config.nPositions) throw new RangeError(`sequence of ${T} exceeds nPositions ${config.nPositions}`);
  const x = new Float32Array(T * D);
  for (let t = 0; t < T; t++) {
    const tok = ids[t] ?? 0;
    for (let k = 0; k < D; k++) x[t * D + k] = (weights.wte[tok * D + k] ?? 0) + (weights.wpe[t * D + k] ?? 0);
  }
  const h = new Float32Array(T * D);
  const qkv = new Float32Array(T * 3 * D);
  const att = new Float32Array(T * D);
  const tmp = new Float32Array(Math.max(D, F));
  const scores = new Float32Array(T);
  for (const L of weights.layers) {
    for (let t = 0; t < T; t++) {
      layerNorm(x, t * D, D, L.ln1Gamma, L.ln1Beta, eps, h, t * D);
      vecMat(h, t * D, L.qkvWeight, D, 3 * D, L.qkvBias, qkv, t * 3 * D);
    }
    att.fill(0);
    for (let head = 0; head < H; head++) {
      for (let t = 0; t < T; t++) {
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let k = 0; k < Dh; k++) dot += (qkv[t * 3 * D + head * Dh + k] ?? 0) * (qkv[s * 3 * D + D + head * Dh + k] ?? 0);
          const v = dot / Math.sqrt(Dh);
          scores[s] = v;
          if (v > max) max = v;
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          const e = Math.exp((scores[s] ?? 0) - max);
          scores[s] = e;
          sum += e;
        }
        for (let s = 0; s <= t; s++) {
          const p = (scores[s] ?? 0) / sum;
          for (let k = 0; k < Dh; k++) att[t * D + head * Dh + k] = (att[t * D + head * Dh + k] ?? 0) + p * (qkv[s * 3 * D + 2 * D + head * Dh + k] ?? 0);
        }
      }
    }
    for (let t = 0; t < T; t++) {
      vecMat(att, t * D, L.attnProjWeight, D, D, L.attnProjBias, tmp, 0);
      for (let k = 0; k < D; k++) x[t * D + k] = (x[t * D + k] ?? 0) + (tmp[k] ?? 0);
      layerNorm(x, t * D, D, L.ln2Gamma, L.ln2Beta, eps, h, t * D);
      const act = new Float32Array(F);
      vecMat(h, t * D, L.fcWeight, D, F, L.fcBias, act, 0);
      for (let k = 0; k < F; k++) act[k] = geluNew(act[k] ?? 0);
      vecMat(act, 0, L.mlpProjWeight, F, D, L.mlpProjBias, tmp, 0);
      for (let k = 0; k < D; k++) x[t * D + k] = (x[t * D + k] ?? 0) + (tmp[k] ?? 0);
    }
  }
  const logits = new Float32Array(T * config.vocabSize);
  for (let t = 0; t < T; t++) {
    layerNorm(x, t * D, D, weights.lnFGamma, weights.lnFBeta, eps, h, t * D);
    vecMat(h, t * D, weights.lmHead, D, config.vocabSize, null, logits, t * config.vocabSize);
  }
  return logits;
}

/** -log softmax(logits)[target], computed stably. */
export function negLogSoftmax(logits: Float32Array, offset: number, size: number, target: number): number {
  let max = -Infinity;
  for (let j = 0; j < size; j++) max = Math.max(max, logits[offset + j] ?? -Infinity);
  let sum = 0;
  for (let j = 0; j < size; j++) sum += Math.exp((logits[offset + j] ?? -Infinity) - max);
  return Math.log(sum) + max - (logits[offset + target] ?? 0);
}

/** Cross-entropy (nats/token) of predicting ids[t+1] from ids[t] with the embedding-only path. */
export function embeddingHeadCrossEntropy(config: Gpt2Config, weights: Gpt2Weights, ids: readonly number[]): number {
  const cache = new Map<number, Float32Array>();
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const tok = ids[t] ?? 0;
    let logits = cache.get(tok);
    if (logits === undefined) {
      logits = embeddingHeadLogits(config, weights, tok);
      cache.set(tok, logits);
    }
    sum += negLogSoftmax(logits, 0, config.vocabSize, ids[t + 1] ?? 0);
  }
  return sum / Math.max(ids.length - 1, 1);
}
