// Partitions a KV-cache decoder graph into consecutive stages by layer, without knowing its operators:
// a node belongs to the layer whose cache it touches (past_key_values.{i} / present.{i}), or whose name
// or weights say so (`h.3`, `layers.3`), or else to the latest layer it depends on; nodes that depend on
// no layer (embeddings, the attention-mask subgraph) go to the first stage that needs them. Tensors that
// cross a boundary become stage outputs and later stages' inputs.
import { ModelError } from '../errors.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../onnx/builder.js';
import { inferElemTypes } from './splitElemTypes.js';
import { tensorBytes as bytesFromDims } from '../onnx/tensorData.js';
import { type LayerRange, stageOfLayers } from './splitPlan.js';

/** A tensor one stage hands to later ones. */
export interface CrossingTensor {
  name: string;
  /** ONNX TensorProto.DataType. */
  elemType: number;
  fromStage: number;
  toStages: number[];
}

/** One stage's graph and what flows in and out of it. */
export interface StageGraph {
  index: number;
  firstLayer: number;
  lastLayer: number;
  model: ModelProto;
  /** Original graph inputs this stage takes (caller feeds). */
  inputs: string[];
  /** Original graph outputs this stage produces. */
  outputs: string[];
  /** Tensors received from earlier stages. */
  receives: string[];
  /** Tensors sent to later stages. */
  sends: string[];
  nodeCount: number;
  initializerBytes: number;
}

/** Result of partitioning one graph. */
export interface SplitGraphResult {
  numLayers: number;
  stages: StageGraph[];
  crossings: CrossingTensor[];
  /** Initializers more than one stage uses (each such stage holds a copy). */
  sharedInitializers: { name: string; bytes: number; stages: number[] }[];
}

const KV_INPUT = /^past_key_values\.(\d+)\.(key|value)$/;
const KV_OUTPUT = /^present\.(\d+)\.(key|value)$/;
/** A layer index in a node or weight name: `/transformer/h.3/attn/...`, `model.layers.3.mlp...`, `blocks_3`. */
const LAYER_IN_NAME = /(?:^|[./_])(?:h|layers|layer|blocks|block)[._/](\d+)(?=[./_]|$)/;

/** Number of decoder layers, from the graph's past_key_values inputs (which must be 0..L-1, key and value). */
export function countGraphLayers(graph: GraphProto, where: string): number {
  const layers = new Set<number>();
  for (const vi of graph.input ?? []) {
    const m = KV_INPUT.exec(vi.name ?? '');
    if (m) layers.add(Number(m[1]));
  }
  if (layers.size === 0) {
    throw new ModelError(`${where}: cannot split: the graph has no past_key_values.{i}.key|value inputs`, 'Layer splitting needs a decoder exported with KV cache (Hugging Face names).');
  }
  const n = Math.max(...layers) + 1;
  const inputs = new Set((graph.input ?? []).map((v) => v.name));
  const outputs = new Set((graph.output ?? []).map((v) => v.name));
  for (let i = 0; i < n; i++) {
    for (const kv of ['key', 'value']) {
      if (!inputs.has(`past_key_values.${i}.${kv}`)) throw new ModelError(`${where}: cannot split: input past_key_values.${i}.${kv} is missing`);
      if (!outputs.has(`present.${i}.${kv}`)) throw new ModelError(`${where}: cannot split: output present.${i}.${kv} is missing`);
    }
  }
  return n;
}

/** Thrown when tensors crossing a stage boundary have element types the rules cannot infer. */
export class UnknownElemTypeError extends ModelError {
  constructor(
    where: string,
    readonly names: string[],
  ) {
    super(`${where}: cannot split: element type of ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', ...' : ''} (crossing a stage boundary) is unknown`, 'Add value_info for it to the graph.');
  }
}

/** Nodes in dependency order with who produces and who consumes each tensor. */
interface GraphIndex {
  nodes: NodeProto[];
  producer: Map<string, number>;
  consumers: Map<string, number[]>;
}

