import { describe, expect, it } from 'vitest';
import { EmbeddingFrame, rotateFactors } from '../../src/modelgen/fitEmbedding.js';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] ?? 0) * (b[k] ?? 0);
  return s;
}

describe('EmbeddingFrame', () => {
  const D = 48;
  const frame = new EmbeddingFrame(D, 11);
  const rank = 10;
  const a = Float64Array.from({ length: rank }, (_, k) => Math.sin(k + 1) * 0.2);
  const b = Float64Array.from({ length: rank }, (_, k) => Math.cos(3 * k) * 0.7);

  it('has D/8 slack dimensions and a bias direction that sums to zero, off the slack', () => {
    expect(frame.fittedDims).toBe(42);
    expect(frame.maxRank).toBe(40);
    expect(frame.biasDims).toBe(32);
    expect(frame.biasDirection.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 12);
    expect(frame.biasDirection.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 12);
    expect(Array.from(frame.biasDirection.subarray(42))).toEqual(new Array<number>(6).fill(0));
  });

  it('rows sum to zero with a common norm; fitted dot products and the bias survive the map', () => {
    let sq = 0;
    for (const v of a) sq += v * v;
    const row = new Float32Array(D);
    frame.place(a, rank, Math.sqrt(1 - sq), 0, row, 0, Math.sqrt(D));
    expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 4);
    expect(dot(row, row)).toBeCloseTo(D, 3);
    // LN_f output of this row (gamma 0 on the slack) plus beta = 3·biasDirection, against a head column.
    const ln = row.map((v, k) => (k < frame.fittedDims ? v : 0) + 3 * (frame.biasDirection[k] ?? 0));
    const col = new Float32Array(D);
    frame.place(b, rank, 0, -2.5 / 3, col, 0, 1);
    let expected = 0;
    for (let k = 0; k < rank; k++) expected += (a[k] ?? 0) * (b[k] ?? 0) * Math.sqrt(D);
    expect(dot(ln, col)).toBeCloseTo(expected - 2.5, 4);
  });

  it('random rotation of both factors keeps every product', () => {
    const size = 5;
    const left = Float32Array.from({ length: size * 4 }, (_, k) => Math.sin(k));
    const right = Float32Array.from({ length: size * 4 }, (_, k) => Math.cos(k * 0.7));
    const before = [...Array(size * size).keys()].map((p) => dot(left.subarray((p % size) * 4, (p % size) * 4 + 4), right.subarray(Math.floor(p / size) * 4, Math.floor(p / size) * 4 + 4)));
    rotateFactors(left, right, size, 4, 5);
    const after = [...Array(size * size).keys()].map((p) => dot(left.subarray((p % size) * 4, (p % size) * 4 + 4), right.subarray(Math.floor(p / size) * 4, Math.floor(p / size) * 4 + 4)));
    after.forEach((v, p) => expect(v).toBeCloseTo(before[p] ?? NaN, 5));
    expect(Array.from(left.subarray(0, 4))).not.toEqual([0, 1, 2, 3].map(Math.sin));
  });
});
