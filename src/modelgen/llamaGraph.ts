// A Llama-architecture decoder written the way optimum exports one, in plain ONNX ops: RMSNorm
// (Pow/ReduceMean/Sqrt), rotary position embeddings from cos/sin tables gathered by position_ids
// (rotate_half), grouped key/value heads (fewer KV heads than query heads; queries grouped per KV head,
// which MatMul broadcasting makes equal to optimum's repeat_kv), and a SwiGLU MLP. Inputs and outputs follow
// the Hugging Face export contract (input_ids, attention_mask, position_ids, past_key_values.{i}.key|value
// [batch, kv_heads, past, head_dim] -> logits, present.{i}.key|value), with no num_logits_to_keep input, as in
// optimum's Llama exports. In fp16 every activation, the KV cache and the logits are float16, as in
// `model_fp16.onnx` of transformers.js folders. It is a test fixture of the format users bring, with seeded
// random weights: what it generates is not meant to read well.
import { deriveSeed, fillNormal } from '../stats/rng.js';
import { DT, GraphBuilder, type ModelProto } from '../onnx/builder.js';
import { toFloat16Bits } from '../quantize/quantMath.js';

/** Shape of a generated Llama fixture (Hugging Face config.json field names in comments). */
export interface LlamaConfig {
  vocabSize: number; // vocab_size
  hiddenSize: number; // hidden_size
  intermediateSize: number; // intermediate_size
  numLayers: number; // num_hidden_layers
  numHeads: number; // num_attention_heads
  numKvHeads: number; // num_key_value_heads
  headDim: number; // head_dim
  maxPositions: number; // max_position_embeddings
  ropeTheta: number; // rope_theta
  rmsNormEps: number; // rms_norm_eps
  bosTokenId: number;
  eosTokenId: number;
}

/** Seeded random weights for a Llama config, as float32 (the fp16 graph stores them rounded). */
export interface LlamaWeights {
  embed: Float32Array; // [V, D]
  layers: { inputNorm: Float32Array; q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array; postNorm: Float32Array; gate: Float32Array; up: Float32Array; down: Float32Array }[];
  norm: Float32Array;
  lmHead: Float32Array; // [D, V]
}

/** Deterministic weights: embeddings of unit scale, projections ~ N(0, 1/fan_in), norms 1. */
export function llamaWeights(c: LlamaConfig, seed: number): LlamaWeights {
  const D = c.hiddenSize;
  const normal = (size: number, std: number, label: string): Float32Array => {
    const a = new Float32Array(size);
    fillNormal(a, std, deriveSeed(seed, label));
    return a;
  };
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  return {
    embed: normal(c.vocabSize * D, 1, 'llama.embed'),
    layers: Array.from({ length: c.numLayers }, (_, l) => ({
      inputNorm: new Float32Array(D).fill(1),
      q: normal(D * qDim, 1 / Math.sqrt(D), `llama.${l}.q`),
      k: normal(D * kvDim, 1 / Math.sqrt(D), `llama.${l}.k`),
      v: normal(D * kvDim, 1 / Math.sqrt(D), `llama.${l}.v`),
      o: normal(qDim * D, 0.5 / Math.sqrt(qDim), `llama.${l}.o`),
      postNorm: new Float32Array(D).fill(1),
      gate: normal(D * c.intermediateSize, 1 / Math.sqrt(D), `llama.${l}.gate`),
      up: normal(D * c.intermediateSize, 1 / Math.sqrt(D), `llama.${l}.up`),
      down: normal(c.intermediateSize * D, 0.5 / Math.sqrt(c.intermediateSize), `llama.${l}.down`),
    })),
    norm: new Float32Array(D).fill(1),
    lmHead: normal(D * c.vocabSize, 2 / Math.sqrt(D), 'llama.lm_head'),
  };
}

/** The Hugging Face config.json of a fixture (model_type llama). */
export function llamaHfConfig(c: LlamaConfig, dtype: 'float32' | 'float16'): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    rms_norm_eps: c.rmsNormEps,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    torch_dtype: dtype,
  };
}

/** Graph options of buildLlamaModel. */
export interface LlamaGraphOptions {
  /** false: optimum's decoder_model.onnx (no past inputs, `present` = this run's keys/values), a merged decoder's no-cache branch. */
  withPast?: boolean;
  /**
   * Sliding window: a query at position p attends keys p - window + 1 .. p (window keys, itself included: Hugging
   * Face's sliding_window, and what onnxruntime's GroupQueryAttention does with local_window_size = window).
   * Applied by the plain-ops mask, which takes positions from the tensor widths, so it is only right with exact
   * lengths (no padded cache): a reference for the model-builder fixture's windowed GQA.
   */
  localWindow?: number | null;
}

