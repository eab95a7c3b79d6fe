// Reading and writing ONNX initializer data: dims, element sizes, float values, and the external-data
// form (`model.onnx_data` next to the graph) that Hugging Face exports use for large models.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { ModelError } from '../errors.js';
import { DT, type ModelProto, type TensorProto } from './builder.js';
import { fromFloat16Bits } from '../quantize/quantMath.js';

/** protobufjs decodes int64 fields as Long objects; everything here wants plain numbers. */
export type IntLike = number | { toNumber(): number };

/** A protobuf int64 as a JS number. */
export function toNum(x: IntLike | null | undefined): number {
  if (x === null || x === undefined) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

/** Tensor dims as numbers. */
export function dimsOf(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNum(d));
}

const ELEM_BYTES: Record<number, number> = {
  [DT.FLOAT]: 4,
  [DT.UINT8]: 1,
  [DT.INT8]: 1,
  [DT.UINT16]: 2,
  [DT.INT16]: 2,
  [DT.INT32]: 4,
  [DT.INT64]: 8,
  [DT.BOOL]: 1,
  [DT.FLOAT16]: 2,
  [DT.DOUBLE]: 8,
  [DT.UINT32]: 4,
  [DT.UINT64]: 8,
  [DT.COMPLEX64]: 8,
  [DT.COMPLEX128]: 16,
  [DT.BFLOAT16]: 2,
};

/** Name of an ONNX element type, for messages. */
export function dtypeName(dataType: number | null | undefined): string {
  const names = DT as unknown as Record<number, string>;
  return (names[dataType ?? 0] ?? `type ${String(dataType)}`).toLowerCase();
}

/** Bytes a tensor's values take (element count x element size); 0 for strings and unknown types. */
export function tensorBytes(t: TensorProto): number {
  const n = dimsOf(t).reduce((a, b) => a * b, 1);
  return n * (ELEM_BYTES[t.dataType ?? 0] ?? 0);
}

/** True when the tensor's values live in an external file. */
export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === 1;
}

/** Float32 values of a FLOAT initializer (raw_data or float_data), as an aligned copy-free view when possible. */
export function floatValues(t: TensorProto): Float32Array {
  if (t.dataType === DT.FLOAT16) return widenFloat16(t);
  if (t.dataType !== DT.FLOAT) throw new Error(`initializer ${t.name}: expected float32 or float16, got ${dtypeName(t.dataType)}`);
  const n = dimsOf(t).reduce((a, b) => a * b, 1);
  const raw = t.rawData;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== n * 4) throw new ModelError(`initializer ${t.name}: ${raw.byteLength} bytes for ${n} floats`);
    if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, n);
    // Buffer.slice is a view, not a copy: copy explicitly into fresh (aligned) memory.
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return new Float32Array(copy.buffer, 0, n);
  }
  const fd = t.floatData ?? [];
  if (fd.length !== n) throw new ModelError(`initializer ${t.name}: ${fd.length} float_data values for ${n} elements`);
  return Float32Array.from(fd);
}

/** A float16 initializer's values widened to float32 (raw bytes, or int32_data holding one half per entry). */
function widenFloat16(t: TensorProto): Float32Array {
  const n = dimsOf(t).reduce((a, b) => a * b, 1);
  const raw = t.rawData;
  const out = new Float32Array(n);
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== n * 2) throw new ModelError(`initializer ${t.name}: ${raw.byteLength} bytes for ${n} float16 values`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) out[i] = fromFloat16Bits(view.getUint16(2 * i, true));
    return out;
  }
  const bits = t.int32Data ?? [];
  if (bits.length !== n) throw new ModelError(`initializer ${t.name}: ${bits.length} int32_data values for ${n} float16 elements`);
  for (let i = 0; i < n; i++) out[i] = fromFloat16Bits(bits[i] as number);
  return out;
}

/**
 * Where an external initializer's bytes are: the file (inside `baseDir`, the .onnx file's folder, which
 * locations are relative to), offset and length. Throws ModelError for a location outside the folder.
 */
