// The same Llama decoder as llamaGraph.ts, written the way onnxruntime-genai's model builder writes it for the
// CPU and CUDA execution providers: contrib ops instead of plain ones. SimplifiedLayerNormalization on the
// embeddings, SkipSimplifiedLayerNormalization (residual add + RMSNorm in one node, its 4th output the
// residual sum) everywhere else, one packed Q/K/V MatMul feeding GroupQueryAttention with the rotary embedding
// inside the op (do_rotary=1, cos/sin caches [context, head_size/2]), so the graph has no position_ids input;
// GQA's seqlens_k and total_sequence_length are derived from attention_mask inside the graph (ReduceSum - 1
// and the mask's width, both cast to int32), as the builder does. KV tensors are [batch, kv_heads, length,
// head_size] named past_key_values.%d.key / present.%d.key. Given the same weights it computes what the
// optimum-style graph computes, so the two styles must decode the same greedy tokens.
import { DT, GraphBuilder, type GraphProto, type ModelProto } from '../onnx/builder.js';
import type { LlamaConfig, LlamaWeights } from './llamaGraph.js';
import { toFloat16Bits } from '../quantize/quantMath.js';

const MS_DOMAIN = 'com.microsoft';

/**
 * Where the rotary embedding runs. `in-attention`: inside GroupQueryAttention (do_rotary=1), no position_ids
 * input (the builder's cpu/cuda/webgpu targets). `separate`: RotaryEmbedding nodes on separate Q and K
 * projections, driven by a position_ids input, and GQA with do_rotary=0 (the builder's DirectML target).
 */
export type RotaryPlacement = 'in-attention' | 'separate';

/** Phi-3 "longrope" rotary scaling: per-dimension factors for short and long contexts. */
export interface LongRope {
  /** original_max_position_embeddings: above this total length the long factors apply. */
  originalMaxPositions: number;
  shortFactor: number[];
  longFactor: number[];
}

/** Graph options of buildModelBuilderLlama. */
export interface ModelBuilderGraphOptions {
  rotary?: RotaryPlacement;
  /**
   * GroupQueryAttention's local_window_size (the builder writes a sliding-window model's window there; -1 or
   * unset: none). onnxruntime 1.30's CPU kernel lets position p attend the `localWindow` keys
   * p - localWindow + 1 .. p (test/onnx/slidingWindow.test.ts tells this apart from a window one key wider).
   */
  localWindow?: number;
  /**
   * Phi-3 128k-style rotary caches: a short and a long pair, chosen by an If on whether the attention mask is
   * wider than originalMaxPositions (as the builder writes longrope models).
   */
  longrope?: LongRope;
}

