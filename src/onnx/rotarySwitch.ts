// Refuses decoder graphs whose rotary caches are switched by an If on the sequence length: the model builder's
// "longrope" exports (Phi-3 128k and friends) pick long-factor cos/sin caches when the attention mask is wider
// than the original context. In llmbench's slot KV cache that width is the stride the whole batch is padded
// to, not a row's length, so a short row batched with a long one (or any row once the stride passes the
// threshold early) would be rotated with the wrong frequencies: wrong tokens, silently. Refused by name instead.
import { ModelError } from '../errors.js';
import { decodeModel, type NodeProto } from './builder.js';

/** Cache inputs of the attention ops, by op type: input index -> what it is. */
const ROTARY_CACHE_INPUTS: Record<string, Record<number, string>> = {
  GroupQueryAttention: { 7: 'cos_cache', 8: 'sin_cache' },
  RotaryEmbedding: { 2: 'cos_cache', 3: 'sin_cache' },
};

/** Throws ModelError when a top-level If node's outputs reach an attention op's rotary cache inputs. */
export function checkNoRotarySwitch(bytes: Uint8Array, where: string): void {
  const graph = decodeModel(bytes).graph;
  const nodes = graph?.node ?? [];
  const consumers = new Map<string, Array<{ node: NodeProto; index: number }>>();
  for (const n of nodes) (n.input ?? []).forEach((name, index) => consumers.set(name, [...(consumers.get(name) ?? []), { node: n, index }]));
  for (const ifNode of nodes.filter((n) => n.opType === 'If' && (n.domain ?? '') === '')) {
    const reached = rotaryCacheReached(ifNode, consumers);
    if (!reached) continue;
    throw new ModelError(
      `${where}: If node "${ifNode.name ?? ''}" chooses the ${reached.what} of ${reached.op} "${reached.node}" by sequence length (longrope rotary scaling, as in Phi-3 128k exports); not supported`,
      "The switch reads the attention mask's width, which in llmbench's KV cache is the batch's padded stride, not each row's length, so rows would be rotated with the wrong frequencies. Supported: rotary caches fixed at export (rope_scaling default, linear, llama3, yarn), e.g. the model's short-context (4k) export.",
    );
  }
}

/** Follows an If's outputs downstream (through any op but attention itself) to a rotary cache input. */
function rotaryCacheReached(ifNode: NodeProto, consumers: Map<string, Array<{ node: NodeProto; index: number }>>): { what: string; op: string; node: string } | null {
  const queue = [...(ifNode.output ?? [])];
  const seen = new Set<string>(queue);
  while (queue.length > 0) {
    const value = queue.shift() as string;
    for (const { node, index } of consumers.get(value) ?? []) {
      const cacheInputs = ROTARY_CACHE_INPUTS[node.opType ?? ''];
      if (cacheInputs) {
        const what = cacheInputs[index];
        if (what) return { what, op: node.opType ?? '', node: node.name ?? '' };
        continue;
      }
      for (const o of node.output ?? []) {
        if (!seen.has(o)) {
          seen.add(o);
          queue.push(o);
        }
      }
    }
  }
  return null;
}
