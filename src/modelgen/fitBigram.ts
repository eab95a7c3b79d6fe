// Token-bigram statistics of the training corpus, smoothed with interpolated Kneser-Ney:
//   P(j|i) = max(c_ij - d, 0) / n_i + (d T_i / n_i) Pc(j)        (Pc: continuation probability)
// Rewritten as log P(j|i) = log Pc(j) + log(1 + (c_ij - d) / (d T_i Pc(j))) + (terms constant in j),
// the second term is zero wherever c_ij = 0. So a softmax over logits  bias_j + S_ij  is exactly this
// model, with a dense bias (log Pc) and a SPARSE matrix S: what the weight fitter approximates.

/** Bigram counts of a token sequence in CSR form, plus the smoothing terms. */
export interface BigramTable {
  vocabSize: number;
  /** CSR row starts (length vocabSize + 1) over context tokens i. */
  rowPtr: Int32Array;
  /** Next-token ids j, ascending within a row. */
  cols: Int32Array;
  /** c_ij, parallel to cols. */
  counts: Float64Array;
  /** n_i = sum_j c_ij. */
  rowTotals: Float64Array;
  /** log Pc(j): Kneser-Ney continuation probability (distinct left contexts of j, add-half smoothed). */
  logContinuation: Float64Array;
  /** Absolute discount d. */
  discount: number;
}

/** Counts the bigrams of `ids` (all < vocabSize). */
export function countBigrams(ids: readonly number[], vocabSize: number, discount = 0.75): BigramTable {
  const pairs = ids.length - 1;
  const keys = new Float64Array(Math.max(pairs, 0));
  for (let t = 0; t < pairs; t++) {
    const i = ids[t] ?? 0;
    const j = ids[t + 1] ?? 0;
    if (i < 0 || i >= vocabSize || j < 0 || j >= vocabSize) throw new RangeError(`token id out of range [0, ${vocabSize})`);
    keys[t] = i * vocabSize + j;
  }
  keys.sort();
  const rowPtr = new Int32Array(vocabSize + 1);
  const colsList: number[] = [];
  const countsList: number[] = [];
  const rowTotals = new Float64Array(vocabSize);
  const leftContexts = new Float64Array(vocabSize);
  for (let t = 0; t < pairs; ) {
    const key = keys[t] ?? 0;
    let run = 1;
    while (t + run < pairs && keys[t + run] === key) run++;
    const i = Math.floor(key / vocabSize);
    const j = key - i * vocabSize;
    colsList.push(j);
    countsList.push(run);
    rowPtr[i + 1] = (rowPtr[i + 1] ?? 0) + 1;
    rowTotals[i] = (rowTotals[i] ?? 0) + run;
    leftContexts[j] = (leftContexts[j] ?? 0) + 1;
    t += run;
  }
  for (let i = 0; i < vocabSize; i++) rowPtr[i + 1] = (rowPtr[i + 1] ?? 0) + (rowPtr[i] ?? 0);
  const distinctPairs = colsList.length;
  const logContinuation = new Float64Array(vocabSize);
  const denom = distinctPairs + 0.5 * vocabSize;
  for (let j = 0; j < vocabSize; j++) logContinuation[j] = Math.log(((leftContexts[j] ?? 0) + 0.5) / denom);
  return {
    vocabSize,
    rowPtr,
    cols: Int32Array.from(colsList),
    counts: Float64Array.from(countsList),
    rowTotals,
    logContinuation,
    discount,
  };
}

/** Sparse scores S_ij = log(1 + (c_ij - d) / (d T_i Pc(j))), parallel to table.cols. */
export function bigramScores(table: BigramTable): Float64Array {
  const { rowPtr, cols, counts, logContinuation, discount: d } = table;
  const out = new Float64Array(cols.length);
  for (let i = 0; i < table.vocabSize; i++) {
    const start = rowPtr[i] ?? 0;
    const end = rowPtr[i + 1] ?? 0;
    const types = end - start;
    for (let e = start; e < end; e++) {
      const pc = Math.exp(logContinuation[cols[e] ?? 0] ?? 0);
      out[e] = Math.log1p(((counts[e] ?? 0) - d) / (d * types * pc));
    }
  }
  return out;
}

/** log P(j|i) under the smoothed model (unseen contexts fall back to Pc). */
export function bigramLogProb(table: BigramTable, i: number, j: number): number {
  const start = table.rowPtr[i] ?? 0;
  const end = table.rowPtr[i + 1] ?? 0;
  const pc = Math.exp(table.logContinuation[j] ?? 0);
  const n = table.rowTotals[i] ?? 0;
  if (n === 0) return Math.log(pc);
  let c = 0;
  let lo = start;
  let hi = end - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const col = table.cols[mid] ?? 0;
    if (col === j) {
      c = table.counts[mid] ?? 0;
      break;
    }
    if (col < j) lo = mid + 1;
    else hi = mid - 1;
  }
  const d = table.discount;
  return Math.log((Math.max(c - d, 0) + d * (end - start) * pc) / n);
}

/** Mean negative log-likelihood (nats per token) of ids[1..] given the previous token, under the table. */
export function bigramCrossEntropy(table: BigramTable, ids: readonly number[]): number {
  let sum = 0;
  for (let t = 1; t < ids.length; t++) sum -= bigramLogProb(table, ids[t - 1] ?? 0, ids[t] ?? 0);
  return sum / Math.max(ids.length - 1, 1);
}