/**
 * Splits `model` into one stage per range. `where` names the model in errors; `knownTypes` supplies element
 * types the built-in rules cannot infer (see UnknownElemTypeError).
 */
export function splitGraph(model: ModelProto, ranges: readonly LayerRange[], where: string, knownTypes: ReadonlyMap<string, number> = new Map()): SplitGraphResult {
  const graph = model.graph;
  if (!graph) throw new ModelError(`${where}: model has no graph`);
  if ((graph.sparseInitializer ?? []).length > 0) throw new ModelError(`${where}: cannot split a graph with sparse initializers`);
  const numLayers = countGraphLayers(graph, where);
  const lastRange = ranges[ranges.length - 1];
  if (!lastRange || lastRange.lastLayer !== numLayers - 1) throw new ModelError(`${where}: split ranges do not cover the graph's ${numLayers} layers`);
  for (const n of graph.node ?? []) {
    if (n.attribute?.some((a) => a.g || (a.graphs ?? []).length > 0)) {
      throw new ModelError(
        `${where}: cannot split: node ${n.name || n.opType} (${n.opType}) has a subgraph`,
        'Control flow (If/Loop/Scan, e.g. a merged decoder) cannot be split by layer; export a decoder-with-past model instead.',
      );
    }
  }
  const index = indexGraph(graph, where);
  const { layer, fixed } = assignLayers(index, numLayers, where);
  const stage = refineCut(index, assignStages(index, layer, stageOfLayers(ranges, numLayers)), fixed);
  const types = inferElemTypes(graph, index.nodes);
  const crossings = findCrossings(index, stage, (name) => types.get(name) ?? knownTypes.get(name), where);
  for (const v of graph.output ?? []) {
    if (!index.producer.has(v.name ?? '')) throw new ModelError(`${where}: cannot split: graph output ${v.name} is not computed by any node`);
  }

  // Constants are copied into every stage that reads them rather than passed between stages.
  const stageNodes: number[][] = ranges.map(() => []);
  for (const [i, n] of index.nodes.entries()) {
    const users = isConstant(n) ? constantUsers(index, stage, i, graph, ranges.length - 1) : [stage[i] ?? 0];
    for (const s of users) stageNodes[s]?.push(i);
  }
  const initUsers = new Map<string, Set<number>>();
  const stages = ranges.map((range, s) => {
    const st = buildStage(model, index, stageNodes[s] ?? [], crossings, s, range, (name) => types.get(name) ?? knownTypes.get(name) ?? 0);
    for (const t of st.model.graph?.initializer ?? []) initUsers.set(t.name ?? '', (initUsers.get(t.name ?? '') ?? new Set()).add(s));
    return st;
  });
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const sharedInitializers = [...initUsers.entries()]
    .filter(([, users]) => users.size > 1)
    .map(([name, users]) => ({ name, bytes: tensorBytes(initializers.get(name) ?? {}), stages: [...users].sort((a, b) => a - b) }));
  return { numLayers, stages, crossings, sharedInitializers };
}

function indexGraph(graph: GraphProto, where: string): GraphIndex {
  const nodes = topoOrder(graph.node ?? [], graph, where);
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  for (const [i, n] of nodes.entries()) {
    for (const o of n.output ?? []) if (o) producer.set(o, i);
    for (const t of new Set(n.input ?? [])) {
      if (!t) continue;
      const list = consumers.get(t);
      if (list) list.push(i);
      else consumers.set(t, [i]);
    }
  }
  return { nodes, producer, consumers };
}

/**
 * Layer of every node (-1: depends on no layer). Cache edges fix a node's layer; otherwise a layer named
 * by the node or its weights is taken when dependencies allow it, else the latest layer it depends on.
 */
