// Keeps a float32 decoder's KV cache in float16 between steps (`--kv-dtype float16`): the graph's past inputs
// become float16 and are Cast to float32 where the graph reads them, and each step's new keys/values leave as
// float16 outputs (Cast of the Concat's new half, or of a Slice of `present` past the old length). Attention
// still computes in float32; only what is stored is rounded. Why in the graph rather than converting in JS:
// every step reads the whole cache, and onnxruntime's Cast converts it in native code inside the run, while JS
// would convert every cached element on the event loop each step. Measured on 8M elements (a loaded 2-core
// machine, medians of 5): a JS lookup-table loop 245 ms, an onnxruntime run of Cast (+ a ReduceSum) 111 ms.
import { ModelError } from '../errors.js';
import { decodeModel, DT, encodeModel, type NodeProto, onnx, type TensorProto, valueInfo } from './builder.js';
import { newKvName, type PatchSpec } from './graphPatch.js';

const castTo = (input: string, output: string, to: number, name: string): NodeProto =>
  onnx.NodeProto.create({ name, opType: 'Cast', input: [input], output: [output], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }] });

/**
 * Rewrites float32 decoder bytes (no patch appended yet) so past inputs are float16 and the new-KV outputs
 * (`newKvName`) exist as float16. Throws ModelError where the graph's structure is not one it can rewrite.
 */
export function float16KvGraph(model: Uint8Array, spec: PatchSpec, where: string): Uint8Array {
  const m = decodeModel(model);
  const graph = m.graph;
  if (!graph) throw new ModelError(`${where}: no graph to rewrite for a float16 KV cache`);
  const nodes = graph.node ?? [];
  if (nodes.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0))) {
    throw new ModelError(`${where}: --kv-dtype float16 cannot rewrite a graph with subgraphs (If/Loop, e.g. a merged decoder)`, 'Use the plain decoder (onnx/model.onnx) or leave --kv-dtype unset.');
  }
  const renamed = new Map<string, string>();
  for (let i = 0; i < spec.numLayers; i++) for (const kind of ['key', 'value'] as const) renamed.set(`past_key_values.${i}.${kind}`, `llmbench.past_f32.${i}.${kind}`);
  for (const n of nodes) n.input = (n.input ?? []).map((x) => renamed.get(x) ?? x);
  for (const v of graph.input ?? []) {
    if (renamed.has(v.name ?? '') && v.type?.tensorType) v.type.tensorType.elemType = DT.FLOAT16;
  }
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const added: NodeProto[] = [...renamed].map(([from, to]) => castTo(from, to, DT.FLOAT, `llmbench_kv16_in_${from}`));
  let sliceSetup = false;
  for (let i = 0; i < spec.numLayers; i++) {
    for (const kind of ['key', 'value'] as const) {
      const present = `present.${i}.${kind}`;
      const n = producer.get(present);
      const axis = Number(n?.attribute?.find((a) => a.name === 'axis')?.i ?? 0);
      let fresh: string;
      if (n && n.opType === 'Concat' && n.input?.length === 2 && n.input[0] === renamed.get(`past_key_values.${i}.${kind}`) && (axis === 2 || axis === -2)) {
        fresh = n.input[1] as string;
      } else {
        // Fused attention: the new part is `present` past the old length.
        if (!sliceSetup) {
          graph.initializer = [...(graph.initializer ?? []), i64('llmbench_kv16_axis2', [2]), i64('llmbench_kv16_end', [2 ** 62])];
          added.push(onnx.NodeProto.create({ name: 'llmbench_kv16_shape', opType: 'Shape', input: ['past_key_values.0.key'], output: ['llmbench_kv16_past_shape'] }));
          added.push(onnx.NodeProto.create({ name: 'llmbench_kv16_len', opType: 'Gather', input: ['llmbench_kv16_past_shape', 'llmbench_kv16_axis2'], output: ['llmbench_kv16_past_len'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] }));
          sliceSetup = true;
        }
        fresh = `llmbench_kv16_slice_${i}_${kind}`;
        added.push(onnx.NodeProto.create({ name: fresh, opType: 'Slice', input: [present, 'llmbench_kv16_past_len', 'llmbench_kv16_end', 'llmbench_kv16_axis2'], output: [fresh] }));
      }
      added.push(castTo(fresh, newKvName(i, kind), DT.FLOAT16, `llmbench_kv16_out_${i}_${kind}`));
    }
  }
  graph.node = [...added.filter((n) => n.opType === 'Cast' && (n.output?.[0] ?? '').startsWith('llmbench.past_f32')), ...nodes, ...added.filter((n) => !(n.opType === 'Cast' && (n.output?.[0] ?? '').startsWith('llmbench.past_f32')))];
  // present.* (float32, a second copy of the batch's cache) are no longer fetched: dropping them as outputs lets
  // onnxruntime free each once attention has read it.
  graph.output = [
    ...(graph.output ?? []).filter((o) => !(o.name ?? '').startsWith('present.')),
    ...Array.from({ length: spec.numLayers }, (_, i) => (['key', 'value'] as const).map((kind) => valueInfo(newKvName(i, kind), DT.FLOAT16, ['batch_size', spec.numKvHeads, 'sequence_length', spec.headDim]))).flat(),
  ];
  return encodeModel(m);
}

function i64(name: string, values: number[]): TensorProto {
  return onnx.TensorProto.create({ name, dataType: DT.INT64, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer) });
}
