// The graph rewrite behind `llmbench quantize`: every MatMul whose weight (input 1) is a rank-2 float32
// constant initializer becomes a quantized equivalent; weights nothing else uses are dropped so the output
// holds one copy. Works in place on a decoded ModelProto, including subgraphs (If/Loop bodies of merged
// decoder exports), whose MatMuls may use initializers of an enclosing graph.
import type onnxProto from 'onnx-proto';
import { QuantizeError } from '../errors.js';
import type { QuantMethod } from '../types.js';
import { bytesOf, DT, onnx, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx/builder.js';
import { dimsOf, dtypeName, tensorBytes } from '../onnx/tensorData.js';
import { WeightStore } from '../onnx/weightStore.js';
import { INT8_MAX_CODE, quantizeBlockwise, quantizeBlockwiseRows, quantizeInt8PerColumn, toFloat16Bits } from './quantMath.js';

/** How to quantize. */
export interface QuantizeOptions {
  method: QuantMethod;
  /** Block size along K for int4 / int8-weight (power of two >= 16). */
  blockSize: number;
  /** int4 / int8-weight: symmetric blocks without zero points (default: asymmetric with zero points). */
  symmetric: boolean;
  /** MatMulNBits accuracy_level: 4 (int8 compute) is the fast CPU path; 0 computes in float32. */
  accuracyLevel: number;
  /**
   * int4 / int8-weight: also quantize float embedding tables read by Gather (GatherBlockQuantized, same
   * blocks and bits). The token embedding is the largest tensor left in float after the MatMuls.
   */
  embeddings: boolean;
  /** Weight or node names (substrings) to leave in float, e.g. `lm_head` (quantize_dynamic's nodes_to_exclude). */
  exclude?: readonly string[];
  /** int8: weight codes in 8 bits (-127..127) or 7 bits (-64..64, for CPUs whose int8 dot product saturates). Default 8bit. */
  int8WeightRange?: '7bit' | '8bit';
}

function isExcluded(opts: QuantizeOptions, node: string, weight: string): boolean {
  return (opts.exclude ?? []).some((x) => x !== '' && (node.includes(x) || weight.includes(x)));
}

/** A MatMul (or Gemm) left as it was, and why. */
export interface MatMulSkip {
  node: string;
  weight: string;
  reason: string;
}

/** What the rewrite did. */
export interface GraphQuantizeResult {
  /** MatMuls rewritten. */
  rewritten: number;
  /** Embedding Gathers rewritten to GatherBlockQuantized. */
  gathersRewritten: number;
  skipped: MatMulSkip[];
  /** Float weights dropped because nothing else used them. */
  removedInitializers: number;
  /** Float weights kept because another node still reads them (tied embeddings, a Gather). */
  keptShared: string[];
  weightBytesBefore: number;
  weightBytesAfter: number;
}

const MS_DOMAIN = 'com.microsoft';
const A = onnx.AttributeProto.AttributeType;

interface Scope {
  graph: GraphProto;
  parent: Scope | null;
  inits: Map<string, TensorProto>;
}

/** Every graph in the model, the top one first, each with its enclosing scope. */
function collectScopes(g: GraphProto, parent: Scope | null, out: Scope[]): void {
  const scope: Scope = { graph: g, parent, inits: new Map((g.initializer ?? []).map((t) => [t.name ?? '', t])) };
  out.push(scope);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.g) collectScopes(a.g, scope, out);
      for (const sg of a.graphs ?? []) collectScopes(sg, scope, out);
    }
  }
}

function lookup(scope: Scope, name: string): { t: TensorProto; owner: Scope } | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const t = s.inits.get(name);
    if (t) return { t, owner: s };
  }
  return null;
}

/** Sum of initializer bytes over every graph. */
export function modelWeightBytes(model: ModelProto): number {
  const scopes: Scope[] = [];
  if (model.graph) collectScopes(model.graph, null, scopes);
  let total = 0;
  for (const s of scopes) for (const t of s.inits.values()) total += tensorBytes(t);
  return total;
}

/**
 * Rewrites the model in place; throws QuantizeError when no MatMul can be rewritten. `weights` holds the bytes
 * of weights left on disk and takes the new ones (default: every weight is in memory, and new ones stay there).
 */
