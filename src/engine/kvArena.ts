// The KV cache as preallocated arrays, one per layer and kind, laid out [row, head, slot, dim] with a
// row-independent slot stride. ORT reads them in place (inputs are not copied by the binding): the first R
// rows, seen as a tensor [R, heads, stride, dim], are the `past` of a batch; slots a row has not filled are
// masked by attention_mask. The stride grows (and shrinks) with the longest row. The arrays hold exactly
// `stride` slots for as many rows as have been used: growing (or shrinking below half) resizes them in place, so
// the memory a cache takes follows what the running sequences need, not the model's full context and batch.
// New room is zero-filled on purpose: allocated KV is then resident KV, and the server's memory breakdown can
// count it exactly.
// Every re-layout (stride change, new rows) is a sequence of small steps (one (row, head) block moved, or at most
// FILL_CHUNK_ELEMS zeroed); `prepare` runs them in slices of a few milliseconds and yields to the event loop
// between slices, so a server's other streams and sockets are never stalled by one large copy.

import { threadPreemptions } from '../sys/procStatus.js';

/** Elements zeroed per step of a re-layout (64K elements, 256 KiB: well under a millisecond even where fresh pages fault in). */
const FILL_CHUNK_ELEMS = 1 << 16;

/** Bytes a buffer grows or shrinks by per step of a re-layout (2 MiB: about a millisecond to commit or release). */
const RESIZE_STEP_BYTES = 1 << 21;

/** Timing of re-layouts run by `prepare`, since the arena was made. */
export interface RelayoutStats {
  /** Re-layouts (stride changes and row reservations that had work to do). */
  relayouts: number;
  /** Slices they were split into. */
  slices: number;
  /** Longest synchronous slice, ms (wall time: includes any time the thread was switched out mid-slice). */
  maxSliceMs: number;
  /**
   * Longest slice during which the thread was not switched out by the scheduler, ms: what the re-layout's own
   * work held the event loop for. Null where preemptions cannot be counted (off Linux).
   */
  maxUnpreemptedSliceMs: number | null;
  /** Slices during which the thread lost its CPU to another runnable thread (0 where they cannot be counted). */
  preemptedSlices: number;
  /** Wall time from the start to the end of re-layouts, summed (includes the turns given to the event loop). */
  totalMs: number;
}

/** Storage for float32 (Float32Array) or float16 (raw Uint16Array bits) caches. */
export type KvArray = Float32Array | Uint16Array;

export interface KvArenaShape {
  layers: number;
  rows: number;
  heads: number;
  headDim: number;
  /** Most slots a row can hold (the context limit). */
  maxSlots: number;
  dtype: 'float32' | 'float16';
}

/** ES2024 resizable ArrayBuffer (Node 20 has it; this project's TypeScript lib predates it). */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

/** Preallocated per-layer key and value arrays with a variable slot stride. */
export class KvArena {
  readonly keys: KvArray[] = [];
  readonly values: KvArray[] = [];
  /** Slots per (row, head) in the current layout. */
  stride: number;
  /** Filled slots per row (slot i holds the token at position i). */
  readonly lengths: Int32Array;

  /** Slots per (row, head) the arrays have room for. */
  private capacity = 0;
  /** Rows the arrays have room for (the most rows used so far). */
  private rowCap = 0;

  /** One resizable buffer per array (keys, then values): growth commits pages in place, so no old copy is left for the GC. */
  private readonly buffers: ResizableBuffer[] = [];

  readonly relayoutStats: RelayoutStats = { relayouts: 0, slices: 0, maxSliceMs: 0, maxUnpreemptedSliceMs: threadPreemptions() === null ? null : 0, preemptedSlices: 0, totalMs: 0 };

  constructor(readonly shape: KvArenaShape) {
    const maxBytes = shape.rows * shape.heads * shape.maxSlots * shape.headDim * (shape.dtype === 'float16' ? 2 : 4);
    for (let i = 0; i < 2 * shape.layers; i++) this.buffers.push(new ResizableArrayBuffer(0, { maxByteLength: maxBytes }));
    for (let i = 0; i < shape.layers; i++) {
      this.keys.push(this.viewOf(i, 0));
      this.values.push(this.viewOf(shape.layers + i, 0));
    }
    this.stride = 0;
    this.lengths = new Int32Array(shape.rows);
  }

  /** Bytes per cached element. */
  get elemBytes(): number {
    return this.shape.dtype === 'float16' ? 2 : 4;
  }

  /** Bytes the key and value arrays take now. */
  get allocatedBytes(): number {
    return 2 * this.shape.layers * this.rowCap * this.shape.heads * this.capacity * this.shape.headDim * this.elemBytes;
  }

