// Reads a model's graph inputs and outputs straight from the ONNX bytes, skipping nodes and initializers,
// so the engine can check the graph and decide how to patch it before paying for a session.
import { ModelError } from '../errors.js';
import { onnx } from './builder.js';

/** One graph input or output: name, element type (ONNX enum) and dims (number or symbolic name). */
export interface GraphValue {
  name: string;
  elemType: number;
  dims: Array<number | string>;
}

/** Inputs and outputs of the main graph of a model file. */
export interface GraphSignature {
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** Names of initializers are not listed; inputs that are also initializers are dropped when known. */
  opsetVersion: number | null;
  /** Operator types the graph's nodes use (`domain:op` outside the default domain), read from the node list only. */
  opTypes: Set<string>;
}

const MODEL_GRAPH = 7;
const MODEL_OPSET = 8;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const NODE_DOMAIN = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;

/** Scans ModelProto bytes for the graph's inputs and outputs (merged over repeated graph fields). */
export function readGraphSignature(bytes: Uint8Array, where: string): GraphSignature {
  const inputs: GraphValue[] = [];
  const outputs: GraphValue[] = [];
  const initNames = new Set<string>();
  let opsetVersion: number | null = null;
  const opTypes = new Set<string>();
  try {
    for (const f of fields(bytes, 0, bytes.length)) {
      if (f.field === MODEL_OPSET && f.wire === 2) {
        const op = onnx.OperatorSetIdProto.decode(bytes.subarray(f.start, f.end));
        if (!op.domain || op.domain === 'ai.onnx') opsetVersion = Number(op.version);
      }
      if (f.field !== MODEL_GRAPH || f.wire !== 2) continue;
      for (const g of fields(bytes, f.start, f.end)) {
        if (g.wire !== 2) continue;
        if (g.field === GRAPH_INPUT) inputs.push(toValue(onnx.ValueInfoProto.decode(bytes.subarray(g.start, g.end))));
        else if (g.field === GRAPH_OUTPUT) outputs.push(toValue(onnx.ValueInfoProto.decode(bytes.subarray(g.start, g.end))));
        else if (g.field === GRAPH_INITIALIZER) initNames.add(initializerName(bytes, g.start, g.end));
        else if (g.field === GRAPH_NODE) opTypes.add(nodeOpType(bytes, g.start, g.end));
      }
    }
  } catch (e) {
    throw new ModelError(`${where}: not a readable ONNX model (${(e as Error).message})`);
  }
  if (inputs.length === 0 && outputs.length === 0) throw new ModelError(`${where}: not an ONNX model (no graph inputs or outputs found)`);
  return { inputs: inputs.filter((v) => !initNames.has(v.name)), outputs, opsetVersion, opTypes };
}

/** ONNX element type enum -> the type name onnxruntime uses. */
export function elemTypeName(elemType: number): string {
  const DT = onnx.TensorProto.DataType;
  const names: Record<number, string> = {
    [DT.FLOAT]: 'float32',
    [DT.FLOAT16]: 'float16',
    [DT.INT64]: 'int64',
    [DT.INT32]: 'int32',
    [DT.BOOL]: 'bool',
    [DT.DOUBLE]: 'float64',
  };
  return names[elemType] ?? `type${elemType}`;
}

function toValue(v: ReturnType<typeof onnx.ValueInfoProto.decode>): GraphValue {
  const t = v.type?.tensorType;
  const dims = (t?.shape?.dim ?? []).map((d: { dimParam?: string | null; dimValue?: unknown }) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : '?'));
  return { name: v.name, elemType: t?.elemType ?? 0, dims };
}

/** Only the name (field 1) of a TensorProto, without touching its data. */
function initializerName(bytes: Uint8Array, start: number, end: number): string {
  for (const f of fields(bytes, start, end)) {
    if (f.field === 8 && f.wire === 2) return new TextDecoder().decode(bytes.subarray(f.start, f.end));
  }
  return '';
}

/** A node's op type, prefixed with its domain when that is not the default one (`com.microsoft:GroupQueryAttention`). */
function nodeOpType(bytes: Uint8Array, start: number, end: number): string {
  let op = '';
  let domain = '';
  for (const f of fields(bytes, start, end)) {
    if (f.wire !== 2) continue;
    if (f.field === NODE_OP_TYPE) op = new TextDecoder().decode(bytes.subarray(f.start, f.end));
    else if (f.field === NODE_DOMAIN) domain = new TextDecoder().decode(bytes.subarray(f.start, f.end));
  }
  return domain && domain !== 'ai.onnx' ? `${domain}:${op}` : op;
}

interface Field {
  field: number;
  wire: number;
  /** Payload bounds for length-delimited fields. */
  start: number;
  end: number;
}

/** Iterates the top-level fields of a protobuf message in bytes[start, end). */
function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [key, p1] = varint(bytes, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    pos = p1;
    if (wire === 0) {
      pos = varint(bytes, pos)[1];
      yield { field, wire, start: pos, end: pos };
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [len, p2] = varint(bytes, pos);
      pos = p2 + len;
      if (pos > end) throw new Error('truncated field');
      yield { field, wire, start: p2, end: pos };
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

function varint(bytes: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = bytes[pos + i];
    if (b === undefined) throw new Error('truncated varint');
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos + i + 1];
    mul *= 128;
  }
  throw new Error('bad varint');
}