function assignLayers({ nodes, producer, consumers }: GraphIndex, numLayers: number, where: string): { layer: number[]; fixed: boolean[] } {
  const kvLayer = nodes.map((n, i) => kvSeed(n, i, where));
  // Earliest cache-fixed layer downstream of each node: a name hint may not pull a node past it.
  const down = new Array<number>(nodes.length).fill(numLayers);
  for (let i = nodes.length - 1; i >= 0; i--) {
    let d = kvLayer[i] ?? numLayers;
    for (const o of nodes[i]?.output ?? []) for (const c of consumers.get(o) ?? []) d = Math.min(d, down[c] ?? numLayers);
    down[i] = d;
  }
  const layer = new Array<number>(nodes.length).fill(-1);
  const fixed = new Array<boolean>(nodes.length).fill(false);
  for (const [i, n] of nodes.entries()) {
    let up = -1;
    for (const t of n.input ?? []) {
      const p = t ? producer.get(t) : undefined;
      if (p !== undefined) up = Math.max(up, layer[p] ?? -1);
    }
    const seed = kvLayer[i];
    if (seed !== undefined) {
      if (up > seed) throw new ModelError(`${where}: cannot split: node ${n.name || n.opType} of layer ${seed} depends on layer ${up}`, 'The graph is not a sequence of layers.');
      layer[i] = seed;
      fixed[i] = true;
      continue;
    }
    const hint = nameHint(n, numLayers);
    fixed[i] = hint !== undefined && hint >= up && hint <= (down[i] ?? numLayers);
    layer[i] = fixed[i] ? (hint as number) : up;
  }
  return { layer, fixed };
}

/**
 * Stage of every node: its layer's stage, or for layer-free nodes (embeddings, the mask subgraph) the
 * earliest stage that consumes them. Nodes after the last layer (final norm, LM head) depend on it, so
 * they land in the last stage.
 */
function assignStages({ nodes, consumers }: GraphIndex, layer: readonly number[], stageOfLayer: readonly number[]): number[] {
  const stage = new Array<number>(nodes.length).fill(0);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const l = layer[i] ?? -1;
    if (l >= 0) {
      stage[i] = stageOfLayer[l] ?? 0;
      continue;
    }
    let s = Number.POSITIVE_INFINITY;
    for (const o of nodes[i]?.output ?? []) for (const c of consumers.get(o) ?? []) s = Math.min(s, stage[c] ?? 0);
    stage[i] = Number.isFinite(s) ? s : 0;
  }
  return stage;
}

/**
 * Moves nodes that nothing pins (no cache edge, no layer name) to the stage of their consumers when that
 * passes fewer tensors between stages. Without names, a layer's first nodes (norm, q/k/v projection) sit
 * with the previous layer and their outputs cross; moved, only the residual stream does. Moves that tie
 * are taken to walk back through such chains; the result is kept only if the total went down.
 */
function refineCut({ nodes, producer, consumers }: GraphIndex, initial: readonly number[], fixed: readonly boolean[]): number[] {
  const stage = [...initial];
  const pairs = (t: string): number => {
    const p = producer.get(t);
    if (p === undefined) return 0;
    const targets = new Set((consumers.get(t) ?? []).map((c) => stage[c] ?? 0));
    targets.delete(stage[p] ?? 0);
    return targets.size;
  };
  const total = (): number => nodes.reduce((a, n) => a + (n.output ?? []).reduce((b, o) => b + pairs(o), 0), 0);
  const before = total();
  for (let round = 0, moved = true; moved && round < 8; round++) {
    moved = false;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (!n || fixed[i] || isConstant(n)) continue;
      const a = stage[i] ?? 0;
      let b = Number.POSITIVE_INFINITY;
      for (const o of n.output ?? []) for (const c of consumers.get(o) ?? []) b = Math.min(b, stage[c] ?? 0);
      if (!Number.isFinite(b) || b <= a) continue;
      const touched = [...new Set([...(n.input ?? []), ...(n.output ?? [])])].filter((t) => t !== '');
      const cost = touched.reduce((x, t) => x + pairs(t), 0);
      stage[i] = b;
      if (touched.reduce((x, t) => x + pairs(t), 0) > cost) stage[i] = a;
      else moved = true;
    }
  }
  return total() < before ? stage : [...initial];
}