  /** Bytes of filled slots (tokens actually cached). */
  get usedBytes(): number {
    let slots = 0;
    for (const len of this.lengths) slots += len;
    return 2 * this.shape.layers * this.shape.heads * slots * this.shape.headDim * this.elemBytes;
  }

  private viewOf(buffer: number, elems: number): KvArray {
    const b = this.buffers[buffer] as ResizableBuffer;
    return this.shape.dtype === 'float16' ? new Uint16Array(b, 0, elems) : new Float32Array(b, 0, elems);
  }

  /**
   * Resizes every array to `rows` x `slots` (contents up to the smaller size kept in place). New elements are
   * written with zeros on purpose: allocated KV is then resident KV, and the memory breakdown counts it exactly.
   */
  private *resize(rows: number, slots: number): Generator<void> {
    const n = rows * this.shape.heads * slots * this.shape.headDim;
    const targetBytes = n * this.elemBytes;
    for (const [list, offset] of [[this.keys, 0], [this.values, this.shape.layers]] as const) {
      for (let i = 0; i < list.length; i++) {
        const buffer = this.buffers[offset + i] as ResizableBuffer;
        // Read before resizing: shrinking the buffer leaves the old fixed-length view out of bounds (length 0).
        const had = (list[i] as KvArray).length;
        // The buffer changes size a step at a time: V8 commits pages when growing and clears the released
        // tail when shrinking, and one large resize held the event loop for tens of ms (a 64 MiB shrink: 40 ms).
        while (buffer.byteLength !== targetBytes) {
          const step = Math.min(RESIZE_STEP_BYTES, Math.abs(targetBytes - buffer.byteLength));
          buffer.resize(buffer.byteLength + (targetBytes > buffer.byteLength ? step : -step));
          yield;
        }
        const v = this.viewOf(offset + i, n);
        list[i] = v;
        for (let at = had; at < n; at += FILL_CHUNK_ELEMS) {
          v.fill(0, at, Math.min(n, at + FILL_CHUNK_ELEMS));
          yield;
        }
      }
    }
    this.rowCap = rows;
    this.capacity = slots;
  }

  /** Makes room for rows [0, n) (existing rows keep their place: the layout is row-major). */
  private reserveRows(n: number): void {
    drain(this.reserveRowsSteps(n));
  }

  private *reserveRowsSteps(n: number): Generator<void> {
    if (n <= this.rowCap) return;
    if (n > this.shape.rows) throw new RangeError(`row ${n - 1} exceeds ${this.shape.rows} rows`);
    yield* this.resize(n, this.capacity);
  }

  /**
   * Makes room for rows [0, rows) and moves to `stride` (when given), in slices of about `sliceMs` with a turn
   * of the event loop between them. Nothing else may touch the arena until it resolves (the engine's step is
   * the only user, and it awaits this before building its feeds).
   */
  async prepare(rows: number, stride: number | null, sliceMs = 2): Promise<void> {
    const steps = this.prepareSteps(rows, stride);
    const stats = this.relayoutStats;
    const t0 = performance.now();
    let sliceStart = t0;
    let preemptionsAtStart = threadPreemptions();
    let slices = 0;
    let worked = false;
    const endSlice = (): void => {
      const ms = performance.now() - sliceStart;
      if (ms > stats.maxSliceMs) stats.maxSliceMs = ms;
      const preemptions = preemptionsAtStart === null ? null : threadPreemptions();
      if (preemptions !== null && preemptionsAtStart !== null) {
        if (preemptions > preemptionsAtStart) stats.preemptedSlices += 1;
        else if (ms > (stats.maxUnpreemptedSliceMs ?? 0)) stats.maxUnpreemptedSliceMs = ms;
      }
      slices += 1;
    };
    for (let r = steps.next(); !r.done; r = steps.next()) {
      worked = true;
      if (performance.now() - sliceStart >= sliceMs) {
        endSlice();
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
        preemptionsAtStart = threadPreemptions();
      }
    }
    if (!worked) return;
    endSlice();
    stats.relayouts += 1;
    stats.slices += slices;
    stats.totalMs += performance.now() - t0;
  }

  private *prepareSteps(rows: number, stride: number | null): Generator<void> {
    yield* this.reserveRowsSteps(rows);
    if (stride !== null) yield* this.strideSteps(stride);
  }

  /** Elements of one row in the current layout. */
  rowElems(): number {
    return this.shape.heads * this.stride * this.shape.headDim;
  }

  /** Rows [first, first+count) of a layer as one contiguous array in the current layout. */
  view(layer: number, kind: 'key' | 'value', first: number, count: number): KvArray {
    this.reserveRows(first + count);
    const a = (kind === 'key' ? this.keys : this.values)[layer] as KvArray;
    const re = this.rowElems();
    return a.subarray(first * re, (first + count) * re);
  }

