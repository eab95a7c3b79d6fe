// Optimum's merged decoders (decoder_model_merged.onnx) hold the no-cache and the with-cache decoder as the two
// branches of an `If` on a boolean `use_cache_branch` input, both reading the outer graph's weights. The engine
// always has a cache: a row's first step feeds a zero-length past, which is what the with-cache branch computes
// the no-cache result from (optimum and transformers.js feed an empty past on the first step too). So at load
// the If is replaced by its then-branch (with cache) and use_cache_branch is dropped: the graph the engine, the
// KV patch (graphPatch.ts, which cannot reach inside a subgraph) and the layer splitter see is a plain
// with-past decoder, and the else-branch's nodes are never loaded.
import { ModelError } from '../errors.js';
import { decodeModel, DT, encodeModel, type GraphProto, type NodeProto } from './builder.js';
import { readGraphSignature } from './graphIo.js';

/** The boolean input optimum's merge adds (true: with-cache branch). */
export const USE_CACHE_BRANCH = 'use_cache_branch';

/** Whether model bytes are a merged decoder (a graph input named use_cache_branch). */
export function isMergedDecoder(bytes: Uint8Array, where: string): boolean {
  return readGraphSignature(bytes, where).inputs.some((v) => v.name === USE_CACHE_BRANCH);
}

/** The bytes unchanged, or, for a merged decoder, the with-cache decoder lifted out of its If. */
export function withoutCacheBranch(bytes: Uint8Array, where: string): Uint8Array {
  return isMergedDecoder(bytes, where) ? flattenMergedDecoder(bytes, where) : bytes;
}

/** Replaces the If on use_cache_branch by its then-branch's nodes; throws ModelError when the graph is not of that shape. */
export function flattenMergedDecoder(bytes: Uint8Array, where: string): Uint8Array {
  const model = decodeModel(bytes);
  const graph = model.graph;
  if (!graph) throw new ModelError(`${where}: model has no graph`);
  const nodes = graph.node ?? [];
  const at = nodes.findIndex((n) => n.opType === 'If' && (n.domain ?? '') === '' && (n.input ?? [])[0] === USE_CACHE_BRANCH);
  const help = 'llmbench reads merged decoders as optimum writes them: an If on use_cache_branch whose then_branch is the with-past decoder.';
  if (at < 0) throw new ModelError(`${where}: input ${USE_CACHE_BRANCH} is not the condition of an If node`, help);
  const ifNode = nodes[at] as NodeProto;
  const branch = (ifNode.attribute ?? []).find((a) => a.name === 'then_branch')?.g as GraphProto | undefined;
  if (!branch) throw new ModelError(`${where}: If node ${ifNode.name ?? ''} on ${USE_CACHE_BRANCH} has no then_branch`, help);
  const outs = ifNode.output ?? [];
  const branchOuts = (branch.output ?? []).map((o) => o.name ?? '');
  if (branchOuts.length !== outs.length) {
    throw new ModelError(`${where}: the with-cache branch of ${ifNode.name ?? 'the If'} has ${branchOuts.length} outputs, the If ${outs.length}`, help);
  }

  // Lifted names must not clash with what the outer graph already defines (beyond the If's own outputs).
  const outer = new Set<string>([...(graph.input ?? []).map((v) => v.name ?? ''), ...(graph.initializer ?? []).map((t) => t.name ?? '')]);
  nodes.forEach((n, i) => i !== at && (n.output ?? []).forEach((o) => outer.add(o)));
  for (const n of branch.node ?? []) {
    const clash = (n.output ?? []).find((o) => outer.has(o));
    if (clash) throw new ModelError(`${where}: with-cache branch value "${clash}" is also defined outside the If; cannot lift it`, help);
  }
  for (const t of branch.initializer ?? []) {
    if (outer.has(t.name ?? '')) throw new ModelError(`${where}: with-cache branch initializer "${t.name ?? ''}" shadows an outer one; cannot lift it`, help);
  }
  // A branch output named differently from the If's output is renamed through an Identity.
  const renames: NodeProto[] = [];
  outs.forEach((o, i) => {
    const from = branchOuts[i] as string;
    if (from !== o) renames.push({ opType: 'Identity', domain: '', name: `llmbench_lift_${o}`, input: [from], output: [o] });
  });
  graph.node = [...nodes.slice(0, at), ...(branch.node ?? []), ...renames, ...nodes.slice(at + 1)];
  graph.initializer = [...(graph.initializer ?? []), ...(branch.initializer ?? [])];
  graph.valueInfo = [...(graph.valueInfo ?? []), ...(branch.valueInfo ?? [])];
  graph.input = (graph.input ?? []).filter((v) => v.name !== USE_CACHE_BRANCH);
  // Anything else reading the switch (rare: a second If) sees the constant true the engine would have fed.
  if (graph.node.some((n) => readsName(n, USE_CACHE_BRANCH))) {
    graph.initializer.push({ name: USE_CACHE_BRANCH, dataType: DT.BOOL, dims: [1], rawData: new Uint8Array([1]) });
  }
  return encodeModel(model);
}

/** Whether a node, or a subgraph of it, reads `name`. */
function readsName(n: NodeProto, name: string): boolean {
  if ((n.input ?? []).includes(name)) return true;
  for (const a of n.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) if (g && (g.node ?? []).some((m) => readsName(m, name))) return true;
  }
  return false;
}
