// The WebAssembly kernels of the weight fit: exact IEEE results in a documented order, so their output can
// be checked to the bit against plain JS here, and is the same on every CPU.
import { describe, expect, it } from 'vitest';
import { fitKernels } from '../../src/modelgen/fitKernels.js';

function fill(a: Float32Array | Float64Array, seed: number): void {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = Math.fround((s / 4294967296 - 0.5) * 3);
  }
}

describe('fit kernels', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 33, 1001]) {
    it(`n = ${n}: axpy (single and fused) equals the scalar loop bit for bit; dot follows its lane order`, () => {
      const k = fitKernels(1 << 20);
      const buf = k.memory.buffer;
      const Y = 0;
      const X = 65536; // 4 f32 rows, 16 KiB apart
      const X64 = 262144; // 4 f64 rows, 16 KiB apart
      const y = new Float64Array(buf, Y, n);
      const xs = [0, 1, 2, 3].map((t) => new Float32Array(buf, X + t * 16384, n));
      const x64s = [0, 1, 2, 3].map((t) => new Float64Array(buf, X64 + t * 16384, n));
      fill(y, 1);
      xs.forEach((x, t) => fill(x, 10 + t));
      x64s.forEach((x, t) => fill(x, 20 + t));
      const as = [0.3, -1.7, 2.5e-3, 11];
      const ref = Float64Array.from(y);
      for (let j = 0; j < n; j++) ref[j] = (ref[j] as number) + (as[0] as number) * (xs[0]?.[j] as number);
      k.axpy32(Y, X, as[0] as number, n);
      expect(Array.from(y)).toEqual(Array.from(ref));
      for (let j = 0; j < n; j++) for (let t = 0; t < 4; t++) ref[j] = (ref[j] as number) + (as[t] as number) * (xs[t]?.[j] as number);
      k.axpy32x4(Y, X, X + 16384, X + 32768, X + 49152, as[0] as number, as[1] as number, as[2] as number, as[3] as number, n);
      expect(Array.from(y)).toEqual(Array.from(ref));
      for (let j = 0; j < n; j++) for (let t = 0; t < 4; t++) ref[j] = (ref[j] as number) + (as[t] as number) * (x64s[t]?.[j] as number);
      k.axpy64x4(Y, X64, X64 + 16384, X64 + 32768, X64 + 49152, as[0] as number, as[1] as number, as[2] as number, as[3] as number, n);
      expect(Array.from(y)).toEqual(Array.from(ref));
      for (let j = 0; j < n; j++) ref[j] = (ref[j] as number) + -0.5 * (x64s[1]?.[j] as number);
      k.axpy64(Y, X64 + 16384, -0.5, n);
      expect(Array.from(y)).toEqual(Array.from(ref));

      // dot: lanes (4q, 4q+1) and (4q+2, 4q+3), then a last pair in lane 0, lanes combined, then an odd tail.
      const x = xs[2] as Float32Array;
      const p = (j: number): number => (y[j] as number) * (x[j] as number);
      const acc = [0, 0, 0, 0];
      let j = 0;
      for (; j + 4 <= n; j += 4) for (let l = 0; l < 4; l++) acc[l] = (acc[l] as number) + p(j + l);
      if (j + 2 <= n) {
        acc[0] = (acc[0] as number) + p(j);
        acc[1] = (acc[1] as number) + p(j + 1);
        j += 2;
      }
      let s = ((acc[0] as number) + (acc[2] as number)) + ((acc[1] as number) + (acc[3] as number));
      if (j < n) s += p(j);
      expect(k.dot32(Y, X + 2 * 16384, n)).toBe(s);
    });
  }
});
