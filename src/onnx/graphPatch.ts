// Adds outputs that carry only this run's new keys/values (a Slice of each `present` past the old length)
// to a decoder graph, by appending a second `graph` field to the ModelProto bytes: protobuf merges repeated
// occurrences of a message field, so the original bytes are never decoded or re-encoded.
// Why: onnxruntime-node copies every fetched output into a fresh JS buffer (even into a preallocated
// one, it copies again for the return value). Fetching full `present` tensors costs a copy of the whole
// KV cache per step; fetching only the new slice costs a few KB, and the engine keeps the cache itself.
import { decodeModel, DT, encodeModel, GraphBuilder, type NodeProto, onnx, valueInfo } from './builder.js';

/** Output name of layer `i`'s new keys or values. */
export function newKvName(layer: number, kind: 'key' | 'value'): string {
  return `llmbench.new.${layer}.${kind}`;
}

/** Output name of the last position's logits (added when the graph has no num_logits_to_keep). */
export const LAST_LOGITS = 'llmbench.last_logits';

export interface PatchSpec {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** ONNX element type of the KV tensors. */
  kvElemType: number;
  /** Add the new-key/value outputs. */
  addNewKv: boolean;
  /** Add LAST_LOGITS (Slice of logits to the last position). */
  addLastLogits: boolean;
  /**
   * GroupQueryAttention writes a row's new keys/values at the row's own length (the mask's sum minus the new
   * tokens), not after the whole past tensor: take them from there.
   */
  newKvFromMaskSum?: boolean;
  /** ONNX element type of the graph's logits (float16 exports have float16 logits). Default float32. */
  logitsElemType?: number;
}

/** Returns model bytes with the extra outputs appended (the original bytes are copied once). */
export function patchDecoderBytes(model: Uint8Array, spec: PatchSpec): Uint8Array {
  const extra = patchBytes(spec);
  const merged = new Uint8Array(model.length + extra.length);
  merged.set(model, 0);
  merged.set(extra, model.length);
  return merged;
}

/** The bytes to append to a ModelProto to add the outputs of `spec`. */
export function patchBytes(spec: PatchSpec): Uint8Array {
  const g = new GraphBuilder();
  const idx2 = g.i64('llmbench_axis2', [2]);
  const end = g.i64('llmbench_end', [2 ** 62]);
  const pastLen = spec.addNewKv && !spec.newKvFromMaskSum ? g.op('Gather', [g.op('Shape', ['past_key_values.0.key'], {}, 'llmbench_past_shape'), idx2], { axis: 0 }, 'llmbench_past_len') : '';
  const rowIndex = spec.addNewKv && spec.newKvFromMaskSum ? newKvIndex(g, spec) : '';
  for (let i = 0; spec.addNewKv && i < spec.numLayers; i++) {
    for (const kind of ['key', 'value'] as const) {
      const out = newKvName(i, kind);
      if (rowIndex) g.op('GatherElements', [`present.${i}.${kind}`, rowIndex], { axis: 2 }, out);
      else g.op('Slice', [`present.${i}.${kind}`, pastLen, end, idx2], {}, out);
      g.output(out, spec.kvElemType, ['batch_size', spec.numKvHeads, 'sequence_length', spec.headDim]);
    }
  }
  if (spec.addLastLogits) {
    g.op('Slice', ['logits', g.i64('llmbench_minus1', [-1]), end, g.i64('llmbench_axis1', [1])], {}, LAST_LOGITS);
    g.output(LAST_LOGITS, spec.logitsElemType ?? DT.FLOAT, ['batch_size', 1, 'vocab_size']);
  }
  // Node names must be unique across the merged graph.
  for (const n of g.nodes) n.name = `llmbench_patch_${n.name ?? ''}`;
  return onnx.ModelProto.encode(onnx.ModelProto.create({ graph: { node: g.nodes, initializer: g.initializers, output: g.outputs } })).finish();
}

/**
 * Indices [batch, kv_heads, new, head_size] into `present` along the sequence axis: row b's new tokens sit at
 * sum(attention_mask[b]) - new .. sum - 1 (GroupQueryAttention's seqlens_k + 1 - new, per row).
 */
function newKvIndex(g: GraphBuilder, spec: PatchSpec): string {
  const s = g.op('Gather', [g.op('Shape', ['input_ids']), g.i64('llmbench_idx1', [1], [])], { axis: 0 });
  const start = g.op('Sub', [g.op('ReduceSum', ['attention_mask', g.i64('llmbench_axes1', [1])], { keepdims: 0 }), s]); // [B]
  const rowStart = g.op('Reshape', [start, g.i64('llmbench_shape_b111', [-1, 1, 1, 1])]);
  const offsets = g.op('Reshape', [g.op('Range', [g.i64('llmbench_zero', [0], []), s, g.i64('llmbench_one', [1], [])]), g.i64('llmbench_shape_11s1', [1, 1, -1, 1])]);
  return g.op('Expand', [g.op('Add', [rowStart, offsets]), g.i64('llmbench_expand_kv', [1, spec.numKvHeads, 1, spec.headDim])]);
}

/**
 * Rewrites a plain-ops decoder graph (each `present.{i}.{kind}` = Concat(past, new) on the sequence axis) so the
 * new keys/values are outputs themselves (Identity of the Concat's second input) and `present.*` are no
 * longer outputs. Why: a graph output lives to the end of the run, and the Slice the generic patch adds runs
 * late, so every layer's full `present` (a second copy of the batch's KV cache) sat in memory at once; as
 * plain intermediates each is freed once attention has read it. Returns null when a layer does not match
 * (fused attention ops): callers fall back to the Slice patch.
 */
export function directNewKv(model: Uint8Array, spec: PatchSpec): Uint8Array | null {
  const m = decodeModel(model);
  const graph = m.graph;
  if (!graph) return null;
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const added: NodeProto[] = [];
  for (let i = 0; i < spec.numLayers; i++) {
    for (const kind of ['key', 'value'] as const) {
      const n = producer.get(`present.${i}.${kind}`);
      const axis = n?.attribute?.find((a) => a.name === 'axis');
      const axisValue = axis ? Number(axis.i) : null;
      if (!n || n.opType !== 'Concat' || n.input?.length !== 2 || n.input[0] !== `past_key_values.${i}.${kind}` || (axisValue !== 2 && axisValue !== -2)) return null;
      added.push(onnx.NodeProto.create({ name: `llmbench_direct_${i}_${kind}`, opType: 'Identity', input: [n.input[1] as string], output: [newKvName(i, kind)] }));
    }
  }
  graph.node = [...(graph.node ?? []), ...added];
  graph.output = [
    ...(graph.output ?? []).filter((o) => !(o.name ?? '').startsWith('present.')),
    ...added.map((n) => valueInfo(n.output?.[0] as string, spec.kvElemType, ['batch_size', spec.numKvHeads, 'sequence_length', spec.headDim])),
  ];
  return encodeModel(m);
}
