// Initializer bytes left on disk: a tensor read from a model file (or written by the quantizer) is a span of a
// file, and its bytes are read when a rewrite needs them or copied straight into the output file. The graph
// itself stays in memory; a 7B export's weights never do. See lazyModel.ts (reading) and streamWrite.ts (writing).
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { ModelError } from '../errors.js';
import type { GraphProto, TensorProto } from './builder.js';
import { floatValues } from './tensorData.js';

/** Where one tensor's bytes are: `length` bytes at `offset` of `path`. */
export interface WeightSpan {
  path: string;
  offset: number;
  length: number;
}

/** Copies go through a buffer this large, so a copy of a 2 GB tensor holds 4 MiB at a time. */
const COPY_CHUNK_BYTES = 4 << 20;
/** New tensors at least this large go to the spill file; smaller ones (scales, zero points of small layers) stay on the tensor. */
export const SPILL_MIN_BYTES = 4096;

/**
 * The on-disk bytes of a graph's initializers, by name. A tensor with its own `rawData` is in memory and is
 * used as it is; otherwise its span is read. Names are those of one graph (the top graph of a model), where
 * ONNX makes them unique.
 */
export class WeightStore {
  private readonly spans = new Map<string, WeightSpan>();
  private readonly fds = new Map<string, number>();
  private spillFd: number | null = null;
  private spillBytes = 0;

  /** The graph whose initializers this store holds (set by readModelLazy); `put` moves only its new tensors to disk. */
  graph: GraphProto | null = null;

  /** `spillPath`: where `put` writes large new tensors (null: they stay in memory). */
  constructor(private readonly spillPath: string | null = null) {}

  /** Records that tensor `name`'s bytes are `span`. */
  set(name: string, span: WeightSpan): void {
    this.spans.set(name, span);
  }

  /** The span of a tensor whose bytes are on disk; null for one held in memory. */
  span(t: TensorProto): WeightSpan | null {
    if (Object.hasOwn(t, 'rawData')) return null;
    return this.spans.get(t.name ?? '') ?? null;
  }

  /** Bytes of the tensor's raw data (in memory, or the length of its span). */
  length(t: TensorProto): number {
    return this.span(t)?.length ?? t.rawData?.byteLength ?? 0;
  }

  /** The tensor's raw bytes: its own, or read from its span into fresh (aligned) memory. */
  bytes(t: TensorProto): Uint8Array {
    const span = this.span(t);
    if (!span) return t.rawData ?? new Uint8Array(0);
    const out = new Uint8Array(span.length);
    this.readInto(span, out, 0, span.length, span.offset);
    return out;
  }

  /** Float32 values of a FLOAT initializer, read from disk when they are there. */
  floats(t: TensorProto): Float32Array {
    if (!this.span(t)) return floatValues(t);
    return floatValues({ name: t.name, dataType: t.dataType, dims: t.dims, rawData: this.bytes(t) });
  }

  /**
   * Gives a new tensor its bytes: in memory on the tensor, or (large, in this store's graph) appended to the
   * spill file at once so the caller can drop them.
   */
  put(t: TensorProto, data: Uint8Array, owner: GraphProto): void {
    if (this.spillPath === null || owner !== this.graph || data.byteLength < SPILL_MIN_BYTES) {
      t.rawData = data;
      return;
    }
    if (this.spillFd === null) this.spillFd = openSync(this.spillPath, 'w+');
    writeAll(this.spillFd, data, this.spillBytes);
    this.spans.set(t.name ?? '', { path: this.spillPath, offset: this.spillBytes, length: data.byteLength });
    this.spillBytes += data.byteLength;
  }

  /** Reads the bytes of those of `tensors` still on disk onto the tensors (for ones a writer keeps inline). */
  inline(tensors: readonly TensorProto[]): void {
    for (const t of tensors) if (this.span(t)) t.rawData = this.bytes(t);
  }

  /** The files the spans point into. */
  files(): string[] {
    return [...new Set([...this.spans.values()].map((s) => s.path))];
  }

  /** Writes the tensor's bytes into `fd` at `position`, a chunk at a time; returns the bytes written. */
  copyTo(t: TensorProto, fd: number, position: number): number {
    const span = this.span(t);
    if (!span) {
      const raw = t.rawData ?? new Uint8Array(0);
      writeAll(fd, raw, position);
      return raw.byteLength;
    }
    const chunk = new Uint8Array(Math.min(COPY_CHUNK_BYTES, span.length));
    for (let done = 0; done < span.length; ) {
      const n = Math.min(chunk.length, span.length - done);
      this.readInto(span, chunk, 0, n, span.offset + done);
      writeAll(fd, chunk.subarray(0, n), position + done);
      done += n;
    }
    return span.length;
  }

  /** Closes every file this store opened (the spill file stays on disk; its caller removes its folder). */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    if (this.spillFd !== null) closeSync(this.spillFd);
    this.spillFd = null;
  }

  private readInto(span: WeightSpan, buf: Uint8Array, at: number, length: number, position: number): void {
    const fd = span.path === this.spillPath && this.spillFd !== null ? this.spillFd : this.open(span.path);
    let done = 0;
    while (done < length) {
      const got = readSync(fd, buf, at + done, length - done, position + done);
      if (got === 0) throw new ModelError(`${span.path}: file is truncated (wanted ${span.length} bytes at ${span.offset})`);
      done += got;
    }
  }

  private open(path: string): number {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      fd = openSync(path, 'r');
      this.fds.set(path, fd);
    }
    return fd;
  }
}

/** writeSync until every byte is written (a single call may write fewer). */
export function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.byteLength; ) done += writeSync(fd, data, done, data.byteLength - done, position + done);
}

/** Size of an open file. */
export function fileSize(fd: number): number {
  return fstatSync(fd).size;
}