/** Builds the model-builder-style graph in float32 or float16. */
export function buildModelBuilderLlama(c: LlamaConfig, w: LlamaWeights, dtype: 'float32' | 'float16', opts: ModelBuilderGraphOptions = {}): ModelProto {
  const rotary = opts.rotary ?? 'in-attention';
  const localWindow = opts.localWindow ?? -1;
  const D = c.hiddenSize;
  const H = c.numHeads;
  const Hkv = c.numKvHeads;
  const Dh = c.headDim;
  // GroupQueryAttention's CPU kernel checks both (group_query_attention_helper.h).
  if (Dh % 16 !== 0) throw new Error(`head_dim ${Dh} must be a multiple of 16 for GroupQueryAttention with rotary caches`);
  if (H % Hkv !== 0) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hkv}`);
  const FT = dtype === 'float16' ? DT.FLOAT16 : DT.FLOAT;
  const g = new GraphBuilder();
  const f = (name: string, dims: number[], data: Float32Array): string => {
    if (FT === DT.FLOAT) return g.f32(name, dims, data);
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = toFloat16Bits(data[i] as number);
    return g.raw(name, DT.FLOAT16, dims, new Uint8Array(h.buffer));
  };

  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  if (rotary === 'separate') g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  for (let i = 0; i < c.numLayers; i++) {
    g.input(`past_key_values.${i}.key`, FT, ['batch_size', Hkv, 'past_sequence_length', Dh]);
    g.input(`past_key_values.${i}.value`, FT, ['batch_size', Hkv, 'past_sequence_length', Dh]);
  }

  // seqlens_k = sum(attention_mask) - 1 per row; total_sequence_length = the mask's width.
  const maskSum = g.op('ReduceSum', ['attention_mask', g.i64('/model/attn_mask_reformat/axes_1', [1])], { keepdims: 0 }, '/model/attn_mask_reformat/ReduceSum');
  const seqlensK = g.op('Cast', [g.op('Sub', [maskSum, g.i64('/model/attn_mask_reformat/one', [1], [])])], { to: DT.INT32 }, '/model/attn_mask_reformat/seqlens_k');
  const width = g.op('Gather', [g.op('Shape', ['attention_mask']), g.i64('/model/attn_mask_reformat/index_1', [1], [])], { axis: 0 });
  const totalLen = g.op('Cast', [width], { to: DT.INT32 }, '/model/attn_mask_reformat/total_seq_len');

  // Rotary caches [context, head_size/2]: cos/sin of position * inv_freq (non-interleaved halves), each
  // frequency divided by a longrope factor where there is one.
  const half = Dh / 2;
  const caches = (name: string, P: number, factors: number[] | null): [string, string] => {
    const cos = new Float32Array(P * half);
    const sin = new Float32Array(P * half);
    for (let p = 0; p < P; p++) {
      for (let d = 0; d < half; d++) {
        const angle = (p * c.ropeTheta ** (-(2 * d) / Dh)) / (factors?.[d] ?? 1);
        cos[p * half + d] = Math.cos(angle);
        sin[p * half + d] = Math.sin(angle);
      }
    }
    return [f(`cos_cache${name}`, [P, half], cos), f(`sin_cache${name}`, [P, half], sin)];
  };
  const [cosCache, sinCache] = opts.longrope ? longRopeCaches(g, opts.longrope, FT, caches, c.maxPositions) : caches('', c.maxPositions, null);
  const eps = { float: c.rmsNormEps };

  const embeds = g.op('Gather', [f('model.embed_tokens.weight', [c.vocabSize, D], w.embed), 'input_ids'], { axis: 0 }, '/model/embed_tokens/Gather/output_0');
  // The residual stream enters each SkipSimplifiedLayerNormalization as `skip`; its 4th output is the new sum.
  let residual = embeds;
  let pending: string | null = null; // the last block's output, not yet added to the residual
  const skipNorm = (name: string, weight: string): string => {
    if (pending === null) {
      return g.op('SimplifiedLayerNormalization', [residual, weight], { axis: -1, epsilon: eps, stash_type: 1 }, `${name}/output_0`);
    }
    const [out, , , sum] = g.opMulti('SkipSimplifiedLayerNormalization', [pending, residual, weight], [`${name}/output_0`, '', '', `${name}/output_3`], { epsilon: eps }, MS_DOMAIN);
    residual = sum as string;
    return out as string;
  };

  for (let i = 0; i < c.numLayers; i++) {
    const L = w.layers[i];
    if (!L) throw new Error(`missing weights for layer ${i}`);
    const p = `model.layers.${i}`;
    const h = skipNorm(`/model/layers.${i}/input_layernorm`, f(`${p}.input_layernorm.weight`, [D], L.inputNorm));
    let attnInputs: string[];
    if (rotary === 'in-attention') {
      const qkvW = packColumns(D, [L.q, L.k, L.v], [H * Dh, Hkv * Dh, Hkv * Dh]);
      const qkv = g.op('MatMul', [h, f(`${p}.attn.qkv_proj.MatMul.weight`, [D, (H + 2 * Hkv) * Dh], qkvW)], {}, `/model/layers.${i}/attn/qkv_proj/MatMul/output_0`);
      attnInputs = [qkv, '', '', `past_key_values.${i}.key`, `past_key_values.${i}.value`, seqlensK, totalLen, cosCache, sinCache];
    } else {
      const proj = (name: string, out: number, data: Float32Array): string => g.op('MatMul', [h, f(`${p}.attn.${name}.MatMul.weight`, [D, out], data)], {}, `/model/layers.${i}/attn/${name}/MatMul/output_0`);
      const rope = (x: string, heads: number, name: string): string =>
        g.op('RotaryEmbedding', [x, 'position_ids', cosCache, sinCache], { interleaved: 0, num_heads: heads }, `/model/layers.${i}/attn/${name}/RotaryEmbedding/output_0`, MS_DOMAIN);
      const q = rope(proj('q_proj', H * Dh, L.q), H, 'q_rotary');
      const k = rope(proj('k_proj', Hkv * Dh, L.k), Hkv, 'k_rotary');
      attnInputs = [q, k, proj('v_proj', Hkv * Dh, L.v), `past_key_values.${i}.key`, `past_key_values.${i}.value`, seqlensK, totalLen];
    }
    const [attn] = g.opMulti(
      'GroupQueryAttention',
      attnInputs,
      [`/model/layers.${i}/attn/GroupQueryAttention/output_0`, `present.${i}.key`, `present.${i}.value`],
      { num_heads: H, kv_num_heads: Hkv, do_rotary: rotary === 'in-attention' ? 1 : 0, rotary_interleaved: 0, local_window_size: localWindow, scale: { float: 1 / Math.sqrt(Dh) } },
      MS_DOMAIN,
    );
    pending = g.op('MatMul', [attn as string, f(`${p}.attn.o_proj.MatMul.weight`, [H * Dh, D], L.o)], {}, `/model/layers.${i}/attn/o_proj/MatMul/output_0`);
    const h2 = skipNorm(`/model/layers.${i}/post_attention_layernorm`, f(`${p}.post_attention_layernorm.weight`, [D], L.postNorm));
    const gate = g.op('MatMul', [h2, f(`${p}.mlp.gate_proj.MatMul.weight`, [D, c.intermediateSize], L.gate)], {}, `/model/layers.${i}/mlp/gate_proj/MatMul/output_0`);
    const up = g.op('MatMul', [h2, f(`${p}.mlp.up_proj.MatMul.weight`, [D, c.intermediateSize], L.up)], {}, `/model/layers.${i}/mlp/up_proj/MatMul/output_0`);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    pending = g.op('MatMul', [act, f(`${p}.mlp.down_proj.MatMul.weight`, [c.intermediateSize, D], L.down)], {}, `/model/layers.${i}/mlp/down_proj/MatMul/output_0`);
  }
  const hf = skipNorm('/model/layers.final_norm_layernorm', f('model.layers.final_norm_layernorm.weight', [D], w.norm));
  g.op('MatMul', [hf, f('lm_head.MatMul.weight', [D, c.vocabSize], w.lmHead)], {}, 'logits');
  g.output('logits', FT, ['batch_size', 'sequence_length', c.vocabSize]);
  for (let i = 0; i < c.numLayers; i++) {
    g.output(`present.${i}.key`, FT, ['batch_size', Hkv, 'total_sequence_length', Dh]);
    g.output(`present.${i}.value`, FT, ['batch_size', Hkv, 'total_sequence_length', Dh]);
  }
  return {
    irVersion: 8,
    producerName: 'llmbench-model-builder-fixture',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: MS_DOMAIN, version: 1 },
    ],
    graph: g.graph('main_graph'),
  };
}

/**
 * The builder's longrope switch: If (attention mask wider than the original context) then the long-factor
 * caches else the short ones; returns the If's outputs, which feed the attention ops as cos/sin caches.
 */
function longRopeCaches(g: GraphBuilder, rope: LongRope, FT: number, caches: (name: string, P: number, factors: number[] | null) => [string, string], P: number): [string, string] {
  const [cosLarge, sinLarge] = caches('_large', P, rope.longFactor);
  const [cosSmall, sinSmall] = caches('_small', rope.originalMaxPositions, rope.shortFactor);
  const width = g.op('Gather', [g.op('Shape', ['attention_mask']), g.i64('/model/rotemb_caches/index_1', [1], [])], { axis: 0 });
  const isLong = g.op('Greater', [width, g.i64('/model/rotemb_caches/original_max', [rope.originalMaxPositions], [])], {}, '/model/rotemb_caches/Greater/output_0');
  const branch = (name: string, cos: string, sin: string): GraphProto => {
    const b = new GraphBuilder();
    b.op('Identity', [cos], {}, `${name}/cos`);
    b.op('Identity', [sin], {}, `${name}/sin`);
    b.output(`${name}/cos`, FT, ['max_sequence_length', 'head_dim_half']);
    b.output(`${name}/sin`, FT, ['max_sequence_length', 'head_dim_half']);
    return b.graph(name);
  };
  const outs = ['cos_cache', 'sin_cache'];
  g.opMulti('If', [isLong], outs, { then_branch: { graph: branch('large_rotemb_caches_graph', cosLarge, sinLarge) }, else_branch: { graph: branch('small_rotemb_caches_graph', cosSmall, sinSmall) } });
  return outs as [string, string];
}

/** [rows x sum(widths)] from row-major [rows x widths[k]] blocks placed side by side (the packed Q/K/V weight). */
function packColumns(rows: number, blocks: Float32Array[], widths: number[]): Float32Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let col = 0;
    blocks.forEach((b, k) => {
      const wdt = widths[k] as number;
      out.set(b.subarray(r * wdt, (r + 1) * wdt), r * total + col);
      col += wdt;
    });
  }
  return out;
}