export function quantizeGraph(model: ModelProto, opts: QuantizeOptions, weights: WeightStore = new WeightStore()): GraphQuantizeResult {
  if (!model.graph) throw new QuantizeError('the ONNX file has no graph');
  const scopes: Scope[] = [];
  collectScopes(model.graph, null, scopes);
  const weightBytesBefore = modelWeightBytes(model);

  const taken = new Set<string>();
  for (const s of scopes) {
    for (const n of s.graph.node ?? []) for (const v of [...(n.input ?? []), ...(n.output ?? []), n.name ?? '']) taken.add(v);
    for (const name of s.inits.keys()) taken.add(name);
  }
  const fresh = (hint: string): string => {
    let name = hint;
    for (let i = 1; taken.has(name); i++) name = `${hint}_${i}`;
    taken.add(name);
    return name;
  };

  const skipped: MatMulSkip[] = [];
  const replaced = new Set<TensorProto>();
  // A weight used by several MatMuls (tied projections) is quantized once.
  const done = new Map<TensorProto, string[]>();
  const doneTables = new Map<TensorProto, string[]>();
  const weightOnly = opts.method === 'int4' || opts.method === 'int8-weight';
  let rewritten = 0;
  let gathersRewritten = 0;

  for (const scope of scopes) {
    const nodes = scope.graph.node ?? [];
    const out: NodeProto[] = [];
    for (const node of nodes) {
      const isMatMul = node.opType === 'MatMul' && (node.domain ?? '') === '';
      const label = node.name || (node.output ?? [])[0] || node.opType || '?';
      if (node.opType === 'Gemm' && (node.domain ?? '') === '') {
        const w = (node.input ?? [])[1] ?? '';
        if (lookup(scope, w)) skipped.push({ node: label, weight: w, reason: 'Gemm (only MatMul is rewritten)' });
        out.push(node);
        continue;
      }
      if (weightOnly && opts.embeddings && node.opType === 'Gather' && (node.domain ?? '') === '') {
        const table = isExcluded(opts, label, (node.input ?? [])[0] ?? '') ? null : embeddingTable(node, scope, opts);
        if (table && 'reason' in table) skipped.push({ node: label, weight: (node.input ?? [])[0] ?? '', reason: table.reason });
        if (!table || 'reason' in table) {
          out.push(node);
          continue;
        }
        let names = doneTables.get(table.t);
        if (!names) {
          names = addQuantizedTable(table.t, table.V, table.D, opts, table.owner.graph, fresh, weights);
          doneTables.set(table.t, names);
        }
        const attrs = [int('gather_axis', 0), int('quantize_axis', 1), int('block_size', opts.blockSize), int('bits', opts.method === 'int4' ? 4 : 8)];
        const [, indices] = node.input ?? [];
        const [q, scales, zp] = names as [string, string, string | undefined];
        out.push({
          opType: 'GatherBlockQuantized',
          domain: MS_DOMAIN,
          name: fresh(`${label}_GatherBlockQuantized`),
          input: zp ? [q, indices ?? '', scales, zp] : [q, indices ?? '', scales],
          output: node.output ?? [],
          attribute: attrs,
        });
        replaced.add(table.t);
        gathersRewritten++;
        continue;
      }
      if (!isMatMul) {
        out.push(node);
        continue;
      }
      const [x, w] = node.input ?? [];
      const y = (node.output ?? [])[0];
      if (!x || !w || !y) {
        out.push(node);
        continue;
      }
      const found = lookup(scope, w);
      const reason = !found
        ? 'non-constant weight'
        : !quantizableDtype(found.t.dataType, opts)
          ? `weight dtype ${dtypeName(found.t.dataType)}${found.t.dataType === DT.FLOAT16 ? ' (already float16)' : ''}`
          : dimsOf(found.t).length !== 2
            ? `weight rank ${dimsOf(found.t).length}`
            : isExcluded(opts, label, w)
              ? 'excluded (--exclude)'
              : null;
      if (reason || !found) {
        skipped.push({ node: label, weight: w, reason: reason ?? 'non-constant weight' });
        out.push(node);
        continue;
      }
      const [K, N] = dimsOf(found.t) as [number, number];
      let names = done.get(found.t);
      if (!names) {
        names = addQuantizedWeight(found.t, K, N, opts, found.owner.graph, fresh, weights);
        done.set(found.t, names);
      }
      out.push(...rewriteNode(node, x, y, names, K, N, opts, fresh, found.t.dataType === DT.FLOAT16));
      replaced.add(found.t);
      rewritten++;
    }
    scope.graph.node = out;
  }

  if (rewritten === 0 && gathersRewritten === 0) {
    const reasons = new Map<string, number>();
    for (const s of skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
    const why = skipped.length ? [...reasons].map(([r, c]) => `${c} x ${r}`).join(', ') : 'the graph has no MatMul';
    throw new QuantizeError(
      `nothing to quantize: no MatMul with a constant rank-2 float32${opts.method === 'fp16' ? '' : ' or float16'} weight (${why})`,
      `quantize rewrites MatMul nodes whose weight input is a float32 (or, except for --method fp16, float16) initializer; this graph has none, so no quantized copy was written.`,
    );
  }

  // Drop replaced float weights that no remaining node (in any graph) or graph output reads.
  const used = new Set<string>();
  for (const s of scopes) {
    for (const n of s.graph.node ?? []) for (const i of n.input ?? []) used.add(i);
    for (const o of s.graph.output ?? []) used.add(o.name ?? '');
  }
  let removedInitializers = 0;
  const keptShared: string[] = [];
  for (const s of scopes) {
    const keep: TensorProto[] = [];
    for (const t of s.graph.initializer ?? []) {
      if (replaced.has(t) && !used.has(t.name ?? '')) removedInitializers++;
      else {
        if (replaced.has(t)) keptShared.push(t.name ?? '');
        keep.push(t);
      }
    }
    s.graph.initializer = keep;
    // Old exports list initializers as graph inputs too; a removed one must go from there as well.
    const kept = new Set(keep.map((t) => t.name ?? ''));
    s.graph.input = (s.graph.input ?? []).filter((i) => kept.has(i.name ?? '') || !s.inits.has(i.name ?? ''));
  }

  if (weightOnly) {
    const imports = model.opsetImport ?? [];
    if (!imports.some((o) => o.domain === MS_DOMAIN)) model.opsetImport = [...imports, { domain: MS_DOMAIN, version: 1 }];
  }
  return { rewritten, gathersRewritten, skipped, removedInitializers, keptShared, weightBytesBefore, weightBytesAfter: modelWeightBytes(model) };
}

const int = (name: string, i: number): onnxProto.onnx.IAttributeProto => ({ name, type: A.INT, i });

/**
 * float32 weights always; float16 weights (fp16 exports, whose activations are float16 too) for the integer
 * methods: MatMulNBits / GatherBlockQuantized then take float16 scales (their T1 is the activation type), and
 * the int8 pattern computes in float32 between two Casts. --method fp16 of a float16 weight would change nothing.
 */
function quantizableDtype(dataType: number | null | undefined, opts: QuantizeOptions): boolean {
  return dataType === DT.FLOAT || (dataType === DT.FLOAT16 && opts.method !== 'fp16');
}

/** Float scales stored in the weight's own precision (float16 graphs need float16 scales). */
function scaleTensor(values: Float32Array, half: boolean): { dataType: number; data: ArrayBufferView } {
  if (!half) return { dataType: DT.FLOAT, data: values };
  const h = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) h[i] = toFloat16Bits(values[i] as number);
  return { dataType: DT.FLOAT16, data: h };
}

