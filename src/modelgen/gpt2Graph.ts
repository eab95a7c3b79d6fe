// Builds a GPT-2 decoder as an ONNX graph with the input/output names of Hugging Face ONNX exports
// (input_ids, attention_mask, position_ids, past_key_values.{i}.key|value -> logits, present.{i}.key|value),
// plus `num_logits_to_keep` (as in newer exports) so generation computes the LM head for the last position only.
import type { Gpt2Config, Gpt2Weights } from './gpt2Spec.js';
import { DT, GraphBuilder, type ModelProto } from '../onnx/builder.js';

/** Value added to masked attention scores (large negative, finite so fully masked rows stay NaN-free). */
const MASK_VALUE = -1e9;

/** Builds the ONNX model proto for a GPT-2 config and its weights. */
export function buildGpt2Model(cfg: Gpt2Config, w: Gpt2Weights): ModelProto {
  const D = cfg.nEmbd;
  const H = cfg.nHead;
  const Dh = D / H;
  if (!Number.isInteger(Dh)) throw new Error(`nEmbd ${D} is not divisible by nHead ${H}`);
  const g = new GraphBuilder();

  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  for (let i = 0; i < cfg.nLayer; i++) {
    g.input(`past_key_values.${i}.key`, DT.FLOAT, ['batch_size', H, 'past_sequence_length', Dh]);
    g.input(`past_key_values.${i}.value`, DT.FLOAT, ['batch_size', H, 'past_sequence_length', Dh]);
  }
  g.input('num_logits_to_keep', DT.INT64, []);

  // Shared constants.
  const c0 = g.i64('const_0', [0], []);
  const c1 = g.i64('const_1', [1], []);
  const ax0 = g.i64('axes_0', [0]);
  const ax1 = g.i64('axes_1', [1]);
  const big = g.i64('const_int_max', [2 ** 62]);
  const headShape = g.i64('shape_heads', [0, 0, H, Dh]);
  const mergedShape = g.i64('shape_merged', [0, 0, D]);
  const scale = g.f32('attn_scale', [], new Float32Array([1 / Math.sqrt(Dh)]));
  const zeroF = g.f32('const_f0', [], new Float32Array([0]));
  const maskF = g.f32('const_mask', [], new Float32Array([MASK_VALUE]));
  const oneF = g.f32('const_f1', [], new Float32Array([1]));

  // Embeddings: wte[input_ids] + wpe[position_ids].
  g.f32('transformer.wte.weight', [cfg.vocabSize, D], w.wte);
  g.f32('transformer.wpe.weight', [cfg.nPositions, D], w.wpe);
  const tok = g.op('Gather', ['transformer.wte.weight', 'input_ids'], { axis: 0 });
  const pos = g.op('Gather', ['transformer.wpe.weight', 'position_ids'], { axis: 0 });
  let x = g.op('Add', [tok, pos]);

  // Additive attention mask [B, 1, S, T]: causal over absolute slots, plus key padding from attention_mask.
  const idsShape = g.op('Shape', ['input_ids']);
  const seqLen = g.op('Gather', [idsShape, c1], { axis: 0 });
  const maskShape = g.op('Shape', ['attention_mask']);
  const totalLen = g.op('Gather', [maskShape, c1], { axis: 0 });
  const pastLen = g.op('Sub', [totalLen, seqLen]);
  const keyIdx = g.op('Range', [c0, totalLen, c1]); // [T]
  const qIdx = g.op('Range', [pastLen, totalLen, c1]); // [S]
  const qCol = g.op('Unsqueeze', [qIdx, ax1]); // [S, 1]
  const allowed = g.op('LessOrEqual', [keyIdx, qCol]); // [S, T]: key slot <= query slot
  const causal = g.op('Where', [allowed, zeroF, maskF]); // [S, T]
  const maskF32 = g.op('Cast', ['attention_mask'], { to: DT.FLOAT }); // [B, T]
  const notKept = g.op('Sub', [oneF, maskF32]);
  const padAdd = g.op('Mul', [notKept, maskF]); // [B, T]
  const padAdd4 = g.op('Unsqueeze', [padAdd, g.i64('axes_1_2', [1, 2])]); // [B, 1, 1, T]
  const attnBias = g.op('Add', [padAdd4, causal]); // [B, 1, S, T]

  for (let i = 0; i < cfg.nLayer; i++) {
    const L = w.layers[i];
    if (!L) throw new Error(`missing weights for layer ${i}`);
    const p = `transformer.h.${i}`;
    // Attention.
    const h1 = g.op('LayerNormalization', [x, g.f32(`${p}.ln_1.weight`, [D], L.ln1Gamma), g.f32(`${p}.ln_1.bias`, [D], L.ln1Beta)], {
      axis: -1,
      epsilon: { float: cfg.layerNormEps },
    });
    const qkvMm = g.op('MatMul', [h1, g.f32(`${p}.attn.c_attn.weight`, [D, 3 * D], L.qkvWeight)]);
    const qkv = g.op('Add', [qkvMm, g.f32(`${p}.attn.c_attn.bias`, [3 * D], L.qkvBias)]);
    const [q, k, v] = g.opMulti('Split', [qkv, g.i64(`${p}.split`, [D, D, D])], [g.out('q'), g.out('k'), g.out('v')], { axis: 2 }) as [
      string,
      string,
      string,
    ];
    const heads = (t: string): string => g.op('Transpose', [g.op('Reshape', [t, headShape])], { perm: [0, 2, 1, 3] });
    const qh = g.op('Mul', [heads(q), scale]);
    const presentK = g.op('Concat', [`past_key_values.${i}.key`, heads(k)], { axis: 2 }, `present.${i}.key`);
    const presentV = g.op('Concat', [`past_key_values.${i}.value`, heads(v)], { axis: 2 }, `present.${i}.value`);
    const kT = g.op('Transpose', [presentK], { perm: [0, 1, 3, 2] });
    const scores = g.op('Add', [g.op('MatMul', [qh, kT]), attnBias]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.op('MatMul', [probs, presentV]); // [B, H, S, Dh]
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), mergedShape]);
    const projMm = g.op('MatMul', [merged, g.f32(`${p}.attn.c_proj.weight`, [D, D], L.attnProjWeight)]);
    const attnOut = g.op('Add', [projMm, g.f32(`${p}.attn.c_proj.bias`, [D], L.attnProjBias)]);
    x = g.op('Add', [x, attnOut]);
    // MLP with GPT-2's tanh GELU.
    const h2 = g.op('LayerNormalization', [x, g.f32(`${p}.ln_2.weight`, [D], L.ln2Gamma), g.f32(`${p}.ln_2.bias`, [D], L.ln2Beta)], {
      axis: -1,
      epsilon: { float: cfg.layerNormEps },
    });
    const fcMm = g.op('MatMul', [h2, g.f32(`${p}.mlp.c_fc.weight`, [D, cfg.nInner], L.fcWeight)]);
    const fc = g.op('Add', [fcMm, g.f32(`${p}.mlp.c_fc.bias`, [cfg.nInner], L.fcBias)]);
    const act = gelu(g, fc);
    const outMm = g.op('MatMul', [act, g.f32(`${p}.mlp.c_proj.weight`, [cfg.nInner, D], L.mlpProjWeight)]);
    const mlpOut = g.op('Add', [outMm, g.f32(`${p}.mlp.c_proj.bias`, [D], L.mlpProjBias)]);
    x = g.op('Add', [x, mlpOut]);
  }

  // Keep the last `num_logits_to_keep` positions (0 = all) before the LM head.
  const negKeep = g.op('Neg', [g.op('Unsqueeze', ['num_logits_to_keep', ax0])]);
  const kept = g.op('Slice', [x, negKeep, big, ax1]);
  const hf = g.op('LayerNormalization', [kept, g.f32('transformer.ln_f.weight', [D], w.lnFGamma), g.f32('transformer.ln_f.bias', [D], w.lnFBeta)], {
    axis: -1,
    epsilon: { float: cfg.layerNormEps },
  });
  g.op('MatMul', [hf, g.f32('lm_head.weight', [D, cfg.vocabSize], w.lmHead)], {}, 'logits');

  g.output('logits', DT.FLOAT, ['batch_size', 'logits_length', cfg.vocabSize]);
  for (let i = 0; i < cfg.nLayer; i++) {
    g.output(`present.${i}.key`, DT.FLOAT, ['batch_size', H, 'total_sequence_length', Dh]);
    g.output(`present.${i}.value`, DT.FLOAT, ['batch_size', H, 'total_sequence_length', Dh]);
  }

  return {
    irVersion: 8,
    producerName: 'llmbench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: g.graph('gpt2'),
  };
}

/** gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); ORT fuses this pattern into FastGelu. */
function gelu(g: GraphBuilder, x: string): string {
  const c = (name: string, v: number): string =>
    g.initializers.some((t) => t.name === name) ? name : g.f32(name, [], new Float32Array([v]));
  const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, c('gelu_c', 0.044715)])]), c('gelu_k', Math.sqrt(2 / Math.PI))]);
  const t = g.op('Add', [g.op('Tanh', [inner]), c('gelu_one', 1)]);
  return g.op('Mul', [g.op('Mul', [x, c('gelu_half', 0.5)]), t]);
}
