// Pure quality metrics over next-token logits: perplexity, top-1 agreement, KL(reference || model),
// and greedy-continuation agreement. Accumulators are plain objects so windows can be added one by one.

/** Running sums over scored positions. */
export interface TokenStats {
  /** Positions scored (next-token predictions). */
  count: number;
  nllSum: number;
  /** Same positions under the reference model (0 without one). */
  refNllSum: number;
  top1Matches: number;
  klSum: number;
  /** Positions compared against the reference. */
  compared: number;
}

/** Empty accumulator. */
export function emptyStats(): TokenStats {
  return { count: 0, nllSum: 0, refNllSum: 0, top1Matches: 0, klSum: 0, compared: 0 };
}

/** log-softmax of row `row` of a [rows, V] array into `out`; returns the row's argmax. */
export function logSoftmaxRow(logits: Float32Array, row: number, V: number, out: Float64Array): number {
  const base = row * V;
  let max = Number.NEGATIVE_INFINITY;
  let arg = 0;
  for (let v = 0; v < V; v++) {
    const x = logits[base + v] as number;
    if (x > max) {
      max = x;
      arg = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp((logits[base + v] as number) - max);
  const lse = max + Math.log(sum);
  for (let v = 0; v < V; v++) out[v] = (logits[base + v] as number) - lse;
  return arg;
}

/** KL(p || q) in nats from log-probabilities. */
export function klDivergence(logP: Float64Array, logQ: Float64Array): number {
  let kl = 0;
  for (let v = 0; v < logP.length; v++) {
    const lp = logP[v] as number;
    if (lp > -745) kl += Math.exp(lp) * (lp - (logQ[v] as number));
  }
  // Rounding can leave a tiny negative value for identical distributions.
  return Math.max(0, kl);
}

/**
 * Scores one window: row i of the logits predicts ids[i + 1]. `refLogits` (same shape) adds top-1
 * agreement, KL(ref || model) and the reference's own NLL on the same positions.
 */
export function scoreWindow(ids: number[], logits: Float32Array, refLogits: Float32Array | null, V: number, acc: TokenStats): void {
  const lp = new Float64Array(V);
  const lr = new Float64Array(V);
  for (let i = 0; i + 1 < ids.length; i++) {
    const target = ids[i + 1] as number;
    const top = logSoftmaxRow(logits, i, V, lp);
    acc.nllSum -= lp[target] as number;
    acc.count++;
    if (refLogits) {
      const refTop = logSoftmaxRow(refLogits, i, V, lr);
      acc.refNllSum -= lr[target] as number;
      acc.klSum += klDivergence(lr, lp);
      if (top === refTop) acc.top1Matches++;
      acc.compared++;
    }
  }
}

/** Perplexity from summed negative log-likelihood (nats) over `count` tokens. */
export function perplexity(nllSum: number, count: number): number {
  return count > 0 ? Math.exp(nllSum / count) : Number.NaN;
}

/** Agreement of greedy continuations: per position, and as the matching prefix before the first flip. */
export interface GreedyAgreement {
  /** Matching tokens / compared tokens, position by position. */
  positionwise: number;
  /** Mean over prompts of (tokens before the first difference / tokens compared). */
  prefix: number;
  /** Prompts whose whole continuation matched. */
  identical: number;
  prompts: number;
}

/** Compares continuations of the same prompts (model vs reference). */
export function greedyAgreement(model: number[][], reference: number[][]): GreedyAgreement {
  let match = 0;
  let total = 0;
  let prefixSum = 0;
  let identical = 0;
  const prompts = Math.min(model.length, reference.length);
  for (let p = 0; p < prompts; p++) {
    const a = model[p] ?? [];
    const b = reference[p] ?? [];
    const n = Math.min(a.length, b.length);
    let prefix = n;
    for (let i = 0; i < n; i++) {
      if (a[i] === b[i]) match++;
      else if (prefix === n) prefix = i;
    }
    total += n;
    prefixSum += n > 0 ? prefix / n : 1;
    if (prefix === n) identical++;
  }
  return { positionwise: total > 0 ? match / total : Number.NaN, prefix: prompts > 0 ? prefixSum / prompts : Number.NaN, identical, prompts };
}