/** Builds the optimum-style graph in float32 or float16. */
export function buildLlamaModel(c: LlamaConfig, w: LlamaWeights, dtype: 'float32' | 'float16', opts: LlamaGraphOptions = {}): ModelProto {
  const withPast = opts.withPast ?? true;
  const D = c.hiddenSize;
  const H = c.numHeads;
  const Hkv = c.numKvHeads;
  const Dh = c.headDim;
  if (H % Hkv !== 0) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hkv}`);
  if (Dh % 2 !== 0) throw new Error(`head_dim ${Dh} must be even for rotary embeddings`);
  const rep = H / Hkv;
  const FT = dtype === 'float16' ? DT.FLOAT16 : DT.FLOAT;
  const g = new GraphBuilder();
  /** A float constant or weight in the graph's dtype. */
  const f = (name: string, dims: number[], data: Float32Array): string => {
    if (FT === DT.FLOAT) return g.f32(name, dims, data);
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = toFloat16Bits(data[i] as number);
    return g.raw(name, DT.FLOAT16, dims, new Uint8Array(h.buffer));
  };
  const scalar = (name: string, v: number): string => f(name, [], new Float32Array([v]));

  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  for (let i = 0; withPast && i < c.numLayers; i++) {
    g.input(`past_key_values.${i}.key`, FT, ['batch_size', Hkv, 'past_sequence_length', Dh]);
    g.input(`past_key_values.${i}.value`, FT, ['batch_size', Hkv, 'past_sequence_length', Dh]);
  }

  const c0 = g.i64('const_0', [0], []);
  const c1 = g.i64('const_1', [1], []);
  const ax1 = g.i64('axes_1', [1]);
  const ax3 = g.i64('axes_3', [3]);
  const two = scalar('const_two', 2);
  const eps = scalar('rms_eps', c.rmsNormEps);
  const zero = scalar('const_zero', 0);
  const one = scalar('const_one', 1);
  // Large negative but finite in fp16 too (fp16 max is 65504).
  const minusBig = scalar('const_mask', dtype === 'float16' ? -65504 : -1e9);
  const scale = scalar('attn_scale', 1 / Math.sqrt(Dh));

  // Rotary tables [P, Dh]: cos/sin of position * inv_freq, each half repeated (rotate_half layout).
  const P = c.maxPositions;
  const cos = new Float32Array(P * Dh);
  const sin = new Float32Array(P * Dh);
  for (let p = 0; p < P; p++) {
    for (let d = 0; d < Dh / 2; d++) {
      const angle = p * c.ropeTheta ** (-(2 * d) / Dh);
      for (const at of [p * Dh + d, p * Dh + d + Dh / 2]) {
        cos[at] = Math.cos(angle);
        sin[at] = Math.sin(angle);
      }
    }
  }
  const cosT = g.op('Unsqueeze', [g.op('Gather', [f('rotary.cos_cached', [P, Dh], cos), 'position_ids'], { axis: 0 }), ax1]); // [B,1,S,Dh]
  const sinT = g.op('Unsqueeze', [g.op('Gather', [f('rotary.sin_cached', [P, Dh], sin), 'position_ids'], { axis: 0 }), ax1]);
  const half = g.i64('rope_half', [Dh / 2]);
  const full = g.i64('rope_full', [Dh]);
  const start0 = g.i64('rope_start', [0]);
  const rotary = (x: string): string => {
    const x1 = g.op('Slice', [x, start0, half, ax3]);
    const x2 = g.op('Slice', [x, half, full, ax3]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
    return g.op('Add', [g.op('Mul', [x, cosT]), g.op('Mul', [rotated, sinT])]);
  };
  const rmsNorm = (x: string, weight: string): string => {
    const variance = g.op('ReduceMean', [g.op('Pow', [x, two])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, eps])])]);
    return g.op('Mul', [g.op('Mul', [x, inv]), weight]);
  };

  let x = g.op('Gather', [f('model.embed_tokens.weight', [c.vocabSize, D], w.embed), 'input_ids'], { axis: 0 });

  // Additive mask [B, 1, 1, S, T] (the extra axis is the query group): causal plus key padding.
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), c1], { axis: 0 });
  const totalLen = g.op('Gather', [g.op('Shape', ['attention_mask']), c1], { axis: 0 });
  const pastLen = g.op('Sub', [totalLen, seqLen]);
  const keyIdx = g.op('Range', [c0, totalLen, c1]);
  const qIdx = g.op('Unsqueeze', [g.op('Range', [pastLen, totalLen, c1]), ax1]);
  const window = opts.localWindow ?? null;
  const visible = window === null ? g.op('LessOrEqual', [keyIdx, qIdx]) : g.op('And', [g.op('LessOrEqual', [keyIdx, qIdx]), g.op('GreaterOrEqual', [keyIdx, g.op('Sub', [qIdx, g.i64('local_window_minus_1', [window - 1], [])])])]);
  const causal = g.op('Where', [visible, zero, minusBig]); // [S, T]
  const kept = g.op('Cast', ['attention_mask'], { to: FT });
  const pad = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, kept]), minusBig]), g.i64('axes_1_2_3', [1, 2, 3])]); // [B,1,1,1,T]
  const bias = g.op('Add', [pad, causal]);

  // One initializer per head count (a second one of the same name is a duplicate onnxruntime warns about).
  const headShapes = new Map([H, Hkv].map((n) => [n, g.i64(`shape_heads_${n}`, [0, 0, n, Dh])]));
  const headsShape = (n: number): string => headShapes.get(n) as string;
  const groupShape = g.i64('shape_groups', [0, Hkv, rep, -1, Dh]);
  const mergeHeads = g.i64('shape_merge_heads', [0, H, -1, Dh]);
  const mergedShape = g.i64('shape_merged', [0, 0, H * Dh]);
  const kvUnsq = g.i64('axes_2', [2]);
  for (let i = 0; i < c.numLayers; i++) {
    const L = w.layers[i];
    if (!L) throw new Error(`missing weights for layer ${i}`);
    const p = `model.layers.${i}`;
    const h = rmsNorm(x, f(`${p}.input_layernorm.weight`, [D], L.inputNorm));
    const proj = (t: string, name: string, out: number, data: Float32Array): string => g.op('MatMul', [t, f(`${p}.self_attn.${name}.weight`, [D, out], data)]);
    const toHeads = (t: string, n: number): string => g.op('Transpose', [g.op('Reshape', [t, headsShape(n)])], { perm: [0, 2, 1, 3] });
    const q = rotary(toHeads(proj(h, 'q_proj', H * Dh, L.q), H)); // [B,H,S,Dh]
    const k = rotary(toHeads(proj(h, 'k_proj', Hkv * Dh, L.k), Hkv)); // [B,Hkv,S,Dh]
    const v = toHeads(proj(h, 'v_proj', Hkv * Dh, L.v), Hkv);
    const presentK = withPast ? g.op('Concat', [`past_key_values.${i}.key`, k], { axis: 2 }, `present.${i}.key`) : g.op('Identity', [k], {}, `present.${i}.key`);
    const presentV = withPast ? g.op('Concat', [`past_key_values.${i}.value`, v], { axis: 2 }, `present.${i}.value`) : g.op('Identity', [v], {}, `present.${i}.value`);
    const qg = g.op('Mul', [g.op('Reshape', [q, groupShape]), scale]); // [B,Hkv,rep,S,Dh]
    const kT = g.op('Transpose', [g.op('Unsqueeze', [presentK, kvUnsq])], { perm: [0, 1, 2, 4, 3] }); // [B,Hkv,1,Dh,T]
    const probs = g.op('Softmax', [g.op('Add', [g.op('MatMul', [qg, kT]), bias])], { axis: -1 });
    const ctx = g.op('Reshape', [g.op('MatMul', [probs, g.op('Unsqueeze', [presentV, kvUnsq])]), mergeHeads]); // [B,H,S,Dh]
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), mergedShape]);
    x = g.op('Add', [x, g.op('MatMul', [merged, f(`${p}.self_attn.o_proj.weight`, [H * Dh, D], L.o)])]);
    const h2 = rmsNorm(x, f(`${p}.post_attention_layernorm.weight`, [D], L.postNorm));
    const gate = g.op('MatMul', [h2, f(`${p}.mlp.gate_proj.weight`, [D, c.intermediateSize], L.gate)]);
    const up = g.op('MatMul', [h2, f(`${p}.mlp.up_proj.weight`, [D, c.intermediateSize], L.up)]);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, g.op('MatMul', [act, f(`${p}.mlp.down_proj.weight`, [c.intermediateSize, D], L.down)])]);
  }
  const hf = rmsNorm(x, f('model.norm.weight', [D], w.norm));
  g.op('MatMul', [hf, f('lm_head.weight', [D, c.vocabSize], w.lmHead)], {}, 'logits');
  g.output('logits', FT, ['batch_size', 'sequence_length', c.vocabSize]);
  for (let i = 0; i < c.numLayers; i++) {
    g.output(`present.${i}.key`, FT, ['batch_size', Hkv, 'total_sequence_length', Dh]);
    g.output(`present.${i}.value`, FT, ['batch_size', Hkv, 'total_sequence_length', Dh]);
  }
  return { irVersion: 8, producerName: 'llmbench-llama-fixture', opsetImport: [{ domain: '', version: 17 }], graph: g.graph('llama') };
}
