// The llama fixture as optimum's merged decoder (`decoder_model_merged.onnx`): one graph whose only node is an
// `If` on a boolean `use_cache_branch` input; its then-branch is the with-past decoder and its else-branch the
// no-past one. Both branches declare no inputs or initializers of their own: they read the outer graph's
// inputs and its single copy of the weights by name (ONNX outer-scope references), as optimum's merge writes
// them (the If node is named `optimum::if`, subgraphs `with_past` / `no_past`, outputs keep their names).
import { DT, onnx, type GraphProto, type ModelProto, valueInfo } from '../onnx/builder.js';
import { USE_CACHE_BRANCH } from '../onnx/mergedDecoder.js';
import { buildLlamaModel, type LlamaConfig, type LlamaWeights } from './llamaGraph.js';

/** Builds decoder_model_merged for a llama config and weights. */
export function buildMergedLlamaModel(c: LlamaConfig, w: LlamaWeights, dtype: 'float32' | 'float16'): ModelProto {
  const withPast = buildLlamaModel(c, w, dtype, { withPast: true }).graph as GraphProto;
  const noPast = buildLlamaModel(c, w, dtype, { withPast: false }).graph as GraphProto;
  // Same weights and constants in both (same names, same seeded values): the outer graph holds one copy.
  const initializers = new Map((withPast.initializer ?? []).map((t) => [t.name ?? '', t]));
  for (const t of noPast.initializer ?? []) {
    if (!initializers.has(t.name ?? '')) initializers.set(t.name ?? '', t);
  }
  const branch = (g: GraphProto, name: string): GraphProto => ({ name, node: g.node ?? [], output: g.output ?? [], input: [], initializer: [] });
  const ifNode = {
    opType: 'If',
    domain: '',
    name: 'optimum::if',
    input: [USE_CACHE_BRANCH],
    output: (withPast.output ?? []).map((o) => o.name ?? ''),
    attribute: [
      { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(withPast, 'with_past') },
      { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(noPast, 'no_past') },
    ],
  };
  return {
    irVersion: 8,
    producerName: 'llmbench-llama-fixture-merged',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'llama_merged',
      node: [ifNode],
      initializer: [...initializers.values()],
      input: [...(withPast.input ?? []), valueInfo(USE_CACHE_BRANCH, DT.BOOL, [1])],
      output: withPast.output ?? [],
    },
  };
}
