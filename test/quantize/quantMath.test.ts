// Quantize -> dequantize round trips stay within the analytic error bound of each method, and the packed
// MatMulNBits layout holds the codes where the contrib op reads them.
import { describe, expect, it } from 'vitest';
import {
  blockwiseCode,
  dequantizeBlockwise,
  dequantizeInt8PerColumn,
  fromFloat16Bits,
  quantizeBlockwise,
  quantizeInt8PerColumn,
  roundHalfEven,
  toFloat16Bits,
} from '../../src/quantize/quantMath.js';

/** Seeded weights with a different spread per column and a few outliers, like trained Linear layers. */
function weights(K: number, N: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const w = new Float32Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const spread = 0.01 + (n % 7) * 0.05;
      const outlier = rand() < 0.01 ? 8 : 1;
      w[k * N + n] = (rand() * 2 - 1) * spread * outlier;
    }
  }
  return w;
}

// float32 rounding of scale, product and the stored value: a few ulps of the largest magnitude.
const slop = (scale: number): number => scale * 1e-5 + 1e-12;

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour like numpy and onnxruntime', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6, 3.7].map((x) => roundHalfEven(x) + 0)).toEqual([-2, -2, 0, 0, 2, 2, 2, -3, 4]);
  });
});

describe('int8 symmetric per-column', () => {
  it('round trip error is at most scale/2 per element, scale = absmax/127 per output column', () => {
    const K = 96;
    const N = 40;
    const w = weights(K, N, 7);
    const q = quantizeInt8PerColumn(w, K, N);
    const back = dequantizeInt8PerColumn(q, K, N);
    for (let n = 0; n < N; n++) {
      let absMax = 0;
      for (let k = 0; k < K; k++) absMax = Math.max(absMax, Math.abs(w[k * N + n] as number));
      const scale = q.scales[n] as number;
      expect(scale).toBeCloseTo(absMax / 127, 9);
      for (let k = 0; k < K; k++) {
        const err = Math.abs((back[k * N + n] as number) - (w[k * N + n] as number));
        expect(err).toBeLessThanOrEqual(scale / 2 + slop(scale));
        expect(Math.abs(q.q[k * N + n] as number)).toBeLessThanOrEqual(127);
      }
    }
  });

  it('maps the column maximum to +-127 exactly and an all-zero column to zeros with scale 1', () => {
    const w = Float32Array.from([1, 0, -0.5, 0, 0.25, 0]); // K=3, N=2 (column 1 all zero)
    const q = quantizeInt8PerColumn(w, 3, 2);
    expect(Array.from(q.scales)).toEqual([Math.fround(1 / 127), 1]);
    expect(Array.from(q.q)).toEqual([127, 0, -64, 0, 32, 0]); // -0.5 / fround(1/127) = -63.5000002 -> -64; 31.75 -> 32
  });
});

describe('blockwise (MatMulNBits layout)', () => {
  for (const bits of [4, 8] as const) {
    for (const symmetric of [false, true]) {
      it(`${bits}-bit ${symmetric ? 'symmetric' : 'asymmetric'}: error <= scale/2 per block, K not a multiple of the block`, () => {
        const K = 72; // 2 full blocks of 32 and a padded one of 8
        const N = 9;
        const w = weights(K, N, bits * 10 + (symmetric ? 1 : 0));
        const q = quantizeBlockwise(w, K, N, { bits, blockSize: 32, symmetric });
        expect(q.blocksPerCol).toBe(3);
        expect(q.packed.length).toBe(N * 3 * ((32 * bits) / 8));
        expect(q.scales.length).toBe(N * 3);
        expect(q.zeroPoints === null).toBe(symmetric);
        if (q.zeroPoints) expect(q.zeroPoints.length).toBe(N * Math.ceil((3 * bits) / 8));
        const back = dequantizeBlockwise(q);
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) {
            const { scale, code, zeroPoint } = blockwiseCode(q, k, n);
            expect(code).toBeLessThan(1 << bits);
            if (symmetric) expect(zeroPoint).toBe(1 << (bits - 1));
            const err = Math.abs((back[k * N + n] as number) - (w[k * N + n] as number));
            expect(err).toBeLessThanOrEqual(scale / 2 + slop(scale));
          }
          // Padding codes past K dequantize to exactly zero.
          const pad = blockwiseCode(q, 71, n);
          const beyond = q.bits === 8 ? q.packed[(n * 3 + 2) * q.blobBytes + 8] : ((q.packed[(n * 3 + 2) * q.blobBytes + 4] as number) & 0xf);
          expect(beyond).toBe(pad.zeroPoint);
        }
      });
    }
  }

  it('packs 4-bit codes low nibble first along K and zero points two per byte per column', () => {
    // One column (N=1), K=32 -> two blocks of 16: values 0..15, then all -2.
    const K = 32;
    const w = new Float32Array(K);
    for (let k = 0; k < 16; k++) w[k] = k;
    for (let k = 16; k < 32; k++) w[k] = -2;
    const q = quantizeBlockwise(w, K, 1, { bits: 4, blockSize: 16, symmetric: false });
    // Block 0: range [0, 15] -> scale 1, zero point 0, codes 0..15.
    expect(q.scales[0]).toBe(1);
    expect(Array.from(q.packed.slice(0, 8))).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
    // Block 1: range [-2, 0] -> scale 2/15, zero point 15, every code 0.
    expect(q.scales[1]).toBe(Math.fround(2 / 15));
    expect(Array.from(q.packed.slice(8, 16))).toEqual(new Array(8).fill(0));
    expect(Array.from(q.zeroPoints ?? [])).toEqual([0xf0]);
  });

  it('keeps exact zeros exact (the asymmetric range always includes 0)', () => {
    const w = weights(64, 3, 3);
    for (let i = 0; i < w.length; i += 5) w[i] = 0;
    const back = dequantizeBlockwise(quantizeBlockwise(w, 64, 3, { bits: 4, blockSize: 32, symmetric: false }));
    for (let i = 0; i < w.length; i += 5) expect(back[i]).toBe(0);
  });

  it('rejects block sizes MatMulNBits cannot use', () => {
    expect(() => quantizeBlockwise(new Float32Array(64), 64, 1, { bits: 4, blockSize: 24, symmetric: false })).toThrow(/power of two >= 16/);
    expect(() => quantizeBlockwise(new Float32Array(64), 64, 1, { bits: 4, blockSize: 8, symmetric: false })).toThrow(/power of two >= 16/);
  });
});

describe('float16 bits', () => {
  it('round trips within half an fp16 ulp and handles the edges', () => {
    const w = weights(64, 8, 11);
    for (const x of w) {
      const back = fromFloat16Bits(toFloat16Bits(x));
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x) || 2 ** -24)) - 10);
      expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(ulp, 2 ** -24) / 2 + 1e-12);
    }
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(1);
    expect(fromFloat16Bits(toFloat16Bits(Number.NaN))).toBeNaN();
  });
});