/** The constant float [V, D] table a Gather reads along axis 0; a reason when it cannot be block-quantized; null when not a table. */
function embeddingTable(node: NodeProto, scope: Scope, opts: QuantizeOptions): { t: TensorProto; owner: Scope; V: number; D: number } | { reason: string } | null {
  const found = lookup(scope, (node.input ?? [])[0] ?? '');
  if (!found || !quantizableDtype(found.t.dataType, opts)) return null;
  const dims = dimsOf(found.t);
  if (dims.length !== 2) return null;
  const axis = (node.attribute ?? []).find((a) => a.name === 'axis');
  if (axis && Number(axis.i ?? 0) !== 0) return { reason: 'Gather along axis != 0 (embedding tables are gathered by row)' };
  const [V, D] = dims as [number, number];
  if (D % opts.blockSize !== 0) return { reason: `Gather table row length ${D} is not a multiple of block size ${opts.blockSize}` };
  return { t: found.t, owner: found.owner, V, D };
}

/** A function adding a new initializer named after `base` to `owner`, its bytes handed to `weights`; returns the name. */
function adder(base: string, owner: GraphProto, fresh: (h: string) => string, weights: WeightStore): (hint: string, dataType: number, dims: number[], data: ArrayBufferView) => string {
  return (hint, dataType, dims, data) => {
    const name = fresh(`${base}${hint}`);
    const t: TensorProto = { name, dataType, dims };
    weights.put(t, bytesOf(data), owner);
    owner.initializer = [...(owner.initializer ?? []), t];
    return name;
  };
}

/** Adds the GatherBlockQuantized form of an embedding table (rows blocked along D); returns the new names. */
function addQuantizedTable(t: TensorProto, V: number, D: number, opts: QuantizeOptions, owner: GraphProto, fresh: (h: string) => string, weights: WeightStore): string[] {
  const q = quantizeBlockwiseRows(weights.floats(t), V, D, { bits: opts.method === 'int4' ? 4 : 8, blockSize: opts.blockSize, symmetric: opts.symmetric });
  const base = t.name ?? 'table';
  const add = adder(base, owner, fresh, weights);
  // Same bytes as MatMulNBits' [N, blocks, blob] with N = V, viewed as [V, D * bits / 8].
  const scales = scaleTensor(q.scales, t.dataType === DT.FLOAT16);
  const names = [add('_Q', DT.UINT8, [V, q.blocksPerCol * q.blobBytes], q.packed), add('_scales', scales.dataType, [V, q.blocksPerCol], scales.data)];
  if (q.zeroPoints) names.push(add('_zp', DT.UINT8, [V, q.zeroPoints.length / V], q.zeroPoints));
  return names;
}