  /**
   * Writes new keys/values for `count` consecutive rows starting at `firstRow`: `src` is [count, heads, s, dim]
   * and lands in slots lengths[row] .. lengths[row]+s-1. Lengths are not advanced here (see `advance`).
   */
  write(layer: number, kind: 'key' | 'value', src: KvArray, firstRow: number, count: number, s: number): void {
    this.reserveRows(firstRow + count);
    const a = (kind === 'key' ? this.keys : this.values)[layer] as KvArray;
    const { heads, headDim } = this.shape;
    const block = s * headDim;
    for (let r = 0; r < count; r++) {
      const row = firstRow + r;
      const slot = this.lengths[row] as number;
      for (let h = 0; h < heads; h++) {
        const srcOff = (r * heads + h) * block;
        const dstOff = ((row * heads + h) * this.stride + slot) * headDim;
        a.set(src.subarray(srcOff, srcOff + block), dstOff);
      }
    }
  }

  /** Marks `s` more slots filled in rows [firstRow, firstRow+count). */
  advance(firstRow: number, count: number, s: number): void {
    for (let r = firstRow; r < firstRow + count; r++) this.lengths[r] = (this.lengths[r] as number) + s;
  }

  /** Changes the slot stride, moving every filled slot of every row (in place, no scratch memory), in one go. */
  setStride(newStride: number): void {
    drain(this.strideSteps(newStride));
  }

  /** The stride change as small steps (one block moved per step). */
  private *strideSteps(newStride: number): Generator<void> {
    const old = this.stride;
    if (newStride === old) return;
    if (newStride > this.shape.maxSlots) throw new RangeError(`stride ${newStride} exceeds ${this.shape.maxSlots} slots`);
    for (const len of this.lengths) if (len > newStride) throw new RangeError(`stride ${newStride} is shorter than a row (${len})`);
    const { heads, headDim } = this.shape;
    const blocks = this.rowCap * heads;
    // Growing past the arrays' room: resize first, then move blocks outwards in place.
    if (newStride > this.capacity) yield* this.resize(this.rowCap, newStride);
    for (let i = 0; old !== 0 && i < 2 * this.shape.layers; i++) {
      // Looked up per array: resize replaced the views.
      const a = (i < this.shape.layers ? this.keys[i] : this.values[i - this.shape.layers]) as KvArray;
      // Each (row, head) block moves from b*old to b*new. Growing, destinations lie after sources, so go
      // last to first; shrinking, first to last. copyWithin handles overlap within a block.
      if (newStride > old) {
        for (let b = blocks - 1; b >= 0; b--) {
          copyBlock(a, b, old, newStride, this.lengths[Math.floor(b / heads)] as number, headDim);
          yield;
        }
      } else {
        for (let b = 0; b < blocks; b++) {
          copyBlock(a, b, old, newStride, this.lengths[Math.floor(b / heads)] as number, headDim);
          yield;
        }
      }
    }
    this.stride = newStride;
    // Shrunk below half the room: hand the tail back.
    if (2 * newStride < this.capacity) yield* this.resize(this.rowCap, newStride);
  }

  /** Moves row `from` (its filled slots) to row `to`; `from` becomes empty. */
  moveRow(from: number, to: number): void {
    if (from === to) return;
    const { heads, headDim } = this.shape;
    const len = this.lengths[from] as number;
    if (len > 0) this.reserveRows(Math.max(from, to) + 1);
    // Row moves stay synchronous: a move copies one row's filled slots (the rows were reserved when prefilled).
    for (const a of [...this.keys, ...this.values]) {
      for (let h = 0; h < heads; h++) {
        const src = ((from * heads + h) * this.stride) * headDim;
        const dst = ((to * heads + h) * this.stride) * headDim;
        a.copyWithin(dst, src, src + len * headDim);
      }
    }
    this.lengths[to] = len;
    this.lengths[from] = 0;
  }

  /** Forgets a row's contents (its slots keep stale, finite values that the mask hides). */
  clearRow(row: number): void {
    this.lengths[row] = 0;
  }
}

/** Runs every step of a re-layout at once. */
function drain(steps: Generator<void>): void {
  for (let r = steps.next(); !r.done; r = steps.next());
}

function copyBlock(a: KvArray, b: number, oldStride: number, newStride: number, filled: number, headDim: number): void {
  if (filled === 0) return;
  const src = b * oldStride * headDim;
  const dst = b * newStride * headDim;
  a.copyWithin(dst, src, src + filled * headDim);
}
