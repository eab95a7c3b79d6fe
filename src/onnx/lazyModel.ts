// Reads an ONNX model without its weights: the protobuf is walked in the file, every field but the top
// graph's large raw_data payloads is decoded as usual, and those payloads (and external data) become spans
// in a WeightStore. Memory holds the graph (nodes, names, small tensors), never the weights.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ModelError } from '../errors.js';
import { onnx, type ModelProto, type TensorProto } from './builder.js';
import { allInitializers, externalSpan, inlineExternalData, isExternal } from './tensorData.js';
import type { WeightStore } from './weightStore.js';

/** Inline raw_data below this many bytes is decoded into memory (small tensors are cheaper kept than re-read). */
const LAZY_MIN_BYTES = 4096;
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Reads bytes of a file by position through a small window (the protobuf walk reads tags a few bytes at a time). */
class FileCursor {
  private readonly window = Buffer.allocUnsafe(1 << 16);
  private windowStart = 0;
  private windowEnd = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly where: string,
  ) {}

  byte(): number {
    if (this.pos >= this.size) throw new ModelError(`${this.where}: truncated ONNX file`);
    if (this.pos < this.windowStart || this.pos >= this.windowEnd) {
      this.windowStart = this.pos;
      this.windowEnd = this.pos + readSync(this.fd, this.window, 0, this.window.length, this.pos);
    }
    return this.window[this.pos++ - this.windowStart] as number;
  }

  varint(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 63) throw new ModelError(`${this.where}: malformed ONNX file (varint too long)`);
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
    }
  }

  /** Bytes [start, end) of the file, read now. */
  read(start: number, end: number): Buffer {
    if (end > this.size) throw new ModelError(`${this.where}: truncated ONNX file`);
    const buf = Buffer.allocUnsafe(end - start);
    for (let done = 0; done < buf.length; ) {
      const got = readSync(this.fd, buf, done, buf.length - done, start + done);
      if (got === 0) throw new ModelError(`${this.where}: truncated ONNX file`);
      done += got;
    }
    return buf;
  }

  /** Reads a tag; returns field number, wire type and, for length-delimited fields, the payload's extent. */
  field(): { field: number; wire: number; start: number; end: number } {
    const tag = this.varint();
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_I32) this.pos += 4;
    else if (wire === WIRE_LEN) {
      const len = this.varint();
      const start = this.pos;
      this.pos += len;
      if (this.pos > this.size) throw new ModelError(`${this.where}: truncated ONNX file`);
      return { field, wire, start, end: this.pos };
    } else throw new ModelError(`${this.where}: malformed ONNX file (wire type ${wire})`);
    return { field, wire, start: this.pos, end: this.pos };
  }
}

/**
 * Decodes `onnxPath` with the top graph's weights left on disk: inline raw_data of at least 4 KiB and external
 * data become spans in `store`. Such a tensor has no raw_data in memory, and an external one is marked inline
 * (dataLocation 0, no external_data) as `inlineExternalData` would leave it, so writing the model back gives the
 * same bytes as decoding it whole. `store.graph` becomes the top graph. Subgraph initializers are decoded into memory. Repeated `graph` fields merge.
 */
export function readModelLazy(onnxPath: string, store: WeightStore): ModelProto {
  const fd = openSync(onnxPath, 'r');
  try {
    const cur = new FileCursor(fd, statSync(onnxPath).size, onnxPath);
    const modelRest: Buffer[] = [];
    const graphRest: Buffer[] = [];
    const inits: TensorProto[] = [];
    let sawGraph = false;
    while (cur.pos < cur.size) {
      const tagStart = cur.pos;
      const f = cur.field();
      if (f.field !== MODEL_GRAPH || f.wire !== WIRE_LEN) {
        modelRest.push(cur.read(tagStart, cur.pos));
        continue;
      }
      sawGraph = true;
      cur.pos = f.start;
      while (cur.pos < f.end) {
        const at = cur.pos;
        const g = cur.field();
        if (g.field === GRAPH_INITIALIZER && g.wire === WIRE_LEN) inits.push(readTensor(cur, g.start, g.end, onnxPath, store));
        else graphRest.push(cur.read(at, cur.pos));
      }
      if (cur.pos !== f.end) throw new ModelError(`${onnxPath}: malformed ONNX file (graph field overruns)`);
    }
    if (cur.pos !== cur.size) throw new ModelError(`${onnxPath}: truncated ONNX file`);
    let model: ModelProto;
    try {
      model = onnx.ModelProto.decode(Buffer.concat(modelRest));
      if (sawGraph) {
        const graph = onnx.GraphProto.decode(Buffer.concat(graphRest));
        graph.initializer = inits;
        model.graph = graph;
        store.graph = graph;
      }
    } catch (e) {
      throw new ModelError(`${onnxPath}: not a readable ONNX model (${(e as Error).message.split('\n')[0]})`);
    }
    markExternal(model, dirname(onnxPath), store);
    return model;
  } finally {
    closeSync(fd);
  }
}

/** One initializer: its fields decoded, a large raw_data payload recorded as a span of the .onnx file. */
function readTensor(cur: FileCursor, start: number, end: number, onnxPath: string, store: WeightStore): TensorProto {
  const parts: Buffer[] = [];
  let raw: { offset: number; length: number } | null = null;
  cur.pos = start;
  while (cur.pos < end) {
    const at = cur.pos;
    const f = cur.field();
    if (f.field === TENSOR_RAW_DATA && f.wire === WIRE_LEN && f.end - f.start >= LAZY_MIN_BYTES) raw = { offset: f.start, length: f.end - f.start };
    else parts.push(cur.read(at, cur.pos));
  }
  if (cur.pos !== end) throw new ModelError(`${onnxPath}: malformed ONNX file (initializer overruns)`);
  const t = onnx.TensorProto.decode(Buffer.concat(parts));
  if (raw) store.set(t.name ?? '', { path: onnxPath, ...raw });
  return t;
}

/**
 * External data of the top graph becomes spans (checked against the data file's size now); subgraphs' external
 * data is read into memory, as they are small in the exports that have them (merged decoders' If branches).
 */
function markExternal(model: ModelProto, baseDir: string, store: WeightStore): void {
  const sizes = new Map<string, number>();
  for (const t of model.graph?.initializer ?? []) {
    if (!isExternal(t)) continue;
    const span = externalSpan(t, baseDir);
    let size = sizes.get(span.path);
    if (size === undefined) {
      if (!existsSync(span.path)) throw new ModelError(`initializer ${t.name}: cannot open external data file ${span.path}`, 'Keep the .onnx_data / .onnx.data file next to the .onnx file.');
      size = statSync(span.path).size;
      sizes.set(span.path, size);
    }
    if (span.offset + span.length > size) throw new ModelError(`initializer ${t.name}: external data ${span.path} is truncated (wanted ${span.length} bytes at ${span.offset}, file has ${size})`);
    store.set(t.name ?? '', span);
    // Writers of external data often leave an empty raw_data behind; the span replaces it.
    delete t.rawData;
    t.dataLocation = 0;
    t.externalData = [];
  }
  // Subgraph weights (If/Loop bodies) stay in memory: only the top graph's are streamed.
  const top = new Set(model.graph?.initializer ?? []);
  inlineExternalData(allInitializers(model).filter((t) => !top.has(t)), baseDir);
}
