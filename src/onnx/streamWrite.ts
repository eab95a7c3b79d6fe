// Writes a ModelProto whose top-graph weights are spans in a WeightStore as one .onnx file, copying each
// weight from disk to disk a chunk at a time. The bytes are exactly what protobufjs would encode for the same
// model with every weight in memory: protobufjs writes a message's fields in field-number order, so a message
// is the encoding of its fields before the streamed one, the streamed field, and the encoding of those after.
import { closeSync, openSync } from 'node:fs';
import { onnx, type GraphProto, type ModelProto, type TensorProto } from './builder.js';
import { writeAll, type WeightStore } from './weightStore.js';

/** ModelProto fields numbered below `graph` (7); every other field is numbered above it. */
const MODEL_BEFORE_GRAPH = ['irVersion', 'producerName', 'producerVersion', 'domain', 'modelVersion', 'docString'];
/** GraphProto fields numbered below `initializer` (5). */
const GRAPH_BEFORE_INITIALIZER = ['node', 'name'];
/** TensorProto fields numbered below `raw_data` (9). */
const TENSOR_BEFORE_RAW = ['dims', 'dataType', 'segment', 'floatData', 'int32Data', 'stringData', 'int64Data', 'name'];

const TAG_MODEL_GRAPH = (7 << 3) | 2;
const TAG_GRAPH_INITIALIZER = (5 << 3) | 2;
const TAG_TENSOR_RAW = (9 << 3) | 2;

/** The object's own fields split into those named in `before` and the rest (minus `skip`). */
function splitFields<T extends object>(msg: T, before: readonly string[], skip: string): [Partial<T>, Partial<T>] {
  const head: Record<string, unknown> = {};
  const tail: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (k === skip) continue;
    (before.includes(k) ? head : tail)[k] = v;
  }
  return [head as Partial<T>, tail as Partial<T>];
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** One piece of the output: bytes in memory, or a tensor's raw data copied from its span. */
type Piece = Uint8Array | { tensor: TensorProto; length: number };

/** A length-delimited field: tag, length, then the pieces. */
function delimited(tag: number, body: Piece[]): Piece[] {
  return [varint(tag), varint(sizeOf(body)), ...body];
}

function sizeOf(pieces: Piece[]): number {
  return pieces.reduce((a, p) => a + (p instanceof Uint8Array ? p.byteLength : p.length), 0);
}

function tensorPieces(t: TensorProto, store: WeightStore): Piece[] {
  const span = store.span(t);
  if (!span) return [onnx.TensorProto.encode(t).finish()];
  const [head, tail] = splitFields(t, TENSOR_BEFORE_RAW, 'rawData');
  return [onnx.TensorProto.encode(head).finish(), ...delimited(TAG_TENSOR_RAW, [{ tensor: t, length: span.length }]), onnx.TensorProto.encode(tail).finish()];
}

function graphPieces(g: GraphProto, store: WeightStore): Piece[] {
  const [head, tail] = splitFields(g, GRAPH_BEFORE_INITIALIZER, 'initializer');
  const inits = (g.initializer ?? []).flatMap((t) => delimited(TAG_GRAPH_INITIALIZER, tensorPieces(t, store)));
  return [onnx.GraphProto.encode(head).finish(), ...inits, onnx.GraphProto.encode(tail).finish()];
}

/**
 * Writes `model` to `path`: the graph's weights that `store` holds on disk are copied into the file, the rest
 * encoded from memory. Returns the bytes written. Peak memory: the graph without weights, plus a copy buffer.
 */
export function writeModelStreamed(model: ModelProto, store: WeightStore, path: string): number {
  // create() drops null fields, as encodeModel does.
  const m = onnx.ModelProto.create(model);
  const [head, tail] = splitFields(m, MODEL_BEFORE_GRAPH, 'graph');
  const pieces: Piece[] = [onnx.ModelProto.encode(head).finish(), ...(m.graph ? delimited(TAG_MODEL_GRAPH, graphPieces(m.graph, store)) : []), onnx.ModelProto.encode(tail).finish()];
  const fd = openSync(path, 'w');
  let offset = 0;
  try {
    for (const p of pieces) {
      if (p instanceof Uint8Array) {
        writeAll(fd, p, offset);
        offset += p.byteLength;
      } else offset += store.copyTo(p.tensor, fd, offset);
    }
  } finally {
    closeSync(fd);
  }
  return offset;
}