export function externalSpan(t: TensorProto, baseDir: string): { path: string; offset: number; length: number } {
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location || isAbsolute(location) || normalize(location).startsWith('..')) {
    throw new ModelError(`initializer ${t.name}: external data location "${String(location)}" is missing or outside the model folder`);
  }
  const offset = Number(kv.get('offset') ?? '0');
  const length = kv.has('length') ? Number(kv.get('length')) : tensorBytes(t);
  return { path: join(baseDir, location), offset, length };
}

/**
 * Loads every external initializer of a graph into raw_data (read range by range, never the whole data file
 * at once). `baseDir` is the folder of the .onnx file, which external locations are relative to.
 */
export function inlineExternalData(initializers: TensorProto[], baseDir: string): number {
  let loaded = 0;
  const handles = new Map<string, number>();
  try {
    for (const t of initializers) {
      if (!isExternal(t)) continue;
      const { path, offset, length } = externalSpan(t, baseDir);
      let fd = handles.get(path);
      if (fd === undefined) {
        try {
          fd = openSync(path, 'r');
        } catch (e) {
          throw new ModelError(`initializer ${t.name}: cannot open external data file ${path} (${(e as Error).message})`, 'Keep model.onnx_data next to model.onnx.');
        }
        handles.set(path, fd);
      }
      const buf = Buffer.allocUnsafe(length);
      const got = readSync(fd, buf, 0, length, offset);
      if (got !== length) throw new ModelError(`initializer ${t.name}: external data ${path} is truncated (wanted ${length} bytes at ${offset}, got ${got})`);
      t.rawData = buf;
      t.dataLocation = 0;
      t.externalData = [];
      loaded += length;
    }
  } finally {
    for (const fd of handles.values()) closeSync(fd);
  }
  return loaded;
}

/** Reads tensors' raw bytes from wherever they are (WeightStore: memory or a span of a file). */
export interface TensorBytesSource {
  length(t: TensorProto): number;
  /** Writes the tensor's bytes into `fd` at `position`; returns how many. */
  copyTo(t: TensorProto, fd: number, position: number): number;
}

/** Tensors' own raw_data. */
const OWN_BYTES: TensorBytesSource = {
  length: (t) => t.rawData?.byteLength ?? 0,
  copyTo: (t, fd, position) => {
    const raw = t.rawData ?? new Uint8Array(0);
    for (let done = 0; done < raw.byteLength; ) done += writeSync(fd, raw, done, raw.byteLength - done, position + done);
    return raw.byteLength;
  },
};

/**
 * Moves initializers of at least `minBytes` into one external data file (`location`, relative to the .onnx
 * file's folder), 64-byte aligned, so a graph over protobuf's 2 GB limit can still be written. `source` says
 * where each tensor's bytes are (default: its raw_data).
 */
export function externalizeData(initializers: TensorProto[], dataPath: string, location: string, minBytes = 1024, alignBytes = 64, source: TensorBytesSource = OWN_BYTES): number {
  const fd = openSync(dataPath, 'w');
  let offset = 0;
  try {
    for (const t of initializers) {
      const length = source.length(t);
      if (length === 0 || length < minBytes) continue;
      const pad = (alignBytes - (offset % alignBytes)) % alignBytes;
      if (pad) writeSync(fd, new Uint8Array(pad), 0, pad, offset);
      offset += pad;
      source.copyTo(t, fd, offset);
      t.externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ];
      t.dataLocation = 1;
      t.rawData = new Uint8Array(0);
      offset += length;
    }
  } finally {
    closeSync(fd);
  }
  return offset;
}

/** Initializers of every graph in the model (If/Loop/Scan bodies included), the top graph's first. */
export function allInitializers(model: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  const walk = (g: ModelProto['graph']): void => {
    if (!g) return;
    out.push(...(g.initializer ?? []));
    for (const n of g.node ?? []) for (const a of n.attribute ?? []) [a.g, ...(a.graphs ?? [])].forEach((sg) => sg && walk(sg));
  };
  walk(model.graph);
  return out;
}