/** Adds the quantized form of a weight to the graph that owns it; returns the new initializer names. */
function addQuantizedWeight(t: TensorProto, K: number, N: number, opts: QuantizeOptions, owner: GraphProto, fresh: (h: string) => string, weights: WeightStore): string[] {
  const w = weights.floats(t);
  const base = t.name ?? 'weight';
  const add = adder(base, owner, fresh, weights);
  switch (opts.method) {
    case 'int8': {
      const q = quantizeInt8PerColumn(w, K, N, INT8_MAX_CODE[opts.int8WeightRange ?? '8bit']);
      return [add('_quantized', DT.INT8, [K, N], q.q), add('_scale', DT.FLOAT, [N], q.scales), add('_zero_point', DT.INT8, [N], new Int8Array(N))];
    }
    case 'int4':
    case 'int8-weight': {
      const q = quantizeBlockwise(w, K, N, { bits: opts.method === 'int4' ? 4 : 8, blockSize: opts.blockSize, symmetric: opts.symmetric });
      const scales = scaleTensor(q.scales, t.dataType === DT.FLOAT16);
      const names = [add('_Q', DT.UINT8, [N, q.blocksPerCol, q.blobBytes], q.packed), add('_scales', scales.dataType, [N * q.blocksPerCol], scales.data)];
      if (q.zeroPoints) names.push(add('_zp', DT.UINT8, [q.zeroPoints.length], q.zeroPoints));
      return names;
    }
    case 'fp16': {
      const h = new Uint16Array(w.length);
      for (let i = 0; i < w.length; i++) h[i] = toFloat16Bits(w[i] as number);
      return [add('_fp16', DT.FLOAT16, [K, N], h)];
    }
  }
}

/** The nodes replacing one MatMul (x @ W -> y), reading the quantized weight `names`. */
function rewriteNode(node: NodeProto, x: string, y: string, names: string[], K: number, N: number, opts: QuantizeOptions, fresh: (h: string) => string, half = false): NodeProto[] {
  const base = node.name || y;
  const mk = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = [], domain = ''): NodeProto => ({
    opType,
    domain,
    name: fresh(`${base}_${opType}`),
    input,
    output,
    attribute,
  });
  switch (opts.method) {
    case 'int8': {
      // The exact pattern onnxruntime's quantize_dynamic emits; ORT fuses it into DynamicQuantizeMatMul.
      const [wq, wScale, wZp] = names as [string, string, string];
      const [xq, xScale, xZp] = [fresh(`${x}_quantized`), fresh(`${x}_scale`), fresh(`${x}_zero_point`)];
      const yInt = fresh(`${y}_output_quantized`);
      const scale = fresh(`${base}_scales_mul`);
      const yCast = fresh(`${y}_output_quantized_cast`);
      // DynamicQuantizeLinear takes float32 only: a float16 graph's activation is widened and the result narrowed.
      const xFloat = half ? fresh(`${x}_float`) : x;
      const yFloat = half ? fresh(`${y}_float`) : y;
      return [
        ...(half ? [mk('Cast', [x], [xFloat], [int('to', DT.FLOAT)])] : []),
        mk('DynamicQuantizeLinear', [xFloat], [xq, xScale, xZp]),
        mk('MatMulInteger', [xq, wq, xZp, wZp], [yInt]),
        mk('Mul', [xScale, wScale], [scale]),
        mk('Cast', [yInt], [yCast], [int('to', DT.FLOAT)]),
        mk('Mul', [yCast, scale], [yFloat]),
        ...(half ? [mk('Cast', [yFloat], [y], [int('to', DT.FLOAT16)])] : []),
      ];
    }
    case 'int4':
    case 'int8-weight': {
      const attrs = [int('K', K), int('N', N), int('bits', opts.method === 'int4' ? 4 : 8), int('block_size', opts.blockSize), int('accuracy_level', opts.accuracyLevel)];
      return [mk('MatMulNBits', [x, ...names], [y], attrs, MS_DOMAIN)];
    }
    case 'fp16': {
      // Weight stored as fp16, widened at run time (on CPU ORT folds the Cast at load: smaller file, same RAM).
      const wf = fresh(`${names[0] ?? 'w'}_float`);
      return [mk('Cast', [names[0] ?? ''], [wf], [int('to', DT.FLOAT)]), mk('MatMul', [x, wf], [y])];
    }
  }
}
