// The shape and weights of a GPT-2 style decoder, as plain data: what the weight fitter produces and
// what the ONNX graph builder consumes. Matrices are row-major Float32Arrays; Linear weights are stored
// [in, out] (x @ W), as the graph's MatMul nodes use them.

/** Hyperparameters of a generated GPT-2 style model (mirrors Hugging Face GPT2Config field meaning). */
export interface Gpt2Config {
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nPositions: number;
  /** MLP hidden size (4 * nEmbd in GPT-2). */
  nInner: number;
  layerNormEps: number;
  bosTokenId: number;
  eosTokenId: number;
}

/** Weights of one transformer block. */
export interface Gpt2LayerWeights {
  ln1Gamma: Float32Array; // [D]
  ln1Beta: Float32Array; // [D]
  qkvWeight: Float32Array; // [D, 3D]  (q | k | v along the output axis)
  qkvBias: Float32Array; // [3D]
  attnProjWeight: Float32Array; // [D, D]
  attnProjBias: Float32Array; // [D]
  ln2Gamma: Float32Array; // [D]
  ln2Beta: Float32Array; // [D]
  fcWeight: Float32Array; // [D, nInner]
  fcBias: Float32Array; // [nInner]
  mlpProjWeight: Float32Array; // [nInner, D]
  mlpProjBias: Float32Array; // [D]
}

/** All weights of a GPT-2 style model. The LM head is untied (its own [D, V] matrix) so it can be quantized. */
export interface Gpt2Weights {
  wte: Float32Array; // [V, D]
  wpe: Float32Array; // [nPositions, D]
  layers: Gpt2LayerWeights[];
  lnFGamma: Float32Array; // [D]
  lnFBeta: Float32Array; // [D]
  lmHead: Float32Array; // [D, V]
}
