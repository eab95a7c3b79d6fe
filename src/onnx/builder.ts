// A small builder over onnx-proto's protobuf classes: nodes, initializers and value infos with
// deterministic names, so graph code reads like the computation it describes.
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type ModelProto = onnxProto.onnx.IModelProto;

export const DT = onnx.TensorProto.DataType;
type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { graph: GraphProto } | TensorProto;

/** Dimension of a value info: a fixed size or a symbolic name. */
export type Dim = number | string;

/** Accumulates nodes and initializers; `out()` names are unique per builder. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private counter = 0;

  /** A fresh intermediate value name. */
  out(hint: string): string {
    this.counter += 1;
    return `${hint}_${this.counter}`;
  }

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string, domain = ''): string {
    const name = outName ?? this.out(opType.toLowerCase());
    this.opMulti(opType, inputs, [name], attrs, domain);
    return name;
  }

  /** Adds a node with several outputs. */
  opMulti(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, domain = ''): string[] {
    this.nodes.push({
      opType,
      domain,
      name: `${opType}_${this.nodes.length}`,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** Adds a float32 initializer. */
  f32(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(tensorF32(name, dims, data));
    return name;
  }

  /** Adds an int64 initializer (shapes, axes). */
  i64(name: string, values: number[], dims: number[] = [values.length]): string {
    this.initializers.push(tensorI64(name, dims, values));
    return name;
  }

  /** Adds a raw initializer of any element type. */
  raw(name: string, dataType: number, dims: number[], bytes: Uint8Array): string {
    this.initializers.push({ name, dataType, dims, rawData: bytes });
    return name;
  }

  input(name: string, elemType: number, dims: Dim[]): void {
    this.inputs.push(valueInfo(name, elemType, dims));
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  graph(name: string): GraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}

/** A ValueInfoProto for a tensor input/output. */
export function valueInfo(name: string, elemType: number, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Little-endian bytes view of a typed array (copy-free). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function tensorF32(name: string, dims: number[], data: Float32Array): TensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
  return { name, dataType: DT.FLOAT, dims, rawData: bytesOf(data) };
}

export function tensorI64(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dataType: DT.INT64, dims, rawData: bytesOf(BigInt64Array.from(values.map((v) => BigInt(v)))) };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('graph' in v) return { name, type: T.GRAPH, g: v.graph };
  return { name, type: T.TENSOR, t: v };
}

/** Serializes a model to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Parses model bytes. */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
