// The arena's re-layouts (stride growth and shrink in place, row moves) keep every filled slot's values.
import { describe, expect, it } from 'vitest';
import { KvArena } from '../../src/engine/kvArena.js';

const shape = { layers: 2, rows: 3, heads: 2, headDim: 3, maxSlots: 40, dtype: 'float32' as const };

/** Value stored for (layer, kind, row, head, slot, dim): unique and easy to recompute. */
const val = (l: number, k: number, r: number, h: number, s: number, d: number): number => ((((l * 2 + k) * 10 + r) * 10 + h) * 100 + s) * 10 + d;

function fill(a: KvArena, lengths: number[]): void {
  a.setStride(Math.max(...lengths));
  lengths.forEach((len, r) => {
    for (let l = 0; l < shape.layers; l++) {
      for (const [k, kind] of [[0, 'key'], [1, 'value']] as const) {
        const src = new Float32Array(shape.heads * len * shape.headDim);
        for (let h = 0; h < shape.heads; h++) for (let s = 0; s < len; s++) for (let d = 0; d < shape.headDim; d++) src[(h * len + s) * shape.headDim + d] = val(l, k, r, h, s, d);
        a.write(l, kind, src, r, 1, len);
      }
    }
    a.advance(r, 1, len);
  });
}

/** Checks that original row r (of length len) now sits at `row`, for each [r, row, len]. */
function check(a: KvArena, placements: Array<[number, number, number]>): void {
  placements.forEach(([r, row, len]) => {
    expect(a.lengths[row]).toBe(len);
    for (let l = 0; l < shape.layers; l++) {
      for (const [k, kind] of [[0, 'key'], [1, 'value']] as const) {
        const v = a.view(l, kind, row, 1);
        for (let h = 0; h < shape.heads; h++) for (let s = 0; s < len; s++) for (let d = 0; d < shape.headDim; d++) expect(v[(h * a.stride + s) * shape.headDim + d]).toBe(val(l, k, r, h, s, d));
      }
    }
  });
}

describe('KvArena', () => {
  it('grows and shrinks the stride in place', () => {
    const a = new KvArena(shape);
    const lengths = [5, 9, 2];
    fill(a, lengths);
    expect(a.stride).toBe(9);
    a.setStride(33);
    check(a, lengths.map((len, r) => [r, r, len]));
    a.setStride(12);
    check(a, lengths.map((len, r) => [r, r, len]));
    expect(() => a.setStride(8)).toThrow(/shorter than a row/);
    expect(() => a.setStride(41)).toThrow(/exceeds/);
  });

  it('allocates for the current stride, not the full context, and frees when the stride halves', () => {
    const a = new KvArena(shape);
    expect(a.allocatedBytes).toBe(0);
    const perSlot = 2 * shape.layers * shape.rows * shape.heads * shape.headDim * 4;
    fill(a, [4]);
    // One row used: room for one row only.
    expect(a.allocatedBytes).toBe(4 * (perSlot / shape.rows));
    a.clearRow(0);
    const lengths = [5, 9, 2];
    fill(a, lengths);
    expect(a.allocatedBytes).toBe(9 * perSlot);
    expect(a.usedBytes).toBe(2 * shape.layers * shape.heads * shape.headDim * 4 * (5 + 9 + 2));
    a.setStride(33);
    expect(a.allocatedBytes).toBe(33 * perSlot);
    expect(a.keys[0]?.length).toBe(shape.rows * shape.heads * 33 * shape.headDim);
    a.setStride(20);
    expect(a.allocatedBytes).toBe(33 * perSlot);
    a.setStride(12);
    expect(a.allocatedBytes).toBe(12 * perSlot);
    check(a, lengths.map((len, r) => [r, r, len]));
  });

  it('writes new tokens after the filled slots of each row', () => {
    const a = new KvArena(shape);
    fill(a, [2, 3, 1]);
    a.setStride(10);
    const src = new Float32Array(3 * shape.heads * shape.headDim).map((_, i) => -1 - i);
    a.write(0, 'key', src, 0, 3, 1);
    a.advance(0, 3, 1);
    expect(Array.from(a.lengths)).toEqual([3, 4, 2]);
    const v = a.view(0, 'key', 0, 3);
    // row 1, head 1, slot 3 <- src row 1, head 1
    expect(v[((1 * shape.heads + 1) * 10 + 3) * shape.headDim]).toBe(src[(1 * shape.heads + 1) * shape.headDim]);
  });

  it('moves a row and clears the source', () => {
    const a = new KvArena(shape);
    const lengths = [4, 6, 3];
    fill(a, lengths);
    a.moveRow(2, 0);
    check(a, [
      [2, 0, 3],
      [1, 1, 6],
    ]);
    expect(a.lengths[2]).toBe(0);
  });
});
