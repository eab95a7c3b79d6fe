// Decodes ModelProto bytes whose `graph` field occurs more than once (the engine appends its extra outputs
// that way). Protobuf says repeated occurrences of a message field merge, but protobufjs keeps only the
// last one, so the splitter merges them itself.
import { ModelError } from '../errors.js';
import { decodeModel, type GraphProto, type ModelProto, onnx } from '../onnx/builder.js';

const MODEL_GRAPH = 7;

/** Decodes a model, merging every occurrence of its graph field (repeated fields concatenated). */
export function decodeModelMerged(bytes: Uint8Array, where: string): ModelProto {
  const model = decodeModel(bytes);
  const graphs = graphFieldRanges(bytes, where);
  if (graphs.length <= 1) return model;
  const merged: GraphProto = {};
  for (const [start, end] of graphs) mergeGraph(merged, onnx.GraphProto.decode(bytes.subarray(start, end)));
  model.graph = onnx.GraphProto.create(merged);
  return model;
}

function mergeGraph(into: GraphProto, g: GraphProto): void {
  const target = into as Record<string, unknown>;
  for (const [key, v] of Object.entries(g)) {
    if (Array.isArray(v)) target[key] = [...((target[key] as unknown[] | undefined) ?? []), ...v];
    else if (v !== undefined && typeof v !== 'function') target[key] = v;
  }
}

/** [start, end) byte ranges of every top-level `graph` field. */
function graphFieldRanges(bytes: Uint8Array, where: string): [number, number][] {
  const out: [number, number][] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new ModelError(`${where}: truncated ONNX file`);
      const b = bytes[pos++] ?? 0;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new ModelError(`${where}: malformed ONNX file`);
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      if (field === MODEL_GRAPH) out.push([pos, pos + len]);
      pos += len;
    } else throw new ModelError(`${where}: malformed ONNX file (wire type ${wire})`);
  }
  if (pos !== bytes.length) throw new ModelError(`${where}: truncated ONNX file`);
  return out;
}
