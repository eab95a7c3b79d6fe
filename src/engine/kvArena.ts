// The KV cache as preallocated arrays, one per layer and kind, laid out [row, head, slot, dim] with a
// row-independent slot stride. ORT reads them in place (inputs are not copied by the binding): the first R
// rows, seen as a tensor [R, heads, stride, dim], are the `past` of a batch; slots a row has not filled are
// masked by attention_mask. The stride grows (and shrinks) with the longest row. The arrays hold exactly
// `stride` slots for as many rows as have been used: growing (or shrinking below half) resizes them in place, so
// the memory a cache takes follows what the running sequences need, not the model's full context and batch.
// New room is zero-filled on purpose: allocated KV is then resident KV, and the server's memory breakdown can
// count it exactly.

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
  private resize(rows: number, slots: number): void {
    const n = rows * this.shape.heads * slots * this.shape.headDim;
    for (const [list, offset] of [[this.keys, 0], [this.values, this.shape.layers]] as const) {
      list.forEach((a, i) => {
        // Read before resizing: shrinking the buffer leaves the old fixed-length view out of bounds (length 0).
        const had = a.length;
        (this.buffers[offset + i] as ResizableBuffer).resize(n * this.elemBytes);
        const v = this.viewOf(offset + i, n);
        if (n > had) v.fill(0, had);
        list[i] = v;
      });
    }
    this.rowCap = rows;
    this.capacity = slots;
  }

  /** Makes room for rows [0, n) (existing rows keep their place: the layout is row-major). */
  private reserveRows(n: number): void {
    if (n <= this.rowCap) return;
    if (n > this.shape.rows) throw new RangeError(`row ${n - 1} exceeds ${this.shape.rows} rows`);
    this.resize(n, this.capacity);
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

  /** Changes the slot stride, moving every filled slot of every row (in place, no scratch memory). */
  setStride(newStride: number): void {
    const old = this.stride;
    if (newStride === old) return;
    if (newStride > this.shape.maxSlots) throw new RangeError(`stride ${newStride} exceeds ${this.shape.maxSlots} slots`);
    for (const len of this.lengths) if (len > newStride) throw new RangeError(`stride ${newStride} is shorter than a row (${len})`);
    const { heads, headDim } = this.shape;
    const blocks = this.rowCap * heads;
    // Growing past the arrays' room: resize first, then move blocks outwards in place.
    if (newStride > this.capacity) this.resize(this.rowCap, newStride);
    for (const a of [...this.keys, ...this.values]) {
      if (old === 0) break;
      // Each (row, head) block moves from b*old to b*new. Growing, destinations lie after sources, so go
      // last to first; shrinking, first to last. copyWithin handles overlap within a block.
      if (newStride > old) {
        for (let b = blocks - 1; b >= 0; b--) copyBlock(a, b, old, newStride, this.lengths[Math.floor(b / heads)] as number, headDim);
      } else {
        for (let b = 0; b < blocks; b++) copyBlock(a, b, old, newStride, this.lengths[Math.floor(b / heads)] as number, headDim);
      }
    }
    this.stride = newStride;
    // Shrunk below half the room: hand the tail back.
    if (2 * newStride < this.capacity) this.resize(this.rowCap, newStride);
  }

  /** Moves row `from` (its filled slots) to row `to`; `from` becomes empty. */
  moveRow(from: number, to: number): void {
    if (from === to) return;
    const { heads, headDim } = this.shape;
    const len = this.lengths[from] as number;
    if (len > 0) this.reserveRows(Math.max(from, to) + 1);
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

function copyBlock(a: KvArray, b: number, oldStride: number, newStride: number, filled: number, headDim: number): void {
  if (filled === 0) return;
  const src = b * oldStride * headDim;
  const dst = b * newStride * headDim;
  a.copyWithin(dst, src, src + filled * headDim);
}
