// Element types of a graph's intermediate tensors, inferred forward from inputs, initializers and
// per-operator rules. A split stage must declare the type of every tensor it receives, and generated
// graphs carry no value_info, so the splitter needs this; shapes are left symbolic.
import { DT, type GraphProto, type NodeProto } from '../onnx/builder.js';

type Rule = (inTypes: (number | undefined)[], node: NodeProto) => (number | undefined)[];

const same0: Rule = (t) => [t[0]];
const fixed =
  (...types: number[]): Rule =>
  () =>
    types;

const BOOL_OPS = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf'];
const INT64_OPS = ['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero'];
/** Ops whose every output has input 0's type (elementwise, shape moves, normalization, attention kernels). */
const SAME_AS_INPUT0 = [
  'Abs', 'Add', 'Attention', 'AveragePool', 'BiasGelu', 'Ceil', 'Clip', 'Concat', 'Cos', 'CumSum', 'Div', 'Dropout', 'Einsum', 'Elu',
  'EmbedLayerNormalization', 'Erf', 'Exp', 'Expand', 'FastGelu', 'Flatten', 'Floor', 'Gather', 'GatherElements', 'GatherND', 'Gelu',
  'Gemm', 'GroupQueryAttention', 'HardSigmoid', 'Identity', 'LayerNormalization', 'LeakyRelu', 'Log', 'LogSoftmax', 'MatMul',
  'MatMulNBits', 'Max', 'Mean', 'Min', 'Mod', 'Mul', 'MultiHeadAttention', 'Neg', 'Pad', 'Pow', 'QuickGelu', 'Range', 'Reciprocal',
  'ReduceL2', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'Relu', 'Reshape', 'Resize',
  'RotaryEmbedding', 'Round', 'ScatterElements', 'ScatterND', 'Sigmoid', 'Sign', 'SimplifiedLayerNormalization', 'Sin', 'SkipLayerNormalization',
  'SkipSimplifiedLayerNormalization', 'Slice', 'Softmax', 'Softplus', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Sum', 'Tanh', 'Tile', 'Transpose',
  'Trilu', 'Unsqueeze',
];

const RULES = new Map<string, Rule>([
  ...BOOL_OPS.map((op): [string, Rule] => [op, fixed(DT.BOOL)]),
  ...INT64_OPS.map((op): [string, Rule] => [op, fixed(DT.INT64)]),
  ...SAME_AS_INPUT0.map((op): [string, Rule] => [op, same0]),
  ['Where', (t) => [t[1] ?? t[2]]],
  ['CastLike', (t) => [t[1]]],
  ['Cast', (_t, n) => [attrInt(n, 'to')]],
  ['ConstantOfShape', (_t, n) => [attrTensor(n, 'value')?.dataType ?? DT.FLOAT]],
  ['Constant', (_t, n) => [constantType(n)]],
  ['TopK', (t) => [t[0], DT.INT64]],
  ['DynamicQuantizeLinear', fixed(DT.UINT8, DT.FLOAT, DT.UINT8)],
  ['QuantizeLinear', (t) => [t[2] ?? DT.UINT8]],
  ['DequantizeLinear', (t) => [t[1] ?? DT.FLOAT]],
  ['MatMulInteger', fixed(DT.INT32)],
  ['ConvInteger', fixed(DT.INT32)],
  ['MatMulIntegerToFloat', (t) => [t[2] ?? DT.FLOAT]],
  ['DynamicQuantizeMatMul', (t) => [t[0]]],
  ['QLinearMatMul', (t) => [t[7]]],
  ['GatherBlockQuantized', (t) => [t[2]]],
]);

/**
 * Element type (ONNX TensorProto.DataType) of every tensor the type rules can reach: graph inputs,
 * initializers, value_info entries, then node outputs in order. Tensors of unknown ops stay absent.
 */
export function inferElemTypes(graph: GraphProto, orderedNodes: readonly NodeProto[]): Map<string, number> {
  const types = new Map<string, number>();
  for (const vi of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const t = vi.type?.tensorType?.elemType;
    if (vi.name && t) types.set(vi.name, t);
  }
  for (const init of graph.initializer ?? []) if (init.name && init.dataType) types.set(init.name, init.dataType);
  for (const node of orderedNodes) {
    const rule = RULES.get(node.opType ?? '');
    if (!rule) continue;
    const inTypes = (node.input ?? []).map((name) => (name ? types.get(name) : undefined));
    const outTypes = rule(inTypes, node);
    for (const [i, name] of (node.output ?? []).entries()) {
      // Ops like Split and DynamicQuantizeLinear list per-output types; the others give one for all.
      const t = outTypes.length > 1 ? outTypes[i] : outTypes[0];
      if (name && t !== undefined && !types.has(name)) types.set(name, t);
    }
  }
  return types;
}

function attrInt(n: NodeProto, name: string): number | undefined {
  const a = n.attribute?.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? undefined : Number(a.i);
}

function attrTensor(n: NodeProto, name: string): { dataType?: number | null } | undefined {
  return n.attribute?.find((x) => x.name === name)?.t ?? undefined;
}

function constantType(n: NodeProto): number | undefined {
  for (const a of n.attribute ?? []) {
    switch (a.name) {
      case 'value':
        return a.t?.dataType ?? undefined;
      case 'value_float':
      case 'value_floats':
        return DT.FLOAT;
      case 'value_int':
      case 'value_ints':
        return DT.INT64;
      case 'value_string':
      case 'value_strings':
        return DT.STRING;
    }
  }
  return undefined;
}