/** Tensors produced in one stage and read in a later one (never an earlier one). */
function findCrossings({ nodes, consumers }: GraphIndex, stage: readonly number[], typeOf: (name: string) => number | undefined, where: string): CrossingTensor[] {
  const crossings = new Map<string, CrossingTensor>();
  const unknown: string[] = [];
  for (const [i, n] of nodes.entries()) {
    if (isConstant(n)) continue;
    const from = stage[i] ?? 0;
    for (const o of n.output ?? []) {
      for (const c of consumers.get(o) ?? []) {
        const to = stage[c] ?? 0;
        if (to < from) throw new ModelError(`${where}: cannot split: ${o} flows from stage ${from} back to stage ${to}`);
        if (to === from) continue;
        const elemType = typeOf(o);
        if (elemType === undefined) {
          if (!unknown.includes(o)) unknown.push(o);
          continue;
        }
        const x = crossings.get(o) ?? { name: o, elemType, fromStage: from, toStages: [] };
        if (!x.toStages.includes(to)) x.toStages.push(to);
        crossings.set(o, x);
      }
    }
  }
  if (unknown.length > 0) throw new UnknownElemTypeError(where, unknown);
  return [...crossings.values()];
}

/** One stage's graph: its nodes, the initializers they read, original inputs/outputs and crossing tensors. */
function buildStage(
  model: ModelProto,
  { nodes }: GraphIndex,
  idx: readonly number[],
  crossings: readonly CrossingTensor[],
  s: number,
  range: LayerRange,
  elemTypeOf: (name: string) => number,
): StageGraph {
  const graph = model.graph ?? {};
  const own = new Set(idx.flatMap((i) => nodes[i]?.output ?? []));
  const used = new Set(idx.flatMap((i) => nodes[i]?.input ?? []).filter((t) => t !== ''));
  const inputs = (graph.input ?? []).map((v) => v.name ?? '').filter((name) => used.has(name));
  const outputs = (graph.output ?? []).map((v) => v.name ?? '').filter((name) => own.has(name));
  const receives = crossings.filter((x) => x.toStages.includes(s)).map((x) => x.name);
  const sends = crossings.filter((x) => x.fromStage === s).map((x) => x.name);
  const inits = (graph.initializer ?? []).filter((t) => used.has(t.name ?? '') && !own.has(t.name ?? ''));
  const valueInfos = new Map<string, ValueInfoProto>();
  for (const vi of [...(graph.valueInfo ?? []), ...(graph.input ?? []), ...(graph.output ?? [])]) if (vi.name) valueInfos.set(vi.name, vi);
  const typed = (name: string): ValueInfoProto => valueInfos.get(name) ?? { name, type: { tensorType: { elemType: elemTypeOf(name) } } };
  // A crossing tensor that is also an original output is declared once and both returned and sent.
  const declaredOutputs = [...outputs, ...sends.filter((n) => !outputs.includes(n))];
  const stageGraph: GraphProto = {
    name: `${graph.name || 'graph'}_stage${s}`,
    node: idx.map((i) => nodes[i] ?? {}),
    initializer: inits,
    input: [...inputs, ...receives].map(typed),
    output: declaredOutputs.map(typed),
    valueInfo: (graph.valueInfo ?? []).filter((vi) => vi.name && own.has(vi.name) && !declaredOutputs.includes(vi.name)),
  };
  return {
    index: s,
    firstLayer: range.firstLayer,
    lastLayer: range.lastLayer,
    model: { ...model, graph: stageGraph, producerName: 'llmbench-split' },
    inputs,
    outputs,
    receives,
    sends,
    nodeCount: idx.length,
    initializerBytes: inits.reduce((a, t) => a + tensorBytes(t), 0),
  };
}

function isConstant(n: NodeProto | undefined): boolean {
  return n?.opType === 'Constant' && (n.input ?? []).length === 0;
}

/** Stages that read a Constant node's output (the last stage too if it is a graph output). */
function constantUsers({ nodes, consumers }: GraphIndex, stage: readonly number[], i: number, graph: GraphProto, lastStage: number): number[] {
  const users = new Set<number>();
  const outs = nodes[i]?.output ?? [];
  for (const o of outs) for (const c of consumers.get(o) ?? []) users.add(stage[c] ?? 0);
  if ((graph.output ?? []).some((v) => outs.includes(v.name ?? ''))) users.add(lastStage);
  return [...users];
}

/** Bytes of an initializer's data (raw or typed fields; from its dims when the bytes are still on disk). */
export function tensorBytes(t: TensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  const ext = t.externalData?.find((e) => e.key === 'length');
  if (ext?.value) return Number(ext.value);
  const typed =
    (t.floatData?.length ?? 0) * 4 +
    (t.int32Data?.length ?? 0) * 4 +
    (t.int64Data?.length ?? 0) * 8 +
    (t.doubleData?.length ?? 0) * 8 +
    (t.uint64Data?.length ?? 0) * 8 +
    (t.stringData ?? []).reduce((a, s) => a + s.length, 0);
  return typed || bytesFromDims(t);
}

function kvSeed(n: NodeProto, index: number, where: string): number | undefined {
  const found = new Set<number>();
  for (const t of n.input ?? []) {
    const m = KV_INPUT.exec(t);
    if (m) found.add(Number(m[1]));
  }
  for (const t of n.output ?? []) {
    const m = KV_OUTPUT.exec(t);
    if (m) found.add(Number(m[1]));
  }
  if (found.size > 1) throw new ModelError(`${where}: cannot split: node ${n.name || `#${index}`} (${n.opType}) touches the caches of layers ${[...found].join(', ')}`);
  return found.values().next().value;
}

/** Layer named by the node or its weights (`h.3`, `layers.3`), if exactly one layer is named. */
function nameHint(n: NodeProto, numLayers: number): number | undefined {
  const found = new Set<number>();
  for (const s of [n.name ?? '', ...(n.input ?? [])]) {
    const m = LAYER_IN_NAME.exec(s);
    if (m && Number(m[1]) < numLayers) found.add(Number(m[1]));
  }
  return found.size === 1 ? found.values().next().value : undefined;
}

/** Nodes in dependency order (ONNX requires it; checked rather than assumed). */
function topoOrder(nodes: NodeProto[], graph: GraphProto, where: string): NodeProto[] {
  const available = new Set<string>([...(graph.input ?? []).map((v) => v.name ?? ''), ...(graph.initializer ?? []).map((t) => t.name ?? ''), '']);
  const ready = (n: NodeProto): boolean => (n.input ?? []).every((t) => available.has(t));
  if (nodes.every((n) => (ready(n) ? ((n.output ?? []).forEach((o) => available.add(o)), true) : false))) return nodes;
  // Not stored in order: Kahn-style passes until no node can be placed.
  available.clear();
  for (const t of [...(graph.input ?? []).map((v) => v.name ?? ''), ...(graph.initializer ?? []).map((t) => t.name ?? ''), '']) available.add(t);
  const out: NodeProto[] = [];
  let pending = [...nodes];
  while (pending.length > 0) {
    const next = pending.filter((n) => !ready(n));
    const placed = pending.filter(ready);
    if (placed.length === 0) throw new ModelError(`${where}: cannot split: node ${pending[0]?.name || pending[0]?.opType} has an input no node produces`);
    for (const n of placed) {
      out.push(n);
      for (const o of n.output ?? []) available.add(o);
    }
    pending = next;
  }
  return out;
}
